#include "extender/informer_adapter.hpp"

namespace spotfit::extender {

std::string podKey(const kube::Pod& pod) {
  return ClusterCache::podKey(pod.meta.uid, pod.meta.namespace_, pod.meta.name);
}

void applyNode(ClusterEvents& sink, const kube::Node& node) {
  sink.nodeUpserted(node.info);
}

void deleteNode(ClusterEvents& sink, const kube::Node& node) {
  sink.nodeDeleted(node.meta.name);
}

void applyPod(ClusterEvents& sink, const kube::Pod& pod) {
  sink.podUpserted(podKey(pod), pod.nodeName, pod.terminal(), pod.requests());
}

void deletePod(ClusterEvents& sink, const kube::Pod& pod) {
  sink.podDeleted(podKey(pod));
}

Status loadList(ClusterEvents& sink, std::string_view json) {
  auto doc = kube::json::parse(json, kube::json::kApiServerLimits);
  if (!doc.ok()) return doc.error();
  if (!doc->IsObject()) return makeError("invalid", "list: expected a JSON object");
  const kube::json::Value* items = kube::json::find(*doc, "items");
  if (items == nullptr || !items->IsArray()) return makeError("invalid", "list: items must be an array");
  for (rapidjson::SizeType i = 0; i < items->Size(); ++i) {
    const auto& item = (*items)[i];
    const kube::json::Value* kind = item.IsObject() ? kube::json::find(item, "kind") : nullptr;
    const std::string_view k = kind != nullptr && kind->IsString() ? kube::json::view(*kind) : std::string_view{};
    const std::string where = "list: items[" + std::to_string(i) + "]: ";
    if (k == "Node") {
      auto node = kube::decodeNode(item);
      if (!node.ok()) return makeError("invalid", where + node.error().message);
      applyNode(sink, *node);
    } else if (k == "Pod") {
      auto pod = kube::decodePod(item);
      if (!pod.ok()) return makeError("invalid", where + pod.error().message);
      applyPod(sink, *pod);
    }
  }
  return {};
}

}  // namespace spotfit::extender

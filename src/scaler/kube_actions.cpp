#include "scaler/kube_actions.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/time.hpp"
#include "base/vocabulary.hpp"
#include "kube/json.hpp"

namespace spotfit::scaler {

const kube::ResourceType kConfigMaps{"", "v1", "configmaps", "ConfigMap", true};

namespace {

constexpr int kConflictRetries = 5;
constexpr size_t kEventsPerSecond = 20;
constexpr auto kAggregationWindow = std::chrono::minutes(10);

std::string serialize(const kube::json::Value& v) {
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

}  // namespace

KubeClusterActions::KubeClusterActions(kube::KubeClient& client, const kube::Clock& clock, std::string component,
                                       std::string eventNamespace)
    : client_(client), clock_(clock), component_(std::move(component)), eventNamespace_(std::move(eventNamespace)) {}

Status KubeClusterActions::editTaints(const std::string& node,
                                      const std::function<bool(kube::json::Value&, kube::json::Allocator&)>& edit) {
  for (int attempt = 0;; ++attempt) {
    auto doc = client_.get(kube::resources::kNodes, "", node);
    if (!doc) return doc.error();
    auto& a = doc->GetAllocator();
    const auto* meta = kube::json::find(*doc, "metadata");
    const auto* rv = meta ? kube::json::find(*meta, "resourceVersion") : nullptr;
    kube::json::Value taints(rapidjson::kArrayType);
    if (const auto* spec = kube::json::find(*doc, "spec")) {
      if (const auto* t = kube::json::find(*spec, "taints"); t && t->IsArray()) taints.CopyFrom(*t, a);
    }
    if (!edit(taints, a)) return {};  // nothing to change
    kube::json::Document patch(rapidjson::kObjectType);
    auto& pa = patch.GetAllocator();
    kube::json::Value metaOut(rapidjson::kObjectType);
    if (rv && rv->IsString()) metaOut.AddMember("resourceVersion", kube::json::Value(rv->GetString(), pa), pa);
    kube::json::Value spec(rapidjson::kObjectType);
    kube::json::Value taintsCopy;
    taintsCopy.CopyFrom(taints, pa);
    spec.AddMember("taints", taintsCopy, pa);
    patch.AddMember("metadata", metaOut, pa);
    patch.AddMember("spec", spec, pa);
    auto r = client_.patch(kube::resources::kNodes, "", node, kube::PatchType::Merge, serialize(patch));
    if (r) return {};
    if (!kube::isConflict(r.error()) || attempt + 1 >= kConflictRetries) return r.error();
  }
}

Status KubeClusterActions::taintNode(const std::string& node, const placement::Taint& taint) {
  return editTaints(node, [&](kube::json::Value& taints, kube::json::Allocator& a) {
    for (const auto& t : taints.GetArray()) {
      const auto* k = kube::json::find(t, "key");
      if (k && k->IsString() && kube::json::view(*k) == taint.key) return false;
    }
    kube::json::Value t(rapidjson::kObjectType);
    t.AddMember("key", kube::json::str(taint.key, a), a);
    if (!taint.value.empty()) t.AddMember("value", kube::json::str(taint.value, a), a);
    t.AddMember("effect", kube::json::str(placement::toString(taint.effect), a), a);
    t.AddMember("timeAdded", kube::json::str(base::formatTime(clock_.wallNow()), a), a);
    taints.PushBack(t, a);
    return true;
  });
}

Status KubeClusterActions::untaintNode(const std::string& node, const std::string& taintKey) {
  auto st = editTaints(node, [&](kube::json::Value& taints, kube::json::Allocator&) {
    bool changed = false;
    for (auto it = taints.Begin(); it != taints.End();) {
      const auto* k = kube::json::find(*it, "key");
      if (k && k->IsString() && kube::json::view(*k) == taintKey) {
        it = taints.Erase(it);
        changed = true;
      } else {
        ++it;
      }
    }
    return changed;
  });
  if (!st && kube::isNotFound(st.error())) return {};
  return st;
}

EvictOutcome KubeClusterActions::evictPod(const std::string& ns, const std::string& name, std::string& message) {
  auto r = client_.evict(ns, name);
  if (!r) {
    message = r.error().message;
    return EvictOutcome::Failed;
  }
  message = r->message;
  switch (r->outcome) {
    case kube::EvictionOutcome::BlockedByDisruptionBudget:
      return EvictOutcome::Blocked;
    case kube::EvictionOutcome::Evicted:
    case kube::EvictionOutcome::NotFound:
      break;
  }
  return EvictOutcome::Evicted;
}

Status KubeClusterActions::deleteNode(const std::string& node) {
  auto st = client_.remove(kube::resources::kNodes, "", node);
  if (!st && kube::isNotFound(st.error())) return {};
  return st;
}

void KubeClusterActions::event(const ObjectRef& object, const std::string& type, const std::string& reason,
                               const std::string& message) {
  std::lock_guard lock(mu_);
  const TimePoint now = clock_.wallNow();
  while (!recent_.empty() && now - recent_.front() >= std::chrono::seconds(1)) recent_.pop_front();
  if (recent_.size() >= kEventsPerSecond) {
    ++dropped_;
    return;
  }
  recent_.push_back(now);
  std::erase_if(aggregates_, [&](const auto& kv) { return now - kv.second.last >= kAggregationWindow; });
  const std::string ns = object.namespaceName.empty() ? eventNamespace_ : object.namespaceName;
  const std::string key = object.kind + "/" + object.namespaceName + "/" + object.name + "/" + reason + "/" + message;
  const std::string ts = base::formatTime(now);
  if (auto it = aggregates_.find(key); it != aggregates_.end()) {
    it->second.count += 1;
    it->second.last = now;
    const std::string patch =
        "{\"count\":" + std::to_string(it->second.count) + ",\"lastTimestamp\":" + kube::json::quoted(ts) + "}";
    if (client_.patch(kube::resources::kEvents, it->second.namespaceName, it->second.name, kube::PatchType::Merge,
                      patch)) {
      return;
    }
    aggregates_.erase(it);  // the Event expired or was deleted: write a fresh one
  }
  const std::string name =
      (object.name.empty() ? std::string("spotfit") : object.name) + "." +
      std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count()) +
      std::to_string(seq_++);
  std::string apiVersion = object.kind == "SpotfitPool" ? std::string(vocab::kApiVersion) : "v1";
  std::string body = "{\"apiVersion\":\"v1\",\"kind\":\"Event\",\"metadata\":{\"name\":" + kube::json::quoted(name) +
                     ",\"namespace\":" + kube::json::quoted(ns) +
                     "},\"involvedObject\":{\"apiVersion\":" + kube::json::quoted(apiVersion) +
                     ",\"kind\":" + kube::json::quoted(object.kind) + ",\"name\":" + kube::json::quoted(object.name);
  if (!object.namespaceName.empty()) body += ",\"namespace\":" + kube::json::quoted(object.namespaceName);
  if (!object.uid.empty()) body += ",\"uid\":" + kube::json::quoted(object.uid);
  body += "},\"type\":" + kube::json::quoted(type) + ",\"reason\":" + kube::json::quoted(reason) +
          ",\"message\":" + kube::json::quoted(message.substr(0, 1024)) +
          ",\"source\":{\"component\":" + kube::json::quoted(component_) +
          "},\"reportingComponent\":" + kube::json::quoted(component_) +
          ",\"firstTimestamp\":" + kube::json::quoted(ts) + ",\"lastTimestamp\":" + kube::json::quoted(ts) +
          ",\"count\":1}";
  if (client_.create(kube::resources::kEvents, ns, body)) aggregates_[key] = {ns, name, 1, now};
}

Status KubeClusterActions::updateNodePoolStatus(const std::string& pool, const std::string& statusJson) {
  kube::WriteOptions o;
  o.subresource = "status";
  auto r = client_.patch(kube::resources::kNodePools, "", pool, kube::PatchType::Merge,
                         "{\"status\":" + statusJson + "}", o);
  if (!r) return r.error();
  return {};
}

Result<std::optional<std::string>> ConfigMapLedgerStore::loadKey(const char* key) {
  auto doc = client_.get(kConfigMaps, ns_, name_);
  if (!doc) {
    if (kube::isNotFound(doc.error())) return std::optional<std::string>{};
    return doc.error();
  }
  const auto* data = kube::json::find(*doc, "data");
  const auto* v = data ? kube::json::find(*data, key) : nullptr;
  if (!v || !v->IsString()) return std::optional<std::string>{};
  return std::optional<std::string>(std::string(kube::json::view(*v)));
}

Result<std::optional<std::string>> ConfigMapLedgerStore::load() {
  return loadKey(kLedgerKey);
}

Result<std::optional<std::string>> ConfigMapLedgerStore::loadScalerState() {
  return loadKey(kScalerStateKey);
}

Status ConfigMapLedgerStore::save(const std::string& json) {
  return writeData(std::string("{\"") + kLedgerKey + "\":" + kube::json::quoted(json) + "}");
}

Status ConfigMapLedgerStore::saveWithScalerState(const std::string& ledgerJson, const std::string& stateJson) {
  return writeData(std::string("{\"") + kLedgerKey + "\":" + kube::json::quoted(ledgerJson) + ",\"" + kScalerStateKey +
                   "\":" + kube::json::quoted(stateJson) + "}");
}

Status ConfigMapLedgerStore::writeData(const std::string& data) {
  auto r = client_.patch(kConfigMaps, ns_, name_, kube::PatchType::Merge, "{\"data\":" + data + "}");
  if (r) return {};
  if (!kube::isNotFound(r.error())) return r.error();
  const std::string body =
      "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":" + kube::json::quoted(name_) +
      ",\"namespace\":" + kube::json::quoted(ns_) +
      ",\"labels\":{\"app.kubernetes.io/name\":\"spotfit\"}},\"data\":" + data + "}";
  auto c = client_.create(kConfigMaps, ns_, body);
  if (!c) return c.error();
  return {};
}

}  // namespace spotfit::scaler

#include "extender/informer_feed.hpp"

#include "extender/informer_adapter.hpp"

namespace spotfit::extender {

void connectInformers(ClusterEvents& sink, kube::Informer<kube::Node>& nodes, kube::Informer<kube::Pod>& pods) {
  kube::InformerHandlers<kube::Node> nh;
  nh.onAdd = [&sink](const kube::Node& n) { applyNode(sink, n); };
  nh.onUpdate = [&sink](const kube::Node&, const kube::Node& n) { applyNode(sink, n); };
  nh.onDelete = [&sink](const kube::Node& n) { deleteNode(sink, n); };
  nodes.addHandler(std::move(nh));

  kube::InformerHandlers<kube::Pod> ph;
  ph.onAdd = [&sink](const kube::Pod& p) { applyPod(sink, p); };
  ph.onUpdate = [&sink](const kube::Pod& old, const kube::Pod& p) {
    // A recreated pod with the same name but a new uid: the old identity is gone.
    if (podKey(old) != podKey(p)) deletePod(sink, old);
    applyPod(sink, p);
  };
  ph.onDelete = [&sink](const kube::Pod& p) { deletePod(sink, p); };
  pods.addHandler(std::move(ph));
}

bool waitAndMarkSynced(ClusterEvents& sink, const kube::Informer<kube::Node>& nodes,
                       const kube::Informer<kube::Pod>& pods, std::stop_token stop, std::chrono::milliseconds poll) {
  while (!stop.stop_requested()) {
    if (nodes.waitForSync(poll) && pods.waitForSync(poll)) {
      sink.synced();
      return true;
    }
  }
  return false;
}

}  // namespace spotfit::extender

#include "kube/informer.hpp"

namespace spotfit::kube {

std::string_view toString(InformerState s) {
  switch (s) {
    case InformerState::Starting:
      return "starting";
    case InformerState::Synced:
      return "synced";
    case InformerState::NotInstalled:
      return "not installed";
    case InformerState::Failing:
      return "failing";
    case InformerState::Stopped:
      return "stopped";
  }
  return "unknown";
}

std::string ownerKey(std::string_view ns, std::string_view kind, std::string_view name) {
  std::string k;
  k.reserve(ns.size() + kind.size() + name.size() + 2);
  k += ns;
  k += '/';
  k += kind;
  k += '/';
  k += name;
  return k;
}

namespace {
template <typename T>
std::vector<std::string> byController(const T& o) {
  if (const OwnerReference* c = o.meta.controllerRef()) return {ownerKey(o.meta.namespace_, c->kind, c->name)};
  return {};
}
}  // namespace

std::unique_ptr<Informer<Pod>> makePodInformer(KubeClient& client, Clock& clock, InformerOptions options) {
  auto inf = std::make_unique<Informer<Pod>>(client, resources::kPods, &decodePod, clock, std::move(options));
  inf->store().addIndex(std::string(kIndexNodeName), [](const Pod& p) { return std::vector<std::string>{p.nodeName}; });
  inf->store().addIndex(std::string(kIndexOwner), byController<Pod>);
  return inf;
}

std::unique_ptr<Informer<Node>> makeNodeInformer(KubeClient& client, Clock& clock, InformerOptions options) {
  return std::make_unique<Informer<Node>>(client, resources::kNodes, &decodeNode, clock, std::move(options));
}

std::unique_ptr<Informer<Job>> makeJobInformer(KubeClient& client, Clock& clock, InformerOptions options) {
  auto inf = std::make_unique<Informer<Job>>(client, resources::kJobs, &decodeJob, clock, std::move(options));
  inf->store().addIndex(std::string(kIndexOwner), byController<Job>);
  return inf;
}

std::unique_ptr<Informer<Namespace>> makeNamespaceInformer(KubeClient& client, Clock& clock, InformerOptions options) {
  return std::make_unique<Informer<Namespace>>(client, resources::kNamespaces, &decodeNamespace, clock,
                                               std::move(options));
}

std::unique_ptr<Informer<PodDisruptionBudget>> makePdbInformer(KubeClient& client, Clock& clock,
                                                               InformerOptions options) {
  return std::make_unique<Informer<PodDisruptionBudget>>(client, resources::kPodDisruptionBudgets,
                                                         &decodePodDisruptionBudget, clock, std::move(options));
}

std::unique_ptr<Informer<VerticalPodAutoscaler>> makeVpaInformer(KubeClient& client, Clock& clock,
                                                                 InformerOptions options) {
  auto inf = std::make_unique<Informer<VerticalPodAutoscaler>>(client, resources::kVerticalPodAutoscalers,
                                                               &decodeVerticalPodAutoscaler, clock, std::move(options));
  inf->store().addIndex(std::string(kIndexTargetRef), [](const VerticalPodAutoscaler& v) {
    if (!v.targetRef) return std::vector<std::string>{};
    return std::vector<std::string>{ownerKey(v.meta.namespace_, v.targetRef->kind, v.targetRef->name)};
  });
  return inf;
}

std::unique_ptr<Informer<Lease>> makeLeaseInformer(KubeClient& client, Clock& clock, InformerOptions options) {
  return std::make_unique<Informer<Lease>>(client, resources::kLeases, &decodeLease, clock, std::move(options));
}

std::shared_ptr<const VerticalPodAutoscaler> vpaForTarget(const Store<VerticalPodAutoscaler>& store,
                                                          std::string_view ns, std::string_view kind,
                                                          std::string_view name) {
  auto found = store.byIndex(kIndexTargetRef, ownerKey(ns, kind, name));
  if (found.empty()) return nullptr;
  // Several VPAs for one target is a user error; pick the oldest-named deterministically.
  return *std::min_element(found.begin(), found.end(),
                           [](const auto& a, const auto& b) { return a->meta.name < b->meta.name; });
}

std::vector<std::shared_ptr<const Pod>> podsOwnedBy(const Store<Pod>& store, std::string_view ns, std::string_view kind,
                                                    std::string_view name) {
  return store.byIndex(kIndexOwner, ownerKey(ns, kind, name));
}

std::vector<std::shared_ptr<const Pod>> podsOnNode(const Store<Pod>& store, std::string_view nodeName) {
  return store.byIndex(kIndexNodeName, nodeName);
}

}  // namespace spotfit::kube

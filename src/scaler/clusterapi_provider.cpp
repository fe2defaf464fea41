#include "scaler/clusterapi_provider.hpp"

#include "base/time.hpp"
#include "kube/objects.hpp"

namespace spotfit::scaler {

const kube::ResourceType kMachines{"cluster.x-k8s.io", "v1beta1", "machines", "Machine", true};

Result<ClusterApiProvider::Deployment> ClusterApiProvider::deployment(const std::map<std::string, std::string>& params,
                                                                      const std::string& pool) {
  auto ns = params.find("namespace");
  auto md = params.find("machineDeployment");
  if (ns == params.end() || md == params.end() || ns->second.empty() || md->second.empty()) {
    return makeError(kErrOther, "clusterapi: pool " + pool + " needs parameters namespace and machineDeployment");
  }
  Deployment d{ns->second, md->second, pool};
  known_[d.ns + "/" + d.name] = d;
  return d;
}

Result<ProviderNode> ClusterApiProvider::create(const NodeRequest& r) {
  auto d = deployment(r.providerParams, r.pool);
  if (!d) return d.error();
  auto replicas = client_.getScale(kube::resources::kMachineDeployments, d->ns, d->name);
  if (!replicas)
    return makeError(kErrOther,
                     "clusterapi: reading scale of " + d->ns + "/" + d->name + ": " + replicas.error().message);
  auto st = client_.setScale(kube::resources::kMachineDeployments, d->ns, d->name, *replicas + 1);
  if (!st) {
    const bool quota = st.error().code == "Forbidden" || st.error().code == "Invalid";
    return makeError(quota ? kErrQuota : kErrOther, "clusterapi: scaling " + d->ns + "/" + d->name + " to " +
                                                        std::to_string(*replicas + 1) + ": " + st.error().message);
  }
  return ProviderNode{"", "", r.pool, r.instanceType, r.capacityType, r.zone, clock_.wallNow()};
}

Status ClusterApiProvider::remove(const NodeRef& node) {
  auto d = deployment(node.providerParams, node.pool);
  if (!d) return d.error();
  kube::ListOptions o;
  o.labelSelector = std::string(kLabelDeploymentName) + "=" + d->name;
  std::string machine;
  auto listed = client_.listAll(kMachines, d->ns, o, [&](const kube::json::Value& m) -> Status {
    const auto* status = kube::json::find(m, "status");
    const auto* ref = status ? kube::json::find(*status, "nodeRef") : nullptr;
    const auto* name = ref ? kube::json::find(*ref, "name") : nullptr;
    if (name && name->IsString() && kube::json::view(*name) == node.nodeName) {
      if (const auto* meta = kube::json::find(m, "metadata")) {
        if (const auto* mn = kube::json::find(*meta, "name"); mn && mn->IsString()) machine = kube::json::view(*mn);
      }
    }
    return {};
  });
  if (!listed) return makeError(kErrOther, "clusterapi: listing Machines: " + listed.error().message);
  if (machine.empty()) return {};  // no Machine for the node: already gone
  auto annotated = client_.patch(kMachines, d->ns, machine, kube::PatchType::Merge,
                                 std::string("{\"metadata\":{\"annotations\":{\"") + kAnnotationDeleteMachine +
                                     "\":\"" + base::formatTime(clock_.wallNow()) + "\"}}}");
  if (!annotated)
    return makeError(kErrOther, "clusterapi: annotating Machine " + machine + ": " + annotated.error().message);
  auto replicas = client_.getScale(kube::resources::kMachineDeployments, d->ns, d->name);
  if (!replicas) return makeError(kErrOther, "clusterapi: reading scale: " + replicas.error().message);
  if (*replicas <= 0) return {};
  auto st = client_.setScale(kube::resources::kMachineDeployments, d->ns, d->name, *replicas - 1);
  if (!st) return makeError(kErrOther, "clusterapi: scaling down " + d->name + ": " + st.error().message);
  return {};
}

Result<std::vector<ProviderNode>> ClusterApiProvider::list() {
  std::vector<ProviderNode> out;
  for (const auto& entry : known_) {
    const auto& d = entry.second;  // not a structured binding: clang 14 (the fuzz build) cannot capture one
    kube::ListOptions o;
    o.labelSelector = std::string(kLabelDeploymentName) + "=" + d.name;
    auto listed = client_.listAll(kMachines, d.ns, o, [&](const kube::json::Value& m) -> Status {
      const auto* status = kube::json::find(m, "status");
      const auto* ref = status ? kube::json::find(*status, "nodeRef") : nullptr;
      const auto* name = ref ? kube::json::find(*ref, "name") : nullptr;
      if (!name || !name->IsString()) return {};
      ProviderNode p;
      p.nodeName = std::string(kube::json::view(*name));
      p.pool = d.pool;
      if (const auto* spec = kube::json::find(m, "spec")) {
        if (const auto* id = kube::json::find(*spec, "providerID"); id && id->IsString())
          p.providerId = kube::json::view(*id);
      }
      out.push_back(std::move(p));
      return {};
    });
    if (!listed) return makeError(kErrOther, "clusterapi: listing Machines: " + listed.error().message);
  }
  return out;
}

}  // namespace spotfit::scaler

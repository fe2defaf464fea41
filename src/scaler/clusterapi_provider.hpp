#pragma once
// The Cluster API provider: one MachineDeployment per pool (pool parameters `namespace` and
// `machineDeployment`). Creating a node raises the MachineDeployment's replicas through its scale
// subresource; Cluster API names the Machine and its Node, so create() returns an empty node name and
// the scaler claims the pool's next new Node. Removing a node annotates its Machine with
// `cluster.x-k8s.io/delete-machine` (so the MachineSet deletes that one) and then lowers replicas, as
// Cluster Autoscaler's clusterapi provider does.

#include "kube/client.hpp"
#include "scaler/provider.hpp"

namespace spotfit::scaler {

inline constexpr const char* kAnnotationDeleteMachine = "cluster.x-k8s.io/delete-machine";
inline constexpr const char* kLabelDeploymentName = "cluster.x-k8s.io/deployment-name";
extern const kube::ResourceType kMachines;  // cluster.x-k8s.io/v1beta1 machines

class ClusterApiProvider final : public NodeProvider {
 public:
  ClusterApiProvider(kube::KubeClient& client, const kube::Clock& clock) : client_(client), clock_(clock) {}

  Result<ProviderNode> create(const NodeRequest& request) override;
  Status remove(const NodeRef& node) override;
  // Machines of every MachineDeployment listed here are not known without a pool: list() returns the
  // Machines (with a Node) of the deployments this provider has scaled so far.
  Result<std::vector<ProviderNode>> list() override;

 private:
  struct Deployment {
    std::string ns, name, pool;
  };
  Result<Deployment> deployment(const std::map<std::string, std::string>& params, const std::string& pool);
  kube::KubeClient& client_;
  const kube::Clock& clock_;
  std::map<std::string, Deployment> known_;  // ns/name -> deployment
};

}  // namespace spotfit::scaler

#pragma once
// The scaler's ports implemented over KubeClient: node taints (read-modify-write with optimistic
// concurrency), pods/eviction (PDB refusals as Blocked), Node deletion, NodePool status, core/v1 Events
// with aggregation and a rate limit, and the cost ledger in a ConfigMap of spotfit's namespace.

#include <deque>
#include <map>
#include <mutex>
#include <string>

#include "kube/client.hpp"
#include "kube/json.hpp"
#include "scaler/actions.hpp"
#include "scaler/duration.hpp"
#include "scaler/ledger.hpp"

namespace spotfit::scaler {

class KubeClusterActions final : public ClusterActions {
 public:
  // Events about cluster-scoped objects (Nodes, NodePools) go to `eventNamespace` ("default", as kubectl
  // describe expects for Nodes).
  KubeClusterActions(kube::KubeClient& client, const kube::Clock& clock, std::string component = "spotfit-scaler",
                     std::string eventNamespace = "default");

  Status taintNode(const std::string& node, const placement::Taint& taint) override;
  Status untaintNode(const std::string& node, const std::string& taintKey) override;
  EvictOutcome evictPod(const std::string& namespaceName, const std::string& name, std::string& message) override;
  Status deleteNode(const std::string& node) override;
  void event(const ObjectRef& object, const std::string& type, const std::string& reason,
             const std::string& message) override;
  Status updateNodePoolStatus(const std::string& pool, const std::string& statusJson) override;

  int eventsDropped() const { return dropped_; }

 private:
  // Applies `edit` to the node's spec.taints and writes it back; retried on conflicts.
  Status editTaints(const std::string& node,
                    const std::function<bool(kube::json::Value& taints, kube::json::Allocator&)>& edit);
  kube::KubeClient& client_;
  const kube::Clock& clock_;
  std::string component_, eventNamespace_;
  std::mutex mu_;
  struct Aggregate {
    std::string namespaceName, name;
    int64_t count = 0;
    TimePoint last{};
  };
  std::map<std::string, Aggregate> aggregates_;  // object/reason/message -> the Event that counts it
  std::deque<TimePoint> recent_;                 // event writes in the last second (rate limit)
  int dropped_ = 0;
  uint64_t seq_ = 0;
};

// The cost ledger in ConfigMap `name` (key "ledger.json") of spotfit's namespace, and the scaler's memory
// under key "scaler-state.json" of the same ConfigMap: namespace users cannot write there, and every
// replica reads them after winning the lease.
class ConfigMapLedgerStore final : public LedgerStore {
 public:
  static constexpr const char* kLedgerKey = "ledger.json";
  static constexpr const char* kScalerStateKey = "scaler-state.json";

  ConfigMapLedgerStore(kube::KubeClient& client, std::string namespaceName, std::string name)
      : client_(client), ns_(std::move(namespaceName)), name_(std::move(name)) {}
  Result<std::optional<std::string>> load() override;
  Status save(const std::string& json) override;
  Result<std::optional<std::string>> loadScalerState() override;
  Status saveWithScalerState(const std::string& ledgerJson, const std::string& stateJson) override;

  // Any other key of the same ConfigMap (the workflow profiles, scaler/profile_store.hpp, live there too).
  Result<std::optional<std::string>> loadKey(const char* key);
  // Merge-patches `data` (a JSON object of keys to strings) into the ConfigMap, creating it when absent.
  Status writeData(const std::string& data);

 private:
  kube::KubeClient& client_;
  std::string ns_, name_;
};

extern const kube::ResourceType kConfigMaps;

}  // namespace spotfit::scaler

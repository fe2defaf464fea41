#pragma once
// The writes the scaler makes to the cluster, as a port so the decision loop is tested without an API
// server. The production implementation (kube_actions.cpp) goes through KubeClient.

#include <string>

#include "base/result.hpp"
#include "base/vocabulary.hpp"
#include "placement/model.hpp"

namespace spotfit::scaler {

// The taint the scaler puts on a node it is removing (Karpenter uses karpenter.sh/disrupted likewise).
using vocab::kTaintDisrupting;

enum class EvictOutcome {
  Evicted,  // 201: the eviction was accepted (or the pod is already gone)
  Blocked,  // 429: a PodDisruptionBudget refuses it now; retry later
  Failed,   // any other error
};

struct ObjectRef {
  std::string kind;  // Pod | Node | NodePool
  std::string namespaceName;
  std::string name;
  std::string uid;
};

class ClusterActions {
 public:
  virtual ~ClusterActions() = default;
  virtual Status taintNode(const std::string& node, const placement::Taint& taint) = 0;
  virtual Status untaintNode(const std::string& node, const std::string& taintKey) = 0;
  virtual EvictOutcome evictPod(const std::string& namespaceName, const std::string& name, std::string& message) = 0;
  virtual Status deleteNode(const std::string& node) = 0;
  // type: Normal | Warning. Implementations aggregate and rate-limit.
  virtual void event(const ObjectRef& object, const std::string& type, const std::string& reason,
                     const std::string& message) = 0;
  // The NodePool status subresource (JSON of the `status` object).
  virtual Status updateNodePoolStatus(const std::string& pool, const std::string& statusJson) = 0;
};

}  // namespace spotfit::scaler

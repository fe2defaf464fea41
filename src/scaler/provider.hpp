#pragma once
// NodeProvider: the only way the scaler gets or returns machines. Implementations: InMemoryProvider
// (tests, simulator, benchmarks), KwokProvider (Node objects through the API, for e2e and demos) and
// ClusterApiProvider (MachineDeployment scale subresource). Errors are values with a typed code so the
// scale-up loop can tell "try another offering" (insufficient capacity, quota) from "back off" (other).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "placement/model.hpp"
#include "scaler/duration.hpp"

namespace spotfit::scaler {

inline constexpr const char* kErrInsufficientCapacity = "insufficient_capacity";
inline constexpr const char* kErrQuota = "quota";
inline constexpr const char* kErrOther = "other";

enum class ProviderErrorKind { InsufficientCapacity, Quota, Other };
ProviderErrorKind providerErrorKind(const Error& e);
const char* toString(ProviderErrorKind k);

// The placement model's types, so plans, nodes and requests speak one vocabulary.
using CapacityType = placement::CapacityType;
using NodeTaint = placement::Taint;
using placement::toString;

// Everything a provider needs to bring up one node. Names are chosen by the scaler so an in-flight node
// can be matched to its Node object before the provider has answered.
struct NodeRequest {
  std::string nodeName;
  std::string pool;
  std::string instanceType;
  CapacityType capacityType = CapacityType::OnDemand;
  std::string zone;
  int64_t cpuMilli = 0;
  int64_t memoryBytes = 0;
  int64_t pods = 110;
  std::map<std::string, int64_t> extended;  // e.g. nvidia.com/gpu -> 1
  std::map<std::string, std::string> labels;
  std::vector<NodeTaint> taints;
  std::map<std::string, std::string> providerParams;  // the pool's provider settings
};

struct ProviderNode {
  std::string nodeName;
  std::string providerId;
  std::string pool;
  std::string instanceType;
  CapacityType capacityType = CapacityType::OnDemand;
  std::string zone;
  TimePoint createdAt{};
};

struct NodeRef {
  std::string nodeName;
  std::string pool;
  std::map<std::string, std::string> providerParams;
};

class NodeProvider {
 public:
  virtual ~NodeProvider() = default;
  // The returned nodeName is the request's, or empty when the provider names the Node itself (Cluster
  // API): the scaler then matches the next new Node of the pool and instance type.
  virtual Result<ProviderNode> create(const NodeRequest& request) = 0;
  // Deleting a node that is already gone succeeds (deletes are retried after failover).
  virtual Status remove(const NodeRef& node) = 0;
  virtual Result<std::vector<ProviderNode>> list() = 0;
  // Providers with background work (kwok marking nodes Ready after a delay) do it here; called every loop.
  virtual void poll(TimePoint /*now*/) {}
};

}  // namespace spotfit::scaler

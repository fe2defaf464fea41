#pragma once
// One planned node launched: the step every scale-up path shares (per-pod scale-up, gangs, pre-warm,
// ProvisioningRequests). Scaler::launch (launch.cpp) picks the zone, checks the pool's cost limit, calls
// the provider, classifies a failure and marks the offering unavailable, and builds the in-flight node.
// It records nothing else: each caller keeps its own reaction (events, rollback, best effort) and puts
// the node in flight itself.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "placement/model.hpp"
#include "scaler/provider.hpp"

namespace spotfit::scaler {

struct LaunchSpec {
  std::string pool, instanceType;
  CapacityType capacityType = CapacityType::OnDemand;
  // The zone as planned (a zonal gang's); nullopt: the first of the pool's zones (or "") whose offering
  // is not marked unavailable.
  std::optional<std::string> zone;
  // With a cost limit on the pool: the nodes (existing, in flight, planned) it already pays for. nullptr:
  // the caller checked the limit for the whole plan.
  const std::vector<placement::NodeInfo>* costBasis = nullptr;
  std::map<std::string, std::string> labels;    // extra labels on the Node and its model
  std::vector<std::string> podKeys;             // the pods it is for
  std::vector<const placement::PodInfo*> pods;  // their extended resources must be advertised
};

enum class LaunchFailureKind {
  PoolGone,       // no such valid pool (anymore)
  NoProvider,     // the pool's instance type or provider is unknown
  NoZone,         // every zone of the offering is marked unavailable
  CostLimit,      // the pool would exceed its cost limit (USD/h)
  ProviderError,  // the provider refused; providerKind says how, the offering is marked unavailable
};
const char* toString(LaunchFailureKind k);

struct LaunchFailure {
  LaunchFailureKind kind = LaunchFailureKind::ProviderError;
  ProviderErrorKind providerKind = ProviderErrorKind::Other;  // with ProviderError
  std::string message;
  std::string providerMessage;  // with ProviderError: the provider's own words
};

}  // namespace spotfit::scaler

#pragma once
// The parts of an autoscaling.k8s.io/v1 VerticalPodAutoscaler the webhook applies at admission, decoded
// from its JSON, and how they resize a pod template's containers.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "webhook/json.hpp"
#include "webhook/pod_template.hpp"

namespace spotfit::webhook {

struct VpaContainerPolicy {
  std::string containerName;  // "*" is the default policy
  bool off = false;           // mode: Off
  std::map<std::string, std::string> minAllowed, maxAllowed;
  std::optional<std::vector<std::string>> controlledResources;  // default cpu, memory
  bool requestsAndLimits = true;                                // controlledValues (default RequestsAndLimits)
};

struct Vpa {
  std::string namespace_, name;
  std::string targetKind, targetName;  // spec.targetRef
  bool updateOff = false;              // spec.updatePolicy.updateMode: Off (recommend only)
  std::map<std::string, std::map<std::string, std::string>> targets;  // container -> resource -> quantity
  std::vector<VpaContainerPolicy> policies;

  const VpaContainerPolicy* policyFor(std::string_view container) const;
};

// Decodes a VPA object. Error (code "invalid") names the offending field.
Result<Vpa> decodeVpa(const json::Value& obj);

struct Resize {
  std::vector<std::string> changed;  // "container/resource" that got a new request
};
// Sets each container's requests to the VPA's target (clamped to minAllowed/maxAllowed), skipping
// containers whose policy is Off and resources outside controlledResources; with RequestsAndLimits an
// existing limit is scaled by the same factor as its request. Requests already at the target are left as
// written, so applying twice changes nothing. Quantities the VPA or pod write unparseably are skipped.
Result<Resize> applyVpa(const Vpa& vpa, PodSpec& spec);

}  // namespace spotfit::webhook

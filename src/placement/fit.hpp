#pragma once
// Can this pod run on this node? The same answer for the extender's filter, the scaler's plans and the
// simulator. Inter-pod (anti-)affinity and topology spread are not evaluated here (kube-scheduler's
// in-tree filters run before the extender); see docs/placement.md for how the scaler treats them.

#include <cstdint>
#include <string>

#include "placement/model.hpp"
#include "placement/resources.hpp"

namespace spotfit::placement {

// Why a pod does not fit, as a type (metrics and callers branch on this, never on the reason's wording).
enum class FitCode : uint8_t {
  Fits,
  Unschedulable,  // cordoned
  NodeAffinity,   // nodeSelector / required node affinity
  Taint,          // an untolerated NoSchedule/NoExecute taint
  GpuProduct,
  CapacityType,  // the pod's capacity policy refuses the node's capacity type
  Budget,        // on-demand refused because the workflow is over budget (spot only)
  Resources,     // requests above what is free (or, permanent, above allocatable)
  Gang,          // a gang member off its gang's capacity type or zone (extender)
  UnknownNode,   // the extender has no such node
};

struct FitVerdict {
  bool fits = true;
  // The node cannot take the pod no matter which pods leave it (selector, taint, product, policy,
  // cordon, or a request above the node's allocatable). Maps to FailedAndUnresolvableNodes.
  bool permanent = false;
  std::string reason;  // short, human, empty when it fits
  FitCode code = FitCode::Fits;

  static FitVerdict ok() { return {}; }
};

struct FitOptions {
  // Skip the free-capacity check (used when asking "could this node type ever take the pod").
  bool ignoreUsage = false;
  // Treat the node as schedulable even when cordoned (planning replacements of a cordoned node).
  bool ignoreUnschedulable = false;
};

// Checks, in order: cordon, nodeSelector + required node affinity, NoSchedule/NoExecute taints,
// GPU product, capacity policy, resources (kube-scheduler NodeResourcesFit semantics).
// Reasons follow kube-scheduler wording where one exists, e.g. "Insufficient cpu",
// "node(s) didn't match Pod's node affinity/selector", "node(s) had untolerated taint {k: v}".
FitVerdict fit(const PodInfo& pod, const NodeInfo& node, const FitOptions& options = {});
// Same with the pod's requests computed once by the caller (podRequests(pod)); the hot path.
FitVerdict fit(const PodInfo& pod, const Resources& requests, const NodeInfo& node, const FitOptions& options = {});

// Only the constraints that do not depend on usage (everything but free capacity); true when the pod
// could run on an empty node with these labels, taints and capacity type.
bool staticallyCompatible(const PodInfo& pod, const NodeInfo& node);

// Label-only part of fit: nodeSelector and required node affinity.
bool matchesNodeSelectorAndAffinity(const PodInfo& pod, const Labels& labels, std::string_view nodeName);

}  // namespace spotfit::placement

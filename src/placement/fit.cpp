#include "placement/fit.hpp"

namespace spotfit::placement {

bool matchesNodeSelectorAndAffinity(const PodInfo& pod, const Labels& labels, std::string_view nodeName) {
  for (const auto& [k, v] : pod.nodeSelector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return matchesAnyTerm(pod.requiredNodeAffinity, labels, nodeName);
}

namespace {

FitVerdict reject(FitCode code, std::string reason, bool permanent) {
  FitVerdict v;
  v.fits = false;
  v.code = code;
  v.permanent = permanent;
  v.reason = std::move(reason);
  return v;
}

bool tolerateUnschedulable(const PodInfo& pod) {
  Taint t{std::string(kTaintUnschedulable), "", TaintEffect::NoSchedule};
  return tolerated(pod.tolerations, t);
}

// Everything but resources; empty reason when compatible.
FitVerdict staticCheck(const PodInfo& pod, const NodeInfo& node, bool ignoreUnschedulable) {
  if (node.unschedulable && !ignoreUnschedulable && !tolerateUnschedulable(pod)) {
    return reject(FitCode::Unschedulable, "node(s) were unschedulable", true);
  }
  if (!matchesNodeSelectorAndAffinity(pod, node.labels, node.name)) {
    return reject(FitCode::NodeAffinity, "node(s) didn't match Pod's node affinity/selector", true);
  }
  if (const Taint* t = firstUntoleratedTaint(node.taints, pod.tolerations)) {
    return reject(FitCode::Taint, "node(s) had untolerated taint {" + t->key + ": " + t->value + "}", true);
  }
  if (!pod.gpuProduct.empty() && node.gpuProduct != pod.gpuProduct) {
    return reject(FitCode::GpuProduct,
                  "gpu product " + (node.gpuProduct.empty() ? std::string("none") : node.gpuProduct) +
                      ", pod requires " + pod.gpuProduct,
                  true);
  }
  if (!allows(pod.capacityPolicy, node.capacityType)) {
    if (pod.capacityPolicy == CapacityPolicy::SpotOnly) {
      return reject(FitCode::Budget, "on-demand node, workflow over budget: spot only", true);
    }
    return reject(
        FitCode::CapacityType,
        std::string(toString(node.capacityType)) + " node, pod requires " + std::string(toString(pod.capacityPolicy)),
        true);
  }
  return FitVerdict::ok();
}

}  // namespace

bool staticallyCompatible(const PodInfo& pod, const NodeInfo& node) {
  return staticCheck(pod, node, false).fits;
}

FitVerdict fit(const PodInfo& pod, const NodeInfo& node, const FitOptions& options) {
  return fit(pod, podRequests(pod), node, options);
}

FitVerdict fit(const PodInfo& pod, const Resources& req, const NodeInfo& node, const FitOptions& options) {
  FitVerdict v = staticCheck(pod, node, options.ignoreUnschedulable);
  if (!v.fits) return v;
  if (options.ignoreUsage) {
    if (fits(req, node.allocatable)) return v;
  } else if (fits(req, node.allocatable, node.requested)) {
    return v;
  }
  // Which resources are short, and could any departure fix it (request ≤ allocatable)?
  std::vector<std::string> missing =
      options.ignoreUsage ? insufficient(req, node.allocatable) : insufficient(req, node.allocatable, node.requested);
  bool permanent = !fits(req, node.allocatable);
  std::string reason;
  for (const auto& name : missing) {
    if (!reason.empty()) reason += ", ";
    reason += name == kResourcePods ? std::string("Too many pods") : "Insufficient " + name;
  }
  return reject(FitCode::Resources, std::move(reason), permanent);
}

}  // namespace spotfit::placement

#include "placement/capacity_preset.hpp"

namespace spotfit::placement {

const std::vector<CapacityPreset>& capacityPresets() {
  static const std::vector<CapacityPreset> presets{
      {"spotfit",
       std::string(kLabelCapacityType),
       "spot",
       "on-demand",
       {{std::string(kLabelCapacityType), "spot", "NoSchedule"}},
       {"spotfit.io/interruption-notice"}},
      {"karpenter",
       std::string(kLabelKarpenterCapacityType),
       "spot",
       "on-demand",
       {{std::string(kLabelKarpenterCapacityType), "spot", "NoSchedule"}},
       // Karpenter taints a node it is about to take away (spot notice via its interruption queue, or
       // consolidation) with karpenter.sh/disrupted:NoSchedule before draining it.
       {"karpenter.sh/disrupted"}},
      {"eks",
       std::string(kLabelEksCapacityType),
       "SPOT",
       "ON_DEMAND",
       {{std::string(kLabelEksCapacityType), "SPOT", "NoSchedule"}},
       // aws-node-termination-handler (queue or IMDS mode) on managed node groups.
       {"aws-node-termination-handler/spot-itn", "aws-node-termination-handler/rebalance-recommendation"}},
      {"gke",
       std::string(kLabelGkeSpot),
       "true",
       "",
       {{std::string(kLabelGkeSpot), "true", "NoSchedule"}},
       // GKE's graceful node shutdown taints a preempted Spot VM's node.
       {"cloud.google.com/impending-node-termination"}},
      {"aks",
       std::string(kLabelAksPriority),
       "spot",
       "",
       {{std::string(kLabelAksPriority), "spot", "NoSchedule"}},
       // AKS reports a Spot eviction as a Preempt scheduled event; node-termination handlers for AKS
       // taint the node with these keys before it goes.
       {"aks-node-termination-handler/preempt", "kubernetes.azure.com/scalesetpriority-eviction"}},
  };
  return presets;
}

const CapacityPreset* findCapacityPreset(std::string_view name) {
  for (const auto& p : capacityPresets()) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string capacityPresetNames() {
  std::string out;
  for (const auto& p : capacityPresets()) {
    if (!out.empty()) out += ", ";
    out += p.name;
  }
  return out;
}

std::optional<CapacityType> capacityTypeOfLabel(std::string_view key, std::string_view value) {
  if (key == kLabelCapacityType || key == kLabelKarpenterCapacityType || key == kLabelEksCapacityType) {
    return parseCapacityType(value);
  }
  if (key == kLabelGkeSpot) return value == "true" ? CapacityType::Spot : CapacityType::OnDemand;
  if (key == kLabelAksPriority) return value == "spot" ? CapacityType::Spot : CapacityType::OnDemand;
  return std::nullopt;
}

}  // namespace spotfit::placement

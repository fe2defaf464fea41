#pragma once
// Capacity presets: how the node provisioners users already run mark spot and on-demand nodes, and which
// taints they put on spot nodes. `webhook.capacity.preset` picks the
// node-affinity label, values and tolerations from here. Explicit config keys override a preset.
//
//   preset     label                                    spot    on-demand        spot taint (tolerated)
//   spotfit    spotfit.io/capacity-type                 spot    on-demand        spotfit.io/capacity-type=spot
//   karpenter  karpenter.sh/capacity-type               spot    on-demand        karpenter.sh/capacity-type=spot
//   eks        eks.amazonaws.com/capacityType           SPOT    ON_DEMAND        eks.amazonaws.com/capacityType=SPOT
//   gke        cloud.google.com/gke-spot                true    (label absent)   cloud.google.com/gke-spot=true
//   aks        kubernetes.azure.com/scalesetpriority    spot    (label absent)
//   kubernetes.azure.com/scalesetpriority=spot
//
// Every spot taint has effect NoSchedule. Where on-demand nodes carry no label (GKE, AKS), a required
// on-demand term is `label NotIn [spot value]`, which a node without the label satisfies.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "placement/model.hpp"

namespace spotfit::placement {

inline constexpr std::string_view kLabelAksPriority = "kubernetes.azure.com/scalesetpriority";  // "spot"

struct PresetTaint {
  std::string key, value, effect;
};

struct CapacityPreset {
  std::string name;
  std::string label;                    // node label that says the capacity type
  std::string spotValue;                // its value on spot nodes
  std::string onDemandValue;            // its value on on-demand nodes; empty: on-demand nodes lack the label
  std::vector<PresetTaint> spotTaints;  // taints the provisioner may put on spot nodes
};

// The preset of that name, nullptr when unknown.
const CapacityPreset* findCapacityPreset(std::string_view name);
// "spotfit, karpenter, eks, gke, aks" (for error messages).
std::string capacityPresetNames();
const std::vector<CapacityPreset>& capacityPresets();

// The capacity type one node label says, nullopt when the label is not a capacity label (or its value is
// not one of the preset's): spotfit.io/capacity-type and karpenter.sh/capacity-type spot|on-demand,
// eks.amazonaws.com/capacityType SPOT|ON_DEMAND, cloud.google.com/gke-spot=true and
// kubernetes.azure.com/scalesetpriority=spot (spot; other values: on-demand).
std::optional<CapacityType> capacityTypeOfLabel(std::string_view key, std::string_view value);

}  // namespace spotfit::placement

#include "placement/capacity_preset.hpp"

namespace spotfit::placement {

const std::vector<CapacityPreset>& capacityPresets() {
  static const std::vector<CapacityPreset> presets{
      {"spotfit",
       std::string(kLabelCapacityType),
       "spot",
       "on-demand",
       {{std::string(kLabelCapacityType), "spot", "NoSchedule"}}},
      {"karpenter",
       std::string(kLabelKarpenterCapacityType),
       "spot",
       "on-demand",
       {{std::string(kLabelKarpenterCapacityType), "spot", "NoSchedule"}}},
      {"eks",
       std::string(kLabelEksCapacityType),
       "SPOT",
       "ON_DEMAND",
       {{std::string(kLabelEksCapacityType), "SPOT", "NoSchedule"}}},
      {"gke", std::string(kLabelGkeSpot), "true", "", {{std::string(kLabelGkeSpot), "true", "NoSchedule"}}},
      {"aks", std::string(kLabelAksPriority), "spot", "", {{std::string(kLabelAksPriority), "spot", "NoSchedule"}}},
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

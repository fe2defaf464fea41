#include "scaler/price_table.hpp"

#include <charconv>
#include <cmath>

namespace spotfit::scaler {

namespace {

std::string label(const placement::Labels& labels, std::string_view key) {
  auto it = labels.find(key);
  return it == labels.end() ? std::string() : it->second;
}

}  // namespace

placement::CapacityType nodeCapacityType(const placement::Labels& labels) {
  if (label(labels, kLabelAzurePriority) == "spot") return placement::CapacityType::Spot;
  return placement::capacityTypeFromLabels(labels);
}

std::optional<double> PriceTable::lookup(const std::string& type, placement::CapacityType ct,
                                         const std::string& zone) const {
  int best = -1;
  double price = 0;
  for (const auto& e : entries_) {
    if (e.instanceType != type) continue;
    if (e.capacityType && *e.capacityType != ct) continue;
    if (!e.zone.empty() && e.zone != zone) continue;
    const int score = (e.capacityType ? 2 : 0) + (e.zone.empty() ? 0 : 1);
    if (score > best) {
      best = score;
      price = e.usdPerHour;
    }
  }
  if (best < 0) return std::nullopt;
  return price;
}

std::optional<NodePrice> PriceTable::priceOf(const placement::Labels& labels) const {
  const std::string type = label(labels, placement::kLabelInstanceType), zone = label(labels, kLabelTopologyZone);
  const placement::CapacityType ct = nodeCapacityType(labels);
  const auto onDemand = type.empty() ? std::nullopt : lookup(type, placement::CapacityType::OnDemand, zone);
  const std::string explicitPrice = label(labels, kLabelInstancePrice);
  double v = 0;
  if (!explicitPrice.empty()) {
    auto [p, ec] = std::from_chars(explicitPrice.data(), explicitPrice.data() + explicitPrice.size(), v);
    if (ec == std::errc() && p == explicitPrice.data() + explicitPrice.size() && std::isfinite(v) && v > 0) {
      return NodePrice{v, onDemand.value_or(v)};
    }
  }
  if (type.empty()) return std::nullopt;
  const auto price = lookup(type, ct, zone);
  if (!price || *price <= 0) return std::nullopt;
  return NodePrice{*price, onDemand && *onDemand > 0 ? *onDemand : *price};
}

}  // namespace spotfit::scaler

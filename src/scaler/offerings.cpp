#include "scaler/offerings.hpp"

namespace spotfit::scaler {

void UnavailableOfferings::mark(const OfferingKey& key, TimePoint now, std::string reason) {
  markUntil(key, now + ttl_, std::move(reason));
}

void UnavailableOfferings::markUntil(const OfferingKey& key, TimePoint until, std::string reason) {
  auto& e = entries_[key];
  if (e.first < until) e = {until, std::move(reason)};
}

bool UnavailableOfferings::unavailable(const OfferingKey& key, TimePoint now) const {
  for (const auto& [k, v] : entries_) {
    if (v.first <= now) continue;
    if (k.pool != key.pool || k.capacityType != key.capacityType) continue;
    if (!k.instanceType.empty() && k.instanceType != key.instanceType) continue;
    if (!k.zone.empty() && k.zone != key.zone) continue;
    return true;
  }
  return false;
}

size_t UnavailableOfferings::expire(TimePoint now) {
  std::erase_if(entries_, [&](const auto& kv) { return kv.second.first <= now; });
  return entries_.size();
}

std::vector<UnavailableOfferings::Entry> UnavailableOfferings::active(TimePoint now) const {
  std::vector<Entry> out;
  for (const auto& [k, v] : entries_) {
    if (v.first > now) out.push_back({k, v.first, v.second});
  }
  return out;
}

}  // namespace spotfit::scaler

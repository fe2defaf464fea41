#pragma once
// Offerings (pool, instance type, capacity type, zone) that recently failed: insufficient capacity, quota,
// or a node that never became Ready. They are skipped for a TTL (3 minutes, as Karpenter does) so the next
// plan falls back at once to another spot type or to on-demand instead of waiting out a long timeout.
// An empty instance type or zone matches every instance type / zone of the pool (quota is pool-wide).

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "scaler/duration.hpp"
#include "scaler/provider.hpp"

namespace spotfit::scaler {

struct OfferingKey {
  std::string pool, instanceType;
  CapacityType capacityType = CapacityType::OnDemand;
  std::string zone;
  auto operator<=>(const OfferingKey&) const = default;
};

class UnavailableOfferings {
 public:
  explicit UnavailableOfferings(Duration ttl) : ttl_(ttl) {}

  void mark(const OfferingKey& key, TimePoint now, std::string reason);
  void markUntil(const OfferingKey& key, TimePoint until, std::string reason);
  bool unavailable(const OfferingKey& key, TimePoint now) const;
  // Drops expired entries; returns how many remain.
  size_t expire(TimePoint now);

  struct Entry {
    OfferingKey key;
    TimePoint until;
    std::string reason;
  };
  std::vector<Entry> active(TimePoint now) const;

 private:
  Duration ttl_;
  std::map<OfferingKey, std::pair<TimePoint, std::string>> entries_;
};

}  // namespace spotfit::scaler

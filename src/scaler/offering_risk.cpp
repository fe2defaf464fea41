#include "scaler/offering_risk.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "placement/move_payoff.hpp"

namespace spotfit::scaler {

namespace {

double hours(Duration d) {
  return std::chrono::duration<double, std::ratio<3600>>(d).count();
}

}  // namespace

OfferingRisk::Entry OfferingRisk::decayed(const Entry& e, TimePoint now) {
  if (now <= e.at) return e;
  const double f = std::exp2(-hours(std::chrono::duration_cast<Duration>(now - e.at)) / hours(kHalfLife));
  return {e.interruptions * f, e.exposureHours * f, now};
}

OfferingRisk::Entry& OfferingRisk::slot(const OfferingKey& key, TimePoint now) {
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    if (entries_.size() >= kMaxOfferings) {  // forget the offering with the least history
      auto least = entries_.begin();
      double leastWeight = std::numeric_limits<double>::infinity();
      for (auto e = entries_.begin(); e != entries_.end(); ++e) {
        const Entry d = decayed(e->second, now);
        const double w = d.exposureHours + d.interruptions;
        if (w < leastWeight) {
          leastWeight = w;
          least = e;
        }
      }
      entries_.erase(least);
    }
    it = entries_.emplace(key, Entry{0, 0, now}).first;
  }
  it->second = decayed(it->second, now);
  return it->second;
}

void OfferingRisk::observe(const std::vector<OfferingKey>& spotNodes, TimePoint now) {
  if (lastObserved_ == TimePoint{} || now <= lastObserved_) {
    if (now > lastObserved_) lastObserved_ = now;
    if (recordedAt_ == TimePoint{}) recordedAt_ = now;
    return;
  }
  const Duration gap = std::min(std::chrono::duration_cast<Duration>(now - lastObserved_), kMaxObservationGap);
  lastObserved_ = now;
  for (const auto& key : spotNodes) slot(key, now).exposureHours += hours(gap);
  if (now - recordedAt_ >= kRecordEvery) refreshRecords(now);
}

void OfferingRisk::recordInterruption(const OfferingKey& key, TimePoint now) {
  slot(key, now).interruptions += 1;
  refreshRecords(now);
}

placement::RiskHistory OfferingRisk::history(const std::string& pool, const std::string& instanceType,
                                             TimePoint now) const {
  placement::RiskHistory h;
  for (auto it = entries_.lower_bound(OfferingKey{pool, instanceType, CapacityType::Spot, ""});
       it != entries_.end() && it->first.pool == pool && it->first.instanceType == instanceType &&
       it->first.capacityType == CapacityType::Spot;
       ++it) {
    const Entry d = decayed(it->second, now);
    h.interruptions += d.interruptions;
    h.exposureHours += d.exposureHours;
  }
  return h;
}

std::map<std::string, double> OfferingRisk::spotRates(const NodePool& pool, TimePoint now) const {
  std::map<std::string, double> out;
  const placement::RiskPrior prior{pool.spotRisk.priorInterruptionsPerHour, hours(pool.spotRisk.priorWeight)};
  for (const auto& t : pool.instanceTypes) {
    if (!t.offers(CapacityType::Spot)) continue;
    out[t.name] = placement::estimatedRate(history(pool.name, t.name, now), prior);
  }
  return out;
}

void OfferingRisk::refreshRecords(TimePoint now) {
  recordedAt_ = now;
  records_.clear();
  for (const auto& [key, e] : entries_) {
    const Entry d = decayed(e, now);
    if (d.exposureHours < 1e-6 && d.interruptions < 1e-6) continue;  // decayed to nothing
    records_.push_back({key, d.interruptions, d.exposureHours, d.at});
  }
}

void OfferingRisk::restore(const OfferingRiskRecord& record, TimePoint now) {
  if (!(record.interruptions >= 0) || !(record.exposureHours >= 0) || !std::isfinite(record.interruptions) ||
      !std::isfinite(record.exposureHours)) {
    return;
  }
  // The stored history replaces what this process learnt of the offering only when it has more.
  const Entry stored = decayed({record.interruptions, record.exposureHours, std::min(record.at, now)}, now);
  Entry& e = slot(record.key, now);
  if (stored.exposureHours + stored.interruptions > e.exposureHours + e.interruptions) e = stored;
  refreshRecords(now);
}

std::optional<placement::SpotRiskInput> spotRiskInput(const std::vector<placement::PodInfo>& pods,
                                                      const std::vector<PlannerPool>& pools, const OfferingRisk& risk,
                                                      const JobHistory& history, TimePoint now) {
  placement::SpotRiskInput in;
  bool any = false;
  for (const auto& pp : pools) {
    if (!pp.pool || !pp.pool->spotRisk.enabled) continue;
    const SpotRiskSettings& s = pp.pool->spotRisk;
    if (!any) {
      in.defaultRuntimeHours = hours(s.defaultRuntime);
      in.resumableLostWork = s.resumableLostWork;
      in.maxSpreadPremium = s.maxSpreadPremium;
    }
    any = true;
    in.maxOfferingShare = std::min(in.maxOfferingShare, s.maxOfferingShare);
    for (const auto& [type, rate] : risk.spotRates(*pp.pool, now)) in.spotRates[{pp.pool->name, type}] = rate;
  }
  if (!any) return std::nullopt;
  in.runtimeHours.reserve(pods.size());
  for (const auto& p : pods) {
    std::optional<double> s = placement::annotatedExpectedSeconds(p);
    if (!s) s = history.expectedSeconds(p, 0);
    in.runtimeHours.push_back(s ? *s / 3600 : 0);
  }
  return in;
}

}  // namespace spotfit::scaler

namespace spotfit::scaler {

std::vector<OfferingKey> spotOfferings(const ClusterSnapshot& snapshot) {
  std::vector<OfferingKey> out;
  for (const auto& n : snapshot.nodes) {
    if (!n.ready || n.deleting || n.info.pool.empty() || n.info.capacityType != CapacityType::Spot) continue;
    out.push_back(offeringOf(n.info));
  }
  return out;
}

OfferingKey offeringOf(const placement::NodeInfo& node) {
  auto zone = node.labels.find(kLabelZone);
  return {node.pool, node.instanceType, node.capacityType, zone == node.labels.end() ? "" : zone->second};
}

}  // namespace spotfit::scaler

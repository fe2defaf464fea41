#pragma once
// The interruption rate of each spot offering (pool × instance type × capacity type × zone), learnt from
// the scaler's own history: node-hours each offering ran (exposure, accrued every reconcile) and the
// interruption notices its nodes got. Both decay with a half-life of kHalfLife, so the rate follows a
// market that changes, and both are persisted with the scaler's memory (scaler_state.hpp). Bounded: at
// most kMaxOfferings offerings; past that the one with the least (decayed) history is forgotten.
//
// The planner reads the rate of (pool, instance type), summed over zones, shrunk toward the pool's prior
// (spotRisk.priorInterruptionsPerHour worth spotRisk.priorWeight node-hours; placement::estimatedRate).

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "placement/spot_risk.hpp"
#include "scaler/checkpoint_moves.hpp"
#include "scaler/duration.hpp"
#include "scaler/nodepool.hpp"
#include "scaler/offerings.hpp"
#include "scaler/planner.hpp"

namespace spotfit::scaler {

// One offering's history as persisted: decayed to `at`.
struct OfferingRiskRecord {
  OfferingKey key;
  double interruptions = 0;
  double exposureHours = 0;
  TimePoint at{};
};

class OfferingRisk {
 public:
  static constexpr size_t kMaxOfferings = 1024;
  static constexpr Duration kHalfLife = std::chrono::hours(24);
  // A gap between two observations longer than this (a pause, a failover) adds no exposure beyond it:
  // interruptions during it were not seen either.
  static constexpr Duration kMaxObservationGap = std::chrono::minutes(5);
  // records() is refreshed on each interruption and at most this often otherwise, so the scaler's memory
  // (saved whenever it changes) does not change on every pass as exposure grows.
  static constexpr Duration kRecordEvery = std::chrono::minutes(10);

  // Adds the node-hours since the previous call for each spot node listed (one entry per node).
  void observe(const std::vector<OfferingKey>& spotNodes, TimePoint now);
  void recordInterruption(const OfferingKey& key, TimePoint now);

  // Summed over the zones of (pool, instance type, spot), decayed to now.
  placement::RiskHistory history(const std::string& pool, const std::string& instanceType, TimePoint now) const;
  // Spot rate per instance type of the pool (placement::estimatedRate with the pool's prior).
  std::map<std::string, double> spotRates(const NodePool& pool, TimePoint now) const;
  size_t size() const { return entries_.size(); }

  // What to persist (as of the last refresh, see kRecordEvery).
  const std::vector<OfferingRiskRecord>& records() const { return records_; }
  void restore(const OfferingRiskRecord& record, TimePoint now);

 private:
  struct Entry {
    double interruptions = 0, exposureHours = 0;
    TimePoint at{};
  };
  Entry& slot(const OfferingKey& key, TimePoint now);  // decayed to now; may forget another offering
  static Entry decayed(const Entry& e, TimePoint now);
  void refreshRecords(TimePoint now);

  std::map<OfferingKey, Entry> entries_;
  TimePoint lastObserved_{};
  std::vector<OfferingRiskRecord> records_;
  TimePoint recordedAt_{};
};

// A node's offering (its zone from topology.kubernetes.io/zone), and those of the Ready spot pool nodes.
OfferingKey offeringOf(const placement::NodeInfo& node);
std::vector<OfferingKey> spotOfferings(const ClusterSnapshot& snapshot);

// The placement risk input of a plan: the pools' spot rates (when their spotRisk is enabled), each pod's
// expected runtime (spotfit.io/expected-duration, else its Job's history) and the pools' settings (the
// strictest cap and the first enabled pool's defaults).
// nullopt when no pool has spotRisk.enabled (the plan is then on price alone, as before).
std::optional<placement::SpotRiskInput> spotRiskInput(const std::vector<placement::PodInfo>& pods,
                                                      const std::vector<PlannerPool>& pools, const OfferingRisk& risk,
                                                      const JobHistory& history, TimePoint now);

}  // namespace spotfit::scaler

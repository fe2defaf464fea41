#pragma once
// What a Scaler has learnt that the cluster does not show, kept across a restart or a failover: offerings
// that recently failed (so a new leader does not retry a spot offering that just ran out) and the
// interruption history with each pool's on-demand cool-off (so a new leader neither leaves a cool-off early
// nor counts the same interruption twice), and each pool's last scale-up while it holds off scale-down.
// Stored next to the cost ledger (ConfigMap key
// "scaler-state.json"); times are wall-clock milliseconds since the epoch, like the ledger's.

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "scaler/duration.hpp"
#include "scaler/interruptions.hpp"
#include "scaler/offering_risk.hpp"
#include "scaler/offerings.hpp"

namespace spotfit::scaler {

struct ScalerMemory {
  std::vector<UnavailableOfferings::Entry> unavailable;
  std::vector<InterruptionRecord> interruptions;
  std::map<std::string, TimePoint> coolOffUntil;  // pool -> end of its on-demand cool-off
  std::map<std::string, TimePoint> lastScaleUp;   // pool -> its last scale-up, while in scale-down cool-down
  std::vector<OfferingRiskRecord> offeringRisk;   // each spot offering's interruption history (offering_risk.hpp)
  // Pre-warm leads (LaunchLeads): the latest launch->Ready durations per (pool, instance type), at most
  // kMaxStoredLeadKeys keys of kMaxStoredLeadSamples each (older ones are not stored; a key of more is refused).
  static constexpr size_t kMaxStoredLeadKeys = 64;
  static constexpr size_t kMaxStoredLeadSamples = 16;
  std::map<std::pair<std::string, std::string>, std::vector<Duration>> launchLeads;

  bool empty() const {
    return unavailable.empty() && interruptions.empty() && coolOffUntil.empty() && lastScaleUp.empty() &&
           offeringRisk.empty() && launchLeads.empty();
  }
  std::string toJson() const;
  // All or nothing: any malformed part rejects the whole document.
  static Result<ScalerMemory> fromJson(std::string_view json);
};

}  // namespace spotfit::scaler

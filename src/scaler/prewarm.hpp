#pragma once
// Pre-warmed capacity for CronJobs (docs/scaler.md "Pre-warmed capacity"). For a CronJob that opts in with
// `spotfit.io/prewarm`, the scaler plans the next run's pods (the jobTemplate's pod × parallelism) through
// the same placement solver as scale-up and creates the missing nodes `lead` before the fire time, where
// lead is the pool's observed launch→Ready p95 for that instance type (LaunchLeads). A pre-warmed node is
// held (not consolidated) until a pod lands on it ("used") or until the grace period after the fire time
// runs out ("expired": it is drained and removed). While it waits idle its whole price is charged to the
// CronJob as its own ledger line, workflow "<cronjob> (prewarm)".
//
// This file is the bookkeeping, free of I/O; Scaler::prewarm (scaler_prewarm.cpp) does the planning and
// node creation through the scaler's ports.

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/tz.hpp"
#include "base/vocabulary.hpp"
#include "placement/cron.hpp"
#include "placement/model.hpp"
#include "scaler/duration.hpp"
#include "scaler/ledger.hpp"

namespace spotfit::scaler {

using vocab::kAnnotationPrewarm;
inline constexpr std::string_view kPrewarmLedgerSuffix = " (prewarm)";

// A CronJob as the scaler needs it (the serve wiring fills it from a CronJob informer).
struct CronJobInfo {
  std::string namespace_, name, uid;
  std::string schedule;                            // .spec.schedule
  std::string timeZone;                            // .spec.timeZone ("" = UTC here)
  bool suspend = false;                            // .spec.suspend
  std::optional<int64_t> startingDeadlineSeconds;  // .spec.startingDeadlineSeconds
  std::optional<std::string> prewarm;              // the spotfit.io/prewarm annotation, if set
  int64_t pods = 1;                                // pods of one run: jobTemplate parallelism (≤ completions)
  placement::PodInfo podTemplate;                  // jobTemplate.spec.template as a pod
  std::string key() const { return namespace_ + "/" + name; }
};

struct PrewarmConfig {
  Duration defaultLead = std::chrono::seconds(90);  // before any launch of the pool/type was observed
  Duration grace = std::chrono::minutes(3);         // unused pre-warmed nodes go this long after the fire time
  int64_t maxPodsPerRun = 200;                      // larger runs are pre-warmed up to this many pods
  size_t maxCronJobs = 500;                         // CronJobs tracked at once (client input: bounded)
};

// spotfit.io/prewarm: absent or "off": no; "auto": lead learned per pool and instance type; a Go duration
// ("2m", "90s"): that fixed lead. Anything else is an error ("invalid") and means off.
struct PrewarmSetting {
  bool enabled = false;
  std::optional<Duration> fixedLead;
};
Result<PrewarmSetting> parsePrewarm(const std::optional<std::string>& annotation);

// Launch→Ready durations the scaler observed, per (pool, instance type): the last kSamples of each, for
// at most kMaxKeys keys (the least recently updated is forgotten first).
class LaunchLeads {
 public:
  static constexpr size_t kSamples = 64;
  static constexpr size_t kMaxKeys = 256;
  void observe(const std::string& pool, const std::string& instanceType, Duration launchToReady);
  // p95 (nearest rank) of the observations, or nullopt when none.
  std::optional<Duration> p95(const std::string& pool, const std::string& instanceType) const;
  size_t keys() const { return samples_.size(); }
  // For the scaler's stored memory (scaler_state.hpp): the last `maxSamples` of the `maxKeys` most recently
  // updated keys, oldest sample first; restore() puts them back as if observed in that order.
  std::map<std::pair<std::string, std::string>, std::vector<Duration>> latest(size_t maxKeys, size_t maxSamples) const;
  void restore(const std::pair<std::string, std::string>& key, const std::vector<Duration>& samples);

 private:
  std::map<std::pair<std::string, std::string>, std::deque<Duration>> samples_;
  std::map<std::pair<std::string, std::string>, uint64_t> touched_;
  uint64_t tick_ = 0;
};

// One node created ahead of a run.
struct PrewarmedNode {
  std::string node, pool, instanceType;
  placement::CapacityType capacityType = placement::CapacityType::OnDemand;
  WorkflowKey cronJob;  // namespace, CronJob name
  TimePoint fire{};     // the fire time it was created for
  TimePoint expires{};  // fire + grace (or the run's starting deadline, when sooner)
  TimePoint created{};
};

// A run whose capacity is due: plan these pods now.
struct PrewarmDue {
  const CronJobInfo* cronJob = nullptr;
  TimePoint fire{};
  std::optional<Duration> fixedLead;
  std::vector<placement::PodInfo> pods;  // synthetic pods of the run ("prewarm-<cronjob>-<i>")
};

class Prewarmer {
 public:
  explicit Prewarmer(PrewarmConfig config = {}) : config_(config) {}
  void setConfig(const PrewarmConfig& c) { config_ = c; }
  const PrewarmConfig& config() const { return config_; }
  LaunchLeads& leads() { return leads_; }
  const LaunchLeads& leads() const { return leads_; }

  // The lead for a node of `pool`/`instanceType`: a fixed one from the annotation, else the learned p95,
  // else the configured default.
  Duration lead(const std::string& pool, const std::string& instanceType, std::optional<Duration> fixed) const;

  // The runs to plan at `now`: opted-in, not suspended CronJobs whose next fire time is within `maxLead`
  // (the longest lead of any pool/type), with their pods. `warnings` gets (cronjob key, message) for bad
  // annotations, schedules and time zones, each reported once per distinct message.
  std::vector<PrewarmDue> due(const std::vector<CronJobInfo>& cronJobs, TimePoint now, Duration maxLead,
                              std::vector<std::pair<const CronJobInfo*, std::string>>& warnings);

  void add(PrewarmedNode n) { nodes_[n.node] = std::move(n); }
  bool holds(const std::string& node) const { return nodes_.count(node) > 0; }
  const std::map<std::string, PrewarmedNode>& nodes() const { return nodes_; }
  // The node got a pod (used) or is going away: forget it.
  void release(const std::string& node) { nodes_.erase(node); }

 private:
  PrewarmConfig config_;
  LaunchLeads leads_;
  std::map<std::string, PrewarmedNode> nodes_;
  std::map<std::string, std::string> warned_;  // cronjob key -> last warning (bounded by maxCronJobs)
  base::TimeZoneCache zones_;                  // CronJobs' .spec.timeZone (zone files read once, bounded)
};

}  // namespace spotfit::scaler

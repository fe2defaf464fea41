#pragma once
// The cost ledger: what each workflow and namespace has spent. A running pod accrues its cost rate
// (requests × the per-resource rates of its node's price, from the placement cost model) from binding to
// termination. The ledger is a value that serializes to JSON; the scaler stores it through a LedgerStore
// (a ConfigMap in spotfit's namespace) so a restart or failover resumes the integration where it stopped.

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "scaler/duration.hpp"

namespace spotfit::scaler {

struct WorkflowKey {
  std::string namespaceName, workflow;
  auto operator<=>(const WorkflowKey&) const = default;
};

struct RunningPod {
  std::string uid;  // empty for a pod read back from a stored ledger and not seen live yet (see fingerprint)
  WorkflowKey workflow;
  double ratePerHour = 0;          // what it costs on its node
  double onDemandRatePerHour = 0;  // what it would cost on on-demand capacity (spot savings)
  TimePoint accruedTo{};           // integrated up to here
  std::string label;               // the pod's value of the ledger's label key (e.g. team), empty when unset
};

// What keeps the ledger bounded (it is one ConfigMap, which the API server caps at 1 MiB). Every map keyed
// by names from the cluster is capped here; see docs/scaler.md "Cost ledger" for the sizes these give.
struct LedgerLimits {
  // Daily windows (UTC days) are kept this long; a workflow with no running pod keeps its own total this
  // long after its last running pod, then only the daily windows (per namespace and owner) remember it.
  std::chrono::hours retention{24 * 31};
  size_t maxClosedWorkflows = 500;  // per-workflow totals of workflows with no running pod, newest kept
  size_t maxOwnersPerDay = 250;     // (namespace, owner) rows per day; the rest go to (namespace, "(other)")
  size_t maxNamespaces = 1000;      // namespaces with their own figures; the rest go to "(other)"
};

inline constexpr const char* kLedgerOther = "(other)";
inline constexpr const char* kLedgerNoLabel = "(none)";  // pods without the ledger's label

// The owner a workflow's cost rolls up to in the daily windows: the CronJob for a Job a CronJob created
// (named `<cronjob>-<scheduled time in minutes>`, 8 or more digits), else the workflow itself.
std::string ownerOfWorkflow(std::string_view workflow);

// One day's spend: per namespace, per (namespace, owner), and per value of the ledger's label key.
struct LedgerDay {
  std::map<std::string, double> namespaces;
  std::map<std::pair<std::string, std::string>, double> owners;
  std::map<std::string, double> labels;  // at most maxOwnersPerDay values, the rest under "(other)"
};

// 48 bits of FNV-1a 64 of a pod uid, as 8 base64url characters: how the stored ledger names running
// pods (20,000 uids would be 740 KB; their fingerprints are 160 KB). A collision (odds ~1e-6 at 20,000
// pods) could only let one pod inherit the other's accrual point after a failover.
std::string podFingerprint(std::string_view uid);

// One workflow's spend as the ledger records it (for metrics and reports).
struct WorkflowCost {
  WorkflowKey workflow;
  double usd = 0;
  TimePoint lastActive{};  // the last time a pod of it was charged (now for running workflows)
  bool running = false;
};

class CostLedger {
 public:
  CostLedger() = default;
  explicit CostLedger(LedgerLimits limits) : limits_(limits) {}
  void setLimits(const LedgerLimits& limits) { limits_ = limits; }
  const LedgerLimits& limits() const { return limits_; }
  // The pod label whose values the daily windows also sum by (scaler.ledgerLabel, e.g. "team"); stored
  // with the ledger so readers know it. Empty: none.
  void setLabelKey(std::string key) { labelKey_ = std::move(key); }
  const std::string& labelKey() const { return labelKey_; }

  // A pod is running at `rate`. First sight starts accrual at `boundAt` (when it was bound, so a pod seen
  // late is still charged from the start); later calls only update the rate from `now` on. A pod the
  // stored ledger was already charging (matched by fingerprint) continues from where that one stopped.
  // `label` is the pod's value of labelKey() (empty when the pod has none).
  void podRunning(const std::string& uid, const WorkflowKey& wf, double ratePerHour, double onDemandRatePerHour,
                  TimePoint boundAt, TimePoint now, std::string_view label = {});
  // The pod stopped (terminated, deleted) at `at`: charge up to then and close it. Unknown uids are ignored.
  void podStopped(const std::string& uid, TimePoint at);
  // Closes every open pod not in `live` at `now` (pods that vanished while we were not watching, and
  // pods of a stored ledger that the cluster no longer runs).
  void retainOnly(const std::set<std::string>& live, TimePoint now);
  // Folds open intervals into the totals up to `now`, then drops what retention and the limits expire.
  void accrue(TimePoint now);

  double workflowSpend(const WorkflowKey& wf, TimePoint now) const;
  // The workflow's spend when the ledger records it (closed cost or a running pod), else nullopt: what
  // every role's budget rule (placement/budget.hpp) reads, through LedgerSpend outside the scaler.
  std::optional<double> recordedSpend(const WorkflowKey& wf, TimePoint now) const;
  double namespaceSpend(const std::string& ns, TimePoint now) const;
  double spotSavings(TimePoint now) const;
  double costPerHour() const;  // sum of running pods' rates
  std::map<WorkflowKey, double> workflows(TimePoint now) const;
  size_t runningPods() const { return open_.size(); }
  // Workflows with at least one running pod.
  std::set<WorkflowKey> runningWorkflows() const;
  // Every workflow the ledger records, with its spend up to `now`.
  std::vector<WorkflowCost> workflowCosts(TimePoint now) const;
  // Spend per namespace since the ledger started (namespaces past maxNamespaces under "(other)").
  std::map<std::string, double> namespaces(TimePoint now) const;
  // Spend per (namespace, owner) in the daily windows from the UTC day of `since` on, running pods included
  // up to `now`.
  std::map<std::pair<std::string, std::string>, double> owners(TimePoint since, TimePoint now) const;
  // The daily windows, oldest first, keyed by the UTC day's start (accrued up to the last accrue()).
  const std::map<TimePoint, LedgerDay>& days() const { return days_; }

  std::string toJson() const;
  // Reads version 2 (this one) and version 1 (every pod by uid, no daily windows).
  static Result<CostLedger> fromJson(std::string_view json, LedgerLimits limits = {});

 private:
  struct WorkflowTotal {
    double usd = 0;
    TimePoint lastActive{};  // the last time a pod of it was charged
  };
  static double hours(TimePoint from, TimePoint to);
  void charge(const RunningPod& p, TimePoint from, TimePoint to);
  void expire(TimePoint now);
  std::string boundedNamespace(const std::string& ns, const std::map<std::string, double>& in) const;
  std::map<std::string, RunningPod>::iterator findOpen(const std::string& uid);

  LedgerLimits limits_;
  std::string labelKey_;
  std::map<WorkflowKey, WorkflowTotal> workflows_;
  std::map<std::string, double> closedNamespace_;
  double closedSavings_ = 0;
  std::map<TimePoint, LedgerDay> days_;
  // Keyed by pod uid, or by "#" + fingerprint for pods read back from the store and not seen live yet.
  std::map<std::string, RunningPod> open_;
};

// Where the ledger lives durably, and next to it the scaler's memory (scaler_state.hpp). The production
// store is a ConfigMap written through KubeClient; the ledger stays readable on its own (the webhook and
// the extender read only the ledger, and a store written before the scaler's memory existed has none).
class LedgerStore {
 public:
  virtual ~LedgerStore() = default;
  virtual Result<std::optional<std::string>> load() = 0;  // nullopt: nothing stored yet
  virtual Status save(const std::string& json) = 0;
  virtual Result<std::optional<std::string>> loadScalerState() = 0;  // nullopt: nothing stored yet
  // The ledger and the scaler's memory in one write.
  virtual Status saveWithScalerState(const std::string& ledgerJson, const std::string& stateJson) = 0;
};

class InMemoryLedgerStore final : public LedgerStore {
 public:
  Result<std::optional<std::string>> load() override { return data_; }
  Status save(const std::string& json) override {
    data_ = json;
    ++saves_;
    return {};
  }
  Result<std::optional<std::string>> loadScalerState() override { return state_; }
  Status saveWithScalerState(const std::string& ledgerJson, const std::string& stateJson) override {
    data_ = ledgerJson;
    state_ = stateJson;
    ++saves_;
    return {};
  }
  int saves() const { return saves_; }

 private:
  std::optional<std::string> data_, state_;
  int saves_ = 0;
};

}  // namespace spotfit::scaler

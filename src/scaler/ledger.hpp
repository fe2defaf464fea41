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
  std::string uid;
  WorkflowKey workflow;
  double ratePerHour = 0;          // what it costs on its node
  double onDemandRatePerHour = 0;  // what it would cost on on-demand capacity (spot savings)
  TimePoint accruedTo{};           // integrated up to here
};

class CostLedger {
 public:
  // A pod is running at `rate`. First sight starts accrual at `boundAt` (when it was bound, so a pod seen
  // late is still charged from the start); later calls only update the rate from `now` on.
  void podRunning(const std::string& uid, const WorkflowKey& wf, double ratePerHour, double onDemandRatePerHour,
                  TimePoint boundAt, TimePoint now);
  // The pod stopped (terminated, deleted) at `at`: charge up to then and close it. Unknown uids are ignored.
  void podStopped(const std::string& uid, TimePoint at);
  // Closes every open pod not in `live` at `now` (pods that vanished while we were not watching).
  void retainOnly(const std::set<std::string>& live, TimePoint now);
  // Folds open intervals into the totals up to `now`.
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

  std::string toJson() const;
  static Result<CostLedger> fromJson(std::string_view json);

 private:
  static double hours(TimePoint from, TimePoint to);
  std::map<WorkflowKey, double> closedWorkflow_;
  std::map<std::string, double> closedNamespace_;
  double closedSavings_ = 0;
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

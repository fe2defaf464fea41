#pragma once
// The BudgetPolicy controller's logic (docs/budgets.md), run by the scaler's leader where the cost ledger
// lives: each policy's spend in its current window from the ledger's UTC days, the status to write
// (spentUSD, remainingUSD, windowStart, windowEnd, thresholdsReached, the Valid condition) and the Events
// to emit on each threshold crossing, once per window. Kubernetes-free: the caller applies the patches and
// records the Events.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "kube/budget_policy.hpp"
#include "placement/budget_policy.hpp"
#include "scaler/ledger.hpp"
#include "scaler/metrics.hpp"

namespace spotfit::scaler {

// A scope's spend per UTC day, as the ledger recorded it up to its last accrue(). A namespace, owner or
// label the ledger folded into "(other)" on a day (its caps, scaler.md "Cost ledger") is charged that
// day's "(other)" row as well: an over-estimate, never an under one.
std::map<TimePoint, double> scopeDailySpend(const CostLedger& ledger, const placement::SpendScope& scope);

struct BudgetPolicyFigures {
  placement::WindowSpan window;
  double spentUsd = 0;
  double remainingUsd = 0;
  size_t thresholdsReached = 0;  // of thresholdsWithLimit(policy)
};

// The policy's thresholds plus the limit itself (1.0) when it is not one: the limit is announced too.
std::vector<double> thresholdsWithLimit(const placement::BudgetPolicy& p);

BudgetPolicyFigures policyFigures(const CostLedger& ledger, const placement::BudgetPolicy& p, TimePoint now);

struct BudgetStatusPatch {
  std::string namespaceName, name;
  std::string body;  // a JSON merge patch for the status subresource
};
struct BudgetEvent {
  kube::BudgetPolicyObject const* object = nullptr;  // valid until the caller's policy set changes
  bool warning = false;
  std::string reason;  // BudgetThresholdReached | BudgetExceeded | InvalidBudgetPolicy
  std::string message;
};

class BudgetPolicyController {
 public:
  struct Output {
    std::vector<BudgetStatusPatch> patches;
    std::vector<BudgetEvent> events;
  };
  // One pass over every policy object. A patch is produced when the status to write differs from the
  // last one written for that object (spend rounded to cents), so a steady policy costs no API calls.
  // Keys no longer present are forgotten (the controller's maps are bounded by the policy set).
  Output tick(const std::vector<const kube::BudgetPolicyObject*>& objects, const CostLedger& ledger, TimePoint now);
  // The spend and limit of every valid policy of the last tick, as the gauges kBudgetPolicySpent and
  // kBudgetPolicyLimit {namespace, policy} (at most as many series as policies in the set).
  void publish(ScalerMetrics& m) const;
  // The patch for "namespace/name" failed: the next tick writes the status again.
  void patchFailed(const std::string& key);

 private:
  struct Seen {
    std::string lastBody;
    TimePoint announcedWindow{};
    size_t announced = 0;
    bool seeded = false;
    std::optional<bool> valid;
    TimePoint validSince{};
    std::optional<std::pair<double, double>> figures;  // spent, limit (valid policies)
    std::string namespaceName, name;
  };
  std::map<std::string, Seen> seen_;
};

}  // namespace spotfit::scaler

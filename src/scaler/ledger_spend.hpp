#pragma once
// The one spend source for budgets outside the scaler: a snapshot of the scaler's cost ledger (the
// LedgerStore the leader saves, a ConfigMap in production) that answers CostLedger::recordedSpend at the
// clock's wall time. The scaler reads its live ledger through the same function, so the webhook, the
// extender and the scaler give one figure for a workflow at one moment (running pods keep accruing
// between re-reads instead of freezing at the last read).

#include <optional>
#include <shared_mutex>
#include <string_view>

#include "kube/clock.hpp"
#include "placement/budget.hpp"
#include "placement/budget_policy.hpp"
#include "scaler/ledger.hpp"

namespace spotfit::scaler {

class LedgerSpend final : public placement::SpendSource {
 public:
  LedgerSpend(LedgerStore& store, const kube::Clock& clock) : store_(store), clock_(clock) {}

  // nullopt until the first successful refresh, and for workflows the ledger does not record.
  std::optional<double> spendUsd(std::string_view ns, std::string_view workflow) const override;

  // The spend of a BudgetPolicy's scope in its current window at the clock's wall time, from the snapshot's
  // daily windows (scaler/budget_controller.hpp policyFigures); nullopt until the first successful refresh.
  std::optional<double> policySpendUsd(const placement::BudgetPolicy& p) const;

  // One read of the store (nothing stored yet is an empty ledger). On failure the last snapshot stays.
  Status refresh();
  bool loaded() const;

 private:
  LedgerStore& store_;
  const kube::Clock& clock_;
  mutable std::shared_mutex mu_;
  std::optional<CostLedger> ledger_;
};

}  // namespace spotfit::scaler

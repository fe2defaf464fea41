#include "scaler/ledger_spend.hpp"

#include <mutex>
#include <string>

#include "scaler/budget_controller.hpp"

namespace spotfit::scaler {

std::optional<double> LedgerSpend::spendUsd(std::string_view ns, std::string_view workflow) const {
  std::shared_lock lock(mu_);
  if (!ledger_) return std::nullopt;
  return ledger_->recordedSpend(WorkflowKey{std::string(ns), std::string(workflow)}, clock_.wallNow());
}

std::optional<double> LedgerSpend::policySpendUsd(const placement::BudgetPolicy& p) const {
  std::shared_lock lock(mu_);
  if (!ledger_) return std::nullopt;
  return policyFigures(*ledger_, p, clock_.wallNow()).spentUsd;
}

Status LedgerSpend::refresh() {
  auto text = store_.load();
  if (!text.ok()) return text.error();
  CostLedger ledger;
  if (*text) {
    auto parsed = CostLedger::fromJson(**text);
    if (!parsed.ok()) return parsed.error();
    ledger = std::move(*parsed);
  }
  std::unique_lock lock(mu_);
  ledger_ = std::move(ledger);
  return {};
}

bool LedgerSpend::loaded() const {
  std::shared_lock lock(mu_);
  return ledger_.has_value();
}

}  // namespace spotfit::scaler

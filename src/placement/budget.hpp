#pragma once
// The one definition of a workflow budget (spotfit.io/budget, spotfit.io/budget-action) that the webhook,
// the extender and the scaler all apply: how the annotations parse, when spend counts as over the budget,
// and what happens then. Pure (std only): the spend comes from the caller (SpendSource below).
//
//   spotfit.io/budget         USD: digits with an optional fraction, an optional leading '$'
//                             ("0", "40", "$40", "40.0", "99.50"), at most kMaxBudgetUsd; anything else
//                             ("1e3", "-1", "", " 40", ".5", "inf", ...) is invalid.
//   spotfit.io/budget-action  alert (default) | spot-only | deny
//   over budget               recorded spend >= budget (a workflow that has spent all of it has nothing
//                             left; a budget of 0 acts as soon as the ledger records the workflow).
//                             Unknown spend (workflow not in the ledger) is within budget.

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace spotfit::placement {

enum class BudgetAction { Alert, SpotOnly, Deny };

inline constexpr double kMaxBudgetUsd = 1e12;

struct BudgetRule {
  double limitUsd = 0;
  BudgetAction action = BudgetAction::Alert;
  friend bool operator==(const BudgetRule&, const BudgetRule&) = default;
};

enum class BudgetVerdict { Within, Alert, SpotOnly, Deny };

// "alert" | "spot-only" | "deny".
std::string_view budgetActionName(BudgetAction a);
// "within" | "alert" | "spot-only" | "deny".
std::string_view budgetVerdictName(BudgetVerdict v);

// The value of spotfit.io/budget in USD, nullopt when invalid (see the grammar above).
std::optional<double> parseBudgetUsd(std::string_view text);
std::optional<BudgetAction> parseBudgetAction(std::string_view text);

// The rule from the two annotations (nullopt = annotation absent): no rule without a budget; an invalid
// value is an "invalid" Error naming the annotation and its valid values (the webhook refuses the object
// with it; the extender and the scaler, which see objects the webhook already checked, ignore the rule).
Result<std::optional<BudgetRule>> parseBudgetRule(std::optional<std::string_view> budget,
                                                  std::optional<std::string_view> action);

bool overBudget(double spentUsd, double limitUsd);

// What the rule asks for given the workflow's spend so far (nullopt: unknown, so within).
BudgetVerdict decideBudget(const BudgetRule& rule, std::optional<double> spentUsd);

// "workflow nightly has spent $40.00 of its $40.00 budget": the one wording every role reports.
std::string budgetSummary(std::string_view workflow, double spentUsd, double limitUsd);

// What a workflow has spent so far in USD, nullopt when the ledger does not know it. The webhook, the
// extender and the scaler read spend through this one interface; the production source is the scaler's
// cost ledger (scaler/ledger_spend.hpp).
class SpendSource {
 public:
  virtual ~SpendSource() = default;
  virtual std::optional<double> spendUsd(std::string_view ns, std::string_view workflow) const = 0;
};

}  // namespace spotfit::placement

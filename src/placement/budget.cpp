#include "placement/budget.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace spotfit::placement {

std::string_view budgetActionName(BudgetAction a) {
  switch (a) {
    case BudgetAction::SpotOnly:
      return "spot-only";
    case BudgetAction::Deny:
      return "deny";
    case BudgetAction::Alert:
      break;
  }
  return "alert";
}

std::string_view budgetVerdictName(BudgetVerdict v) {
  switch (v) {
    case BudgetVerdict::Alert:
      return "alert";
    case BudgetVerdict::SpotOnly:
      return "spot-only";
    case BudgetVerdict::Deny:
      return "deny";
    case BudgetVerdict::Within:
      break;
  }
  return "within";
}

std::optional<double> parseBudgetUsd(std::string_view s) {
  if (!s.empty() && s.front() == '$') s.remove_prefix(1);
  // 13 integer digits, a point and 2+ fraction digits fit comfortably; longer text is not a budget.
  if (s.empty() || s.size() > 32) return std::nullopt;
  size_t i = 0;
  while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  if (i == 0) return std::nullopt;  // no integer part: "", ".5", "-1", "+1", "inf"
  if (i < s.size()) {
    if (s[i] != '.') return std::nullopt;  // "1e3", "40 ", "40USD"
    size_t j = i + 1;
    while (j < s.size() && s[j] >= '0' && s[j] <= '9') ++j;
    if (j == i + 1 || j != s.size()) return std::nullopt;  // "5.", "1.2.3"
  }
  const std::string copy(s);
  const double v = std::strtod(copy.c_str(), nullptr);
  if (!std::isfinite(v) || v > kMaxBudgetUsd) return std::nullopt;
  return v;
}

std::optional<BudgetAction> parseBudgetAction(std::string_view s) {
  if (s == "alert") return BudgetAction::Alert;
  if (s == "spot-only") return BudgetAction::SpotOnly;
  if (s == "deny") return BudgetAction::Deny;
  return std::nullopt;
}

Result<std::optional<BudgetRule>> parseBudgetRule(std::optional<std::string_view> budget,
                                                  std::optional<std::string_view> action) {
  BudgetRule rule;
  if (action) {
    auto a = parseBudgetAction(*action);
    if (!a) {
      return makeError("invalid", "annotation spotfit.io/budget-action=\"" + std::string(*action) +
                                      "\" is invalid: valid values are alert, spot-only, deny");
    }
    rule.action = *a;
  }
  if (!budget) return std::optional<BudgetRule>();
  auto usd = parseBudgetUsd(*budget);
  if (!usd) {
    return makeError("invalid", "annotation spotfit.io/budget=\"" + std::string(budget->substr(0, 64)) +
                                    "\" is invalid: valid values are a non-negative amount in USD such as 250, "
                                    "99.50 or $40 (at most 1e12)");
  }
  rule.limitUsd = *usd;
  return std::optional<BudgetRule>(rule);
}

bool overBudget(double spentUsd, double limitUsd) {
  return spentUsd >= limitUsd;
}

BudgetVerdict decideBudget(const BudgetRule& rule, std::optional<double> spentUsd) {
  if (!spentUsd || !overBudget(*spentUsd, rule.limitUsd)) return BudgetVerdict::Within;
  switch (rule.action) {
    case BudgetAction::SpotOnly:
      return BudgetVerdict::SpotOnly;
    case BudgetAction::Deny:
      return BudgetVerdict::Deny;
    case BudgetAction::Alert:
      break;
  }
  return BudgetVerdict::Alert;
}

std::string budgetSummary(std::string_view workflow, double spentUsd, double limitUsd) {
  char buf[96];
  std::snprintf(buf, sizeof buf, " has spent $%.2f of its $%.2f budget", spentUsd, limitUsd);
  return "workflow " + std::string(workflow) + buf;
}

}  // namespace spotfit::placement

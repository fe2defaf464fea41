#include "placement/budget.hpp"

#include <gtest/gtest.h>

#include <optional>
#include <string>

namespace spotfit::placement {
namespace {

// One row per edge value of spotfit.io/budget: what it parses to, and what a deny rule with that budget
// decides at a spend of $40 (exactly the "40" budget) and with no recorded spend.
struct BudgetRow {
  std::string text;
  std::optional<double> usd;  // nullopt: invalid
  BudgetVerdict atForty = BudgetVerdict::Within;
};

TEST(BudgetRule, EveryRoleSharesOneTableOfEdgeValues) {
  const std::string huge(400, '9');
  const BudgetRow rows[] = {
      {"0", 0.0, BudgetVerdict::Deny},
      {"40", 40.0, BudgetVerdict::Deny},  // spent == budget: nothing left
      {"$40", 40.0, BudgetVerdict::Deny},
      {"40.0", 40.0, BudgetVerdict::Deny},
      {"40.01", 40.01, BudgetVerdict::Within},
      {"99.50", 99.5, BudgetVerdict::Within},
      {"1e3", std::nullopt},
      {"-1", std::nullopt},
      {"", std::nullopt},
      {"$", std::nullopt},
      {huge, std::nullopt},
      {"1000000000000", 1e12, BudgetVerdict::Within},
      {"1000000000001", std::nullopt},
      {".5", std::nullopt},
      {"5.", std::nullopt},
      {"+40", std::nullopt},
      {" 40", std::nullopt},
      {"40 ", std::nullopt},
      {"40USD", std::nullopt},
      {"1.2.3", std::nullopt},
      {"inf", std::nullopt},
      {"nan", std::nullopt},
      {"0x10", std::nullopt},
      {"$$40", std::nullopt},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE("budget \"" + row.text.substr(0, 20) + "\"");
    EXPECT_EQ(parseBudgetUsd(row.text), row.usd);
    auto rule = parseBudgetRule(row.text, "deny");
    ASSERT_EQ(rule.ok(), row.usd.has_value());
    if (!rule.ok()) {
      EXPECT_EQ(rule.error().code, "invalid");
      EXPECT_NE(rule.error().message.find("spotfit.io/budget="), std::string::npos) << rule.error().message;
      EXPECT_LT(rule.error().message.size(), 200u) << "the value is quoted truncated";
      continue;
    }
    ASSERT_TRUE(rule->has_value());
    EXPECT_EQ((*rule)->action, BudgetAction::Deny);
    EXPECT_EQ(decideBudget(**rule, 40.0), row.atForty);
    EXPECT_EQ(decideBudget(**rule, std::nullopt), BudgetVerdict::Within) << "unknown spend is within budget";
  }
}

TEST(BudgetRule, OverMeansSpendHasReachedTheBudget) {
  EXPECT_FALSE(overBudget(39.99, 40));
  EXPECT_TRUE(overBudget(40, 40));
  EXPECT_TRUE(overBudget(40.01, 40));
  EXPECT_TRUE(overBudget(0, 0));
}

TEST(BudgetRule, ActionDefaultsToAlertAndEachActionHasItsVerdict) {
  auto rule = parseBudgetRule("10", std::nullopt);
  ASSERT_TRUE(rule.ok());
  EXPECT_EQ(**rule, (BudgetRule{10, BudgetAction::Alert}));
  EXPECT_EQ(decideBudget(**rule, 11), BudgetVerdict::Alert);
  EXPECT_EQ(decideBudget({10, BudgetAction::SpotOnly}, 11), BudgetVerdict::SpotOnly);
  EXPECT_EQ(decideBudget({10, BudgetAction::Deny}, 11), BudgetVerdict::Deny);
  EXPECT_EQ(decideBudget({10, BudgetAction::Deny}, 9), BudgetVerdict::Within);
}

TEST(BudgetRule, NoBudgetIsNoRuleButABadActionIsStillInvalid) {
  auto none = parseBudgetRule(std::nullopt, "spot-only");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto bad = parseBudgetRule("10", "refuse");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "annotation spotfit.io/budget-action=\"refuse\" is invalid: valid values are alert, spot-only, deny");
  EXPECT_FALSE(parseBudgetRule(std::nullopt, "").ok());
}

TEST(BudgetRule, SummaryIsTheOneWordingEveryRoleReports) {
  EXPECT_EQ(budgetSummary("nightly", 42.5, 40), "workflow nightly has spent $42.50 of its $40.00 budget");
  EXPECT_EQ(budgetVerdictName(BudgetVerdict::SpotOnly), "spot-only");
  EXPECT_EQ(budgetActionName(BudgetAction::Deny), "deny");
}

}  // namespace
}  // namespace spotfit::placement

// The BudgetPolicy controller's logic (scaler/budget_controller.hpp): a policy's spend from the ledger's
// UTC days, the status patch, threshold Events once per window, Valid=False for invalid policies.
#include "scaler/budget_controller.hpp"

#include <gtest/gtest.h>

#include <string>

#include "kube/json.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;

TimePoint at(const char* t) {
  return base::parseTime(t).valueOr(TimePoint{});
}

// team-a/nightly-28512345 (CronJob nightly, label team=ml) at $10/h from 30 June 20:00Z; team-b/adhoc
// (team=web) at $1/h from 1 July 00:00Z.
CostLedger ledgerAt(const char* now) {
  CostLedger l;
  l.setLabelKey("team");
  const TimePoint t = at(now);
  l.podRunning("a", {"team-a", "nightly-28512345"}, 10, 30, at("2024-06-30T20:00:00Z"), t, "ml");
  if (t > at("2024-07-01T00:00:00Z"))
    l.podRunning("b", {"team-b", "adhoc"}, 1, 1, at("2024-07-01T00:00:00Z"), t, "web");
  l.accrue(t);
  return l;
}

kube::BudgetPolicyObject object(const std::string& ns, const std::string& name, const std::string& spec,
                                const std::string& status = "") {
  const std::string text = R"({"metadata":{"name":")" + name + R"(","namespace":")" + ns +
                           R"(","uid":"u","generation":2},"spec":)" + spec +
                           (status.empty() ? "" : R"(,"status":)" + status) + "}";
  auto d = kube::json::parse(text);
  EXPECT_TRUE(d.ok()) << text;
  auto o = kube::decodeBudgetPolicy(*d, kube::BudgetPolicyContext{"spotfit-system", "team", base::kZoneinfoDir});
  EXPECT_TRUE(o.ok());
  return o.ok() ? *o : kube::BudgetPolicyObject{};
}

kube::json::Document body(const BudgetStatusPatch& p) {
  auto d = kube::json::parse(p.body);
  EXPECT_TRUE(d.ok()) << p.body;
  return d.ok() ? std::move(*d) : kube::json::Document();
}

TEST(BudgetScope, SumsTheLedgersDailyRows) {
  const CostLedger l = ledgerAt("2024-07-01T02:00:00Z");
  using Kind = placement::SpendScope::Kind;
  auto ns = scopeDailySpend(l, {Kind::Namespaces, {"team-a"}, "", {}});
  EXPECT_DOUBLE_EQ(ns[at("2024-06-30T00:00:00Z")], 40);
  EXPECT_DOUBLE_EQ(ns[at("2024-07-01T00:00:00Z")], 20);
  auto all = scopeDailySpend(l, {Kind::Namespaces, {}, "", {}});
  EXPECT_DOUBLE_EQ(all[at("2024-07-01T00:00:00Z")], 22);
  auto cron = scopeDailySpend(l, {Kind::Owner, {"team-a"}, "nightly", {}});
  EXPECT_DOUBLE_EQ(cron[at("2024-07-01T00:00:00Z")], 20);
  EXPECT_TRUE(scopeDailySpend(l, {Kind::Owner, {"team-b"}, "nightly", {}}).empty());
  auto web = scopeDailySpend(l, {Kind::Label, {}, "", {"web"}});
  EXPECT_DOUBLE_EQ(web[at("2024-07-01T00:00:00Z")], 2);
  EXPECT_EQ(web.size(), 1u);
}

TEST(BudgetScope, FoldedRowsCountAsTheirOtherRow) {
  LedgerLimits lim;
  lim.maxNamespaces = 1;
  CostLedger l(lim);
  const TimePoint t0 = at("2024-07-01T00:00:00Z"), t1 = at("2024-07-01T01:00:00Z");
  l.podRunning("a", {"first", "w"}, 1, 1, t0, t1);
  l.podRunning("b", {"second", "w"}, 5, 5, t0, t1);
  l.accrue(t1);
  auto second = scopeDailySpend(l, {placement::SpendScope::Kind::Namespaces, {"second"}, "", {}});
  EXPECT_DOUBLE_EQ(second[at("2024-07-01T00:00:00Z")], 5) << "second is under (other): charged (other)'s row";
}

TEST(BudgetFigures, WindowSpendRemainingAndThresholds) {
  const CostLedger l = ledgerAt("2024-07-01T02:00:00Z");
  auto utc = object("team-a", "m", R"({"window":"month","limitUSD":50,"thresholds":[0.2,0.5]})");
  ASSERT_TRUE(utc.valid()) << utc.invalid;
  auto f = policyFigures(l, utc.policy, at("2024-07-01T02:00:00Z"));
  EXPECT_EQ(f.window.start, at("2024-07-01T00:00:00Z"));
  EXPECT_DOUBLE_EQ(f.spentUsd, 20);
  EXPECT_DOUBLE_EQ(f.remainingUsd, 30);
  EXPECT_EQ(f.thresholdsReached, 1u);  // 20% (10), not 50% (25), not the limit
  EXPECT_EQ(thresholdsWithLimit(utc.policy), (std::vector<double>{0.2, 0.5, 1}));
  // New York's June runs to 1 July 04:00Z: its spend counts June 30 and the running 1 July.
  auto ny = object("team-a", "ny", R"({"window":"month","timeZone":"America/New_York","limitUSD":50})");
  f = policyFigures(l, ny.policy, at("2024-07-01T02:00:00Z"));
  EXPECT_EQ(f.window.start, at("2024-06-01T04:00:00Z"));
  EXPECT_DOUBLE_EQ(f.spentUsd, 60);
  EXPECT_DOUBLE_EQ(f.remainingUsd, 0);
  EXPECT_EQ(f.thresholdsReached, 1u);
}

TEST(BudgetController, PatchesOnChangeAndAnnouncesEachThresholdOncePerWindow) {
  BudgetPolicyController c;
  auto p = object("team-a", "monthly", R"({"window":"month","limitUSD":50,"thresholds":[0.5],"action":"suspend"})");
  const std::vector<const kube::BudgetPolicyObject*> objs = {&p};

  auto out = c.tick(objs, ledgerAt("2024-07-01T02:00:00Z"), at("2024-07-01T02:00:00Z"));
  ASSERT_EQ(out.patches.size(), 1u);
  EXPECT_TRUE(out.events.empty());
  auto b = body(out.patches[0]);
  EXPECT_EQ(out.patches[0].namespaceName, "team-a");
  EXPECT_DOUBLE_EQ(b["status"]["spentUSD"].GetDouble(), 20);
  EXPECT_DOUBLE_EQ(b["status"]["remainingUSD"].GetDouble(), 30);
  EXPECT_STREQ(b["status"]["windowEnd"].GetString(), "2024-08-01T00:00:00Z");
  EXPECT_EQ(b["status"]["thresholdsReached"].GetInt(), 0);
  EXPECT_STREQ(b["status"]["conditions"][0]["status"].GetString(), "True");
  EXPECT_EQ(b["status"]["observedGeneration"].GetInt(), 2);

  // Nothing changed: no patch, no Event.
  out = c.tick(objs, ledgerAt("2024-07-01T02:00:00Z"), at("2024-07-01T02:00:00Z"));
  EXPECT_TRUE(out.patches.empty());
  EXPECT_TRUE(out.events.empty());

  // 05:00: $50 in July, 50% and the limit at once, each announced.
  out = c.tick(objs, ledgerAt("2024-07-01T05:00:00Z"), at("2024-07-01T05:00:00Z"));
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[0].reason, "BudgetThresholdReached");
  EXPECT_FALSE(out.events[0].warning);
  EXPECT_EQ(out.events[0].message,
            "BudgetPolicy team-a/monthly: spend $50.00 reached 50% of its $50.00 month budget (window ends "
            "2024-08-01T00:00:00Z)");
  EXPECT_EQ(out.events[1].reason, "BudgetExceeded");
  EXPECT_TRUE(out.events[1].warning);
  EXPECT_NE(out.events[1].message.find("reached the limit"), std::string::npos);
  EXPECT_NE(out.events[1].message.find("; action suspend"), std::string::npos);
  EXPECT_EQ(body(out.patches.at(0))["status"]["thresholdsReached"].GetInt(), 2);
  ScalerMetrics m;
  c.publish(m);
  const MetricLabels labels{{"namespace", "team-a"}, {"policy", "monthly"}};
  EXPECT_DOUBLE_EQ(m.gauge(metric::kBudgetPolicySpent, labels), 50);
  EXPECT_DOUBLE_EQ(m.gauge(metric::kBudgetPolicyLimit, labels), 50);

  // Later in July: spend grows, status follows, no Event again.
  out = c.tick(objs, ledgerAt("2024-07-01T06:00:00Z"), at("2024-07-01T06:00:00Z"));
  EXPECT_TRUE(out.events.empty());
  EXPECT_EQ(out.patches.size(), 1u);

  // August: a new window, nothing spent in it yet; the count starts again.
  CostLedger aug;
  aug.podRunning("a", {"team-a", "x"}, 10, 10, at("2024-08-01T00:00:00Z"), at("2024-08-01T03:00:00Z"));
  aug.accrue(at("2024-08-01T03:00:00Z"));
  out = c.tick(objs, aug, at("2024-08-01T03:00:00Z"));
  ASSERT_EQ(out.events.size(), 1u) << "$30 reaches 50% of the new window";
  EXPECT_NE(out.events[0].message.find("window ends 2024-09-01T00:00:00Z"), std::string::npos);
  EXPECT_STREQ(body(out.patches.at(0))["status"]["windowStart"].GetString(), "2024-08-01T00:00:00Z");
}

TEST(BudgetController, ANewLeaderDoesNotAnnounceAgain) {
  BudgetPolicyController c;
  auto p = object("team-a", "monthly", R"({"window":"month","limitUSD":50,"thresholds":[0.5]})",
                  R"({"windowStart":"2024-07-01T00:00:00Z","thresholdsReached":2,
                     "conditions":[{"type":"Valid","status":"True","lastTransitionTime":"2024-06-01T00:00:00Z"}]})");
  auto out = c.tick({&p}, ledgerAt("2024-07-01T06:00:00Z"), at("2024-07-01T06:00:00Z"));
  EXPECT_TRUE(out.events.empty());
  ASSERT_EQ(out.patches.size(), 1u);
  EXPECT_STREQ(body(out.patches[0])["status"]["conditions"][0]["lastTransitionTime"].GetString(),
               "2024-06-01T00:00:00Z");
}

TEST(BudgetController, InvalidPoliciesGetValidFalseAndTheValidOnesStillCount) {
  BudgetPolicyController c;
  auto bad = object("team-a", "bad", R"({"window":"month","limitUSD":5,"thresholds":[0.9,0.1],"action":"deny"})");
  auto good = object("team-a", "good", R"({"window":"month","limitUSD":5,"action":"deny"})");
  ASSERT_FALSE(bad.valid());
  auto out = c.tick({&bad, &good}, ledgerAt("2024-07-01T02:00:00Z"), at("2024-07-01T02:00:00Z"));
  ASSERT_EQ(out.patches.size(), 2u);
  auto b = body(out.patches[0]);
  EXPECT_EQ(out.patches[0].name, "bad");
  EXPECT_STREQ(b["status"]["conditions"][0]["status"].GetString(), "False");
  EXPECT_STREQ(b["status"]["conditions"][0]["reason"].GetString(), "InvalidSpec");
  EXPECT_EQ(std::string(b["status"]["conditions"][0]["message"].GetString()).rfind("spec.thresholds[1]: ", 0), 0u);
  EXPECT_TRUE(b["status"]["spentUSD"].IsNull());
  ASSERT_EQ(out.events.size(), 2u);
  EXPECT_EQ(out.events[0].reason, "InvalidBudgetPolicy");
  EXPECT_EQ(out.events[1].reason, "BudgetExceeded");
  EXPECT_EQ(out.events[1].object, &good);
  ScalerMetrics m;
  c.publish(m);
  EXPECT_EQ(m.gauges().at(metric::kBudgetPolicySpent).size(), 1u) << "no series for the invalid policy";
  // Invalid stays invalid: announced once.
  out = c.tick({&bad, &good}, ledgerAt("2024-07-01T02:00:00Z"), at("2024-07-01T02:00:00Z"));
  EXPECT_TRUE(out.events.empty());
  EXPECT_TRUE(out.patches.empty());
}

}  // namespace
}  // namespace spotfit::scaler

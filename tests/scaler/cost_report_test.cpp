// Cost history: `spotfit cost` and the scaler's /cost build the same report from the ledger's daily
// windows, per namespace or per owner (CronJob), over a window of whole UTC days.

#include "scaler/cost_report.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include "kube/clock.hpp"
#include "kube/json.hpp"
#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;

struct History {
  kube::ManualClock clock;
  CostLedger ledger;
  TimePoint today;
  History() {
    today = TimePoint{} + std::chrono::floor<std::chrono::days>(clock.wallNow().time_since_epoch());
    // Ten days of a nightly CronJob (1 USD a night), a one-off workflow 3 days ago, and a running pod.
    for (int d = 9; d >= 0; --d) {
      const TimePoint start = today - std::chrono::days(d) + 1h;
      const std::string uid = "n" + std::to_string(d);
      ledger.podRunning(uid, {"data", "nightly-" + std::to_string(29400000 + d)}, 1.0, 1.0, start, start);
      ledger.podStopped(uid, start + 1h);
    }
    const TimePoint adhoc = today - std::chrono::days(3) + 5h;
    ledger.podRunning("a", {"ml", "train-x"}, 4.0, 4.0, adhoc, adhoc);
    ledger.podStopped("a", adhoc + 30min);
    ledger.podRunning("r", {"ml", "serve-y"}, 2.0, 2.0, today + 2h, today + 2h);
  }
};

TEST(CostReport, PerNamespaceAndPerCronJobOverTheWindow) {
  History h;
  const TimePoint now = h.today + 5h;  // the running pod has run 3 h today
  auto r = *buildCostReport(h.ledger, now, 7, {CostGrouping::Namespace, ""});
  ASSERT_EQ(r.days.size(), 7u);
  ASSERT_EQ(r.rows.size(), 2u);
  EXPECT_EQ(r.rows[0].namespaceName, "ml");  // 2 + 6 USD beats 7, most expensive first
  EXPECT_NEAR(r.rows[0].totalUsd, 2.0 + 6.0, 1e-9);
  EXPECT_NEAR(r.rows[0].days.at(r.days.back()), 6.0, 1e-9) << "running pods count up to now";
  EXPECT_EQ(r.rows[1].namespaceName, "data");
  EXPECT_NEAR(r.rows[1].totalUsd, 7.0, 1e-9);
  EXPECT_NEAR(r.totalUsd, 15.0, 1e-9);

  auto owners = *buildCostReport(h.ledger, now, 30, {CostGrouping::Owner, ""});
  ASSERT_EQ(owners.days.size(), 30u);
  ASSERT_EQ(owners.rows.size(), 3u);
  EXPECT_EQ(owners.rows[0].owner, "nightly") << "ten CronJob runs are one row";
  EXPECT_NEAR(owners.rows[0].totalUsd, 10.0, 1e-9);
  EXPECT_EQ(owners.rows[0].days.size(), 10u);
  EXPECT_EQ(owners.rows[1].owner, "serve-y");
  EXPECT_EQ(owners.rows[2].owner, "train-x");

  auto one = *buildCostReport(h.ledger, now, 1, {CostGrouping::Owner, ""});
  ASSERT_EQ(one.days.size(), 1u);
  EXPECT_NEAR(one.totalUsd, 1.0 + 6.0, 1e-9);
}

TEST(CostReport, JsonCsvAndTableCarryTheSameFigures) {
  History h;
  const TimePoint now = h.today + 5h;
  auto r = *buildCostReport(h.ledger, now, 7, {CostGrouping::Owner, ""});
  spotfit::kube::json::Document d;
  const std::string json = costReportJson(r);
  d.Parse(json.c_str());
  ASSERT_FALSE(d.HasParseError()) << json;
  EXPECT_STREQ(d["by"].GetString(), "owner");
  EXPECT_EQ(d["days"].Size(), 7u);
  EXPECT_NEAR(d["totalUsd"].GetDouble(), r.totalUsd, 1e-12);
  EXPECT_STREQ(d["rows"][0]["owner"].GetString(), "nightly");
  EXPECT_NEAR(d["rows"][0]["days"][r.days.back().c_str()].GetDouble(), 1.0, 1e-9);

  const std::string csv = costReportCsv(r);
  EXPECT_EQ(
      csv.substr(0, csv.find('\n')), "namespace,owner," + [&] {
        std::string days;
        for (const auto& day : r.days) days += day + ",";
        return days;
      }() + "total");
  EXPECT_NE(csv.find("\nml,serve-y,0.0000,0.0000,0.0000,0.0000,0.0000,0.0000,6.0000,6.0000\n"), std::string::npos)
      << csv;

  const std::string table = costReportTable(r);
  EXPECT_EQ(table.rfind("NAMESPACE", 0), 0u) << table;
  EXPECT_NE(table.find("total: $15.0000 over 7 day(s), 3 row(s)"), std::string::npos) << table;
}

TEST(CostReport, EndpointParametersAndLeadership) {
  History h;
  const TimePoint now = h.today + 5h;
  auto [status, body] = costEndpoint(&h.ledger, now, "window=30d&by=cronjob");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(body, costReportJson(*buildCostReport(h.ledger, now, 30, {CostGrouping::Owner, ""})));
  EXPECT_EQ(costEndpoint(&h.ledger, now, "").second,
            costReportJson(*buildCostReport(h.ledger, now, 7, {CostGrouping::Namespace, ""})));
  for (const char* bad : {"window=7", "window=0d", "window=401d", "window=xd", "by=team", "color=red"}) {
    auto [s, b] = costEndpoint(&h.ledger, now, bad);
    EXPECT_EQ(s, 400) << bad;
    EXPECT_NE(b.find("\"error\""), std::string::npos) << b;
  }
  EXPECT_EQ(costEndpoint(nullptr, now, "").first, 503);
  EXPECT_EQ(costEndpoint(&h.ledger, now, std::string(100000, 'x')).first, 400) << "long parameters are cut, not copied";
}

TEST(CostReport, PerValueOfTheConfiguredPodLabel) {
  // The scaler sums by scaler.ledgerLabel (here team): per value, pods without it under "(none)".
  testing::Env env;
  const NodePool pool = testing::pool("p", {CapacityType::OnDemand}, {testing::type("m5.xlarge", 4000, 16, 0.4, 0.1)});
  env.config.nodePools = {pool};
  env.config.ledgerLabel = "team";
  env.start();
  env.cluster.addNode(pool, "n1", CapacityType::OnDemand, env.clock.wallNow());
  auto a = testing::pendingPod("a", 2000, 8192);
  a.info.labels["team"] = "search";
  env.runPod(a, "n1");
  auto b = testing::pendingPod("b", 2000, 8192);
  b.info.workflow = "other";
  env.runPod(b, "n1");  // no team label
  env.reconcile();
  env.clock.advance(1h);
  env.reconcile();
  const TimePoint now = env.clock.wallNow();
  auto r = buildCostReport(env.scaler->ledger(), now, 2, {CostGrouping::Label, "team"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  ASSERT_EQ(r->rows.size(), 2u);
  std::map<std::string, double> byValue;
  for (const auto& row : r->rows) byValue[row.label] = row.totalUsd;
  EXPECT_NEAR(byValue.at("search"), 0.2, 1e-9);  // half the node's 0.4 USD/h for an hour
  EXPECT_NEAR(byValue.at(kLedgerNoLabel), 0.2, 1e-9);
  EXPECT_NE(costReportJson(*r).find(R"("by":"label:team")"), std::string::npos);
  EXPECT_EQ(costReportCsv(*r).rfind("team,", 0), 0u);

  // Stored and read back (the CLI's path): the key and the per-value windows survive, running pods too.
  ASSERT_TRUE(env.scaler->flushLedger().ok());
  auto stored = env.store.load();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  auto back = CostLedger::fromJson(**stored);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->labelKey(), "team");
  auto again = buildCostReport(*back, now + 1h, 2, {CostGrouping::Label, ""});
  ASSERT_TRUE(again.ok());
  double search = 0;
  for (const auto& row : again->rows) search += row.label == "search" ? row.totalUsd : 0;
  EXPECT_NEAR(search, 0.4, 1e-6) << "the running pod kept its label through the store";

  EXPECT_FALSE(buildCostReport(*back, now, 2, {CostGrouping::Label, "cost-center"}).ok()) << "another key";
  EXPECT_FALSE(buildCostReport(CostLedger(), now, 2, {CostGrouping::Label, ""}).ok()) << "no label configured";
  EXPECT_EQ(costEndpoint(&*back, now, "by=label:cost-center").first, 400);
  EXPECT_EQ(costEndpoint(&*back, now, "by=label").first, 200);
}

}  // namespace
}  // namespace spotfit::scaler

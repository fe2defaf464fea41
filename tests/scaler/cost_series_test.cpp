// Bounded cost series: spotfit_workflow_cost_usd only for the most expensive running (or just stopped)
// workflows, closed ones leave after costSeriesGrace, CronJob runs roll up into spotfit_owner_cost_usd,
// and the namespace totals keep every cent. Cardinality stays within the configured caps however many
// workflows the cluster runs.

#include <gtest/gtest.h>

#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

NodePool bigPool() {
  return pool("big", {CapacityType::OnDemand}, {type("m5.24xlarge", 96000, 384, 4.608, 1.5)});
}

size_t series(const Env& env, const char* name) {
  const auto& g = env.scaler->metrics().gauges();
  auto it = g.find(name);
  return it == g.end() ? 0 : it->second.size();
}

bool hasWorkflowSeries(const Env& env, const std::string& workflow) {
  const auto& g = env.scaler->metrics().gauges();
  auto it = g.find(metric::kWorkflowCost);
  return it != g.end() && it->second.count({{"namespace", "team"}, {"workflow", workflow}});
}

ClusterPod workflowPod(const std::string& name, const std::string& workflow, int64_t cpuMilli) {
  ClusterPod p = pendingPod(name, cpuMilli, 256);
  p.info.workflow = workflow;
  p.info.ownerName = workflow;
  return p;
}

TEST(CostSeries, OnlyTheMostExpensiveRunningWorkflowsGetASeries) {
  Env env;
  env.config.nodePools = {bigPool()};
  env.config.costSeriesTopWorkflows = 5;
  env.start();
  env.cluster.addNode(bigPool(), "n1", CapacityType::OnDemand, env.clock.wallNow());
  for (int i = 0; i < 40; ++i) {
    env.runPod(workflowPod("p" + std::to_string(i), "wf" + std::to_string(i), 100 + 10 * i), "n1");
  }
  env.reconcile();
  env.clock.advance(1h);
  env.reconcile();
  EXPECT_EQ(series(env, metric::kWorkflowCost), 5u);
  for (int i = 35; i < 40; ++i) EXPECT_TRUE(hasWorkflowSeries(env, "wf" + std::to_string(i))) << i;
  EXPECT_FALSE(hasWorkflowSeries(env, "wf34"));
  // A cheap workflow with a budget keeps its series (the budget alert joins cost and budget series).
  env.cluster.pod("p0").info.annotations["spotfit.io/budget"] = "100";
  env.reconcile();
  EXPECT_TRUE(hasWorkflowSeries(env, "wf0"));
  EXPECT_EQ(series(env, metric::kWorkflowCost), 6u);
  // The namespace series still counts all 40 workflows.
  double all = 0;
  for (const auto& c : env.scaler->ledger().workflowCosts(env.clock.wallNow())) all += c.usd;
  EXPECT_GT(all, 0);
  EXPECT_NEAR(env.scaler->metrics().gauge(metric::kNamespaceCost, {{"namespace", "team"}}), all, 1e-9);
}

TEST(CostSeries, StoppedWorkflowsLeaveAfterTheGracePeriod) {
  Env env;
  env.config.nodePools = {bigPool()};
  env.config.costSeriesGrace = 10min;
  env.start();
  env.cluster.addNode(bigPool(), "n1", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(workflowPod("done", "finished", 1000), "n1");
  env.runPod(workflowPod("live", "running", 1000), "n1");
  env.reconcile();
  env.clock.advance(1h);
  env.cluster.pod("done").info.phase = placement::PodPhase::Succeeded;
  env.cluster.pod("done").finishedAt = env.clock.wallNow();
  env.reconcile();
  const double spent = env.scaler->workflowSpend("team", "finished");
  ASSERT_GT(spent, 0);
  env.clock.advance(9min);
  env.reconcile();
  EXPECT_TRUE(hasWorkflowSeries(env, "finished")) << "within the grace period";
  env.clock.advance(2min);
  env.reconcile();
  EXPECT_FALSE(hasWorkflowSeries(env, "finished")) << "closed and past the grace period";
  EXPECT_TRUE(hasWorkflowSeries(env, "running"));
  EXPECT_NEAR(env.scaler->workflowSpend("team", "finished"), spent, 1e-9) << "the ledger (budgets) still has it";
  EXPECT_NEAR(env.scaler->metrics().gauge(metric::kNamespaceCost, {{"namespace", "team"}}),
              spent + env.scaler->workflowSpend("team", "running"), 1e-9);
}

TEST(CostSeries, CronJobRunsRollUpPerOwnerAndCardinalityIsBounded) {
  Env env;
  env.config.nodePools = {bigPool()};
  env.config.costSeriesTopWorkflows = 10;
  env.config.costSeriesTopOwners = 3;
  env.config.costSeriesGrace = 1min;
  env.start();
  env.cluster.addNode(bigPool(), "n1", CapacityType::OnDemand, env.clock.wallNow());
  // 6 CronJobs × 50 runs, one after the other: 300 workflows, each run a new Job name.
  int n = 0;
  for (int run = 0; run < 50; ++run) {
    std::vector<std::string> pods;
    for (int cj = 0; cj < 6; ++cj) {
      const std::string name = "p" + std::to_string(n++);
      env.runPod(workflowPod(name, "cron" + std::to_string(cj) + "-" + std::to_string(29400000 + run), 500 + 100 * cj),
                 "n1");
      pods.push_back(name);
    }
    env.reconcile();
    env.clock.advance(10min);
    for (const auto& name : pods) {
      env.cluster.pod(name).info.phase = placement::PodPhase::Succeeded;
      env.cluster.pod(name).finishedAt = env.clock.wallNow();
    }
    env.reconcile();
    EXPECT_LE(series(env, metric::kWorkflowCost), 10u);
    EXPECT_LE(series(env, metric::kOwnerCost), 4u);
  }
  env.clock.advance(2min);
  env.reconcile();
  EXPECT_EQ(series(env, metric::kWorkflowCost), 0u) << "nothing runs and the grace is over";
  // The three most expensive CronJobs have their own series, the other three are summed.
  const auto owner = [&](const std::string& o) {
    return env.scaler->metrics().gauge(metric::kOwnerCost, {{"namespace", "team"}, {"owner", o}});
  };
  EXPECT_EQ(series(env, metric::kOwnerCost), 4u);
  double total = 0;
  for (int cj = 0; cj < 6; ++cj) {
    double cronjob = 0;
    for (int run = 0; run < 50; ++run) {
      cronjob += env.scaler->workflowSpend("team", "cron" + std::to_string(cj) + "-" + std::to_string(29400000 + run));
    }
    total += cronjob;
    if (cj >= 3) {
      EXPECT_NEAR(owner("cron" + std::to_string(cj)), cronjob, 1e-5) << cj;
    }
  }
  EXPECT_NEAR(owner(kLedgerOther) + owner("cron3") + owner("cron4") + owner("cron5"), total, 1e-5);
  EXPECT_NEAR(env.scaler->metrics().gauge(metric::kNamespaceCost, {{"namespace", "team"}}), total, 1e-9);
}

}  // namespace
}  // namespace spotfit::scaler

namespace spotfit::scaler {
namespace {

TEST(ScalerConfig, LedgerAndCostSeriesBounds) {
  auto cfg = parseScalerConfig(
      "scaler:\n  ledgerRetention: 168h\n  ledgerMaxClosedWorkflows: 100\n  costSeriesTopWorkflows: 20\n"
      "  costSeriesTopOwners: 30\n  costSeriesGrace: 1m\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->ledgerRetention, std::chrono::hours(168));
  EXPECT_EQ(cfg->ledgerMaxClosedWorkflows, 100);
  EXPECT_EQ(cfg->costSeriesTopWorkflows, 20);
  EXPECT_EQ(cfg->costSeriesTopOwners, 30);
  EXPECT_EQ(cfg->costSeriesGrace, std::chrono::minutes(1));
  auto defaults = parseScalerConfig("");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->ledgerRetention, std::chrono::hours(24 * 31));
  for (const auto& [yaml, expect] : std::vector<std::pair<const char*, const char*>>{
           {"scaler:\n  ledgerRetention: 1h\n", "scaler.ledgerRetention (line 2): must be between 24h and 400 days"},
           {"scaler:\n  ledgerRetention: 9601h\n", "scaler.ledgerRetention (line 2): must be between"},
           {"scaler:\n  ledgerMaxClosedWorkflows: 5001\n",
            "scaler.ledgerMaxClosedWorkflows (line 2): must be at most 5000"},
           {"scaler:\n  costSeriesTopWorkflows: -1\n", "scaler.costSeriesTopWorkflows (line 2): must be at least 0"},
           {"scaler:\n  costSeriesTopOwners: 10001\n", "scaler.costSeriesTopOwners (line 2): must be at most 10000"},
       }) {
    auto bad = parseScalerConfig(yaml);
    ASSERT_FALSE(bad.ok()) << yaml;
    EXPECT_NE(bad.error().message.find(expect), std::string::npos) << bad.error().message;
  }
}

}  // namespace
}  // namespace spotfit::scaler

// CronJob arrivals and pre-warmed capacity in `spotfit simulate` (sim/cron_arrivals.cpp).

#include <gtest/gtest.h>

#include <string>

#include "sim/engine.hpp"
#include "sim/report.hpp"
#include "sim/workload.hpp"

namespace spotfit::sim {
namespace {

// A CronJob every 10 minutes (2 pods of 2 minutes) on nodes that boot in exactly 60 s.
std::string cronWorkload(const std::string& prewarm) {
  return R"(horizon: 1h
drainLimit: 1h
provisioning: {delay: 60s, jitter: 0s, podStartup: 0s}
spotfit: {consolidateAfter: 60s, consolidationInterval: 10s}
nodePools:
  - name: p
    instanceTypes:
      - {name: big, cpu: "4", memory: 16Gi, onDemandPrice: 1.0, spotPrice: 0.3}
workflows:
  - name: sync
    arrival: {cron: "*/10 * * * *"}
    annotations: {spotfit.io/prewarm: )" +
         prewarm + R"(}
    jobs:
      - name: task
        completions: 2
        parallelism: 2
        duration: 2m
        requests: {cpu: "1", memory: 1Gi}
)";
}

StrategyResult runSpotfit(const std::string& yaml) {
  auto w = parseWorkload(yaml, "test.yaml");
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message);
  auto s = strategyByName("spotfit");
  EXPECT_TRUE(s.ok());
  return simulate(*w, *s, SimulationOptions{1});
}

TEST(SimPrewarm, CronArrivalsFollowTheSchedule) {
  auto w = parseWorkload(cronWorkload("auto"), "test.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  ASSERT_TRUE(w->workflows[0].arrival.cron.has_value());
  // 0, 10m, ..., 60m: the horizon is inclusive, as for `every`.
  auto times = cronArrivals("*/10 * * * *", kHour, 1000);
  ASSERT_EQ(times.size(), 7u);
  EXPECT_EQ(times[1], 10 * kMinute);
  EXPECT_EQ(cronArrivals("0 2 * * *", 24 * kHour, 1000), std::vector<Millis>{2 * kHour});
  EXPECT_EQ(cronArrivals("* * * * *", 24 * kHour, 5).size(), 5u);  // capped
}

TEST(SimPrewarm, BadSchedulesAndAnnotationsAreRefusedWithTheLine) {
  std::string bad = cronWorkload("auto");
  bad.replace(bad.find("*/10 * * * *"), 12, "TZ=UTC */10 * * * *");
  auto w = parseWorkload(bad, "test.yaml");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("test.yaml:11: workflows[0].arrival.cron:"), std::string::npos) << w.error().message;
  EXPECT_NE(w.error().message.find("cannot use TZ or CRON_TZ"), std::string::npos) << w.error().message;
  auto typo = parseWorkload(cronWorkload("atuo"), "test.yaml");
  ASSERT_FALSE(typo.ok());
  EXPECT_NE(typo.error().message.find("is not auto, off or a duration"), std::string::npos);
  std::string both = cronWorkload("auto");
  both.replace(both.find("{cron:"), 6, "{every: 10m, cron:");
  auto two = parseWorkload(both, "test.yaml");
  ASSERT_FALSE(two.ok());
  EXPECT_NE(two.error().message.find("give only one of"), std::string::npos);
}

TEST(SimPrewarm, PrewarmedRunsDoNotWaitForTheBoot) {
  const StrategyResult on = runSpotfit(cronWorkload("auto"));
  const StrategyResult off = runSpotfit(cronWorkload("\"off\""));
  const WorkflowCost& a = on.byWorkflow.at("sync");
  const WorkflowCost& b = off.byWorkflow.at("sync");
  EXPECT_EQ(a.runs, 7);
  EXPECT_EQ(a.completed, b.completed);
  // Without pre-warm every run waits for a 60 s boot (the first 10 minutes' node is gone after 60 s empty).
  EXPECT_GE(b.pendingSeconds.p50, 60.0);
  // With it, the nodes are Ready at the fire time: the first run (at 0) still waits, the others do not.
  EXPECT_LE(a.pendingSeconds.p50, 10.0);
  EXPECT_GT(a.prewarmUsd, 0.0);
  EXPECT_EQ(b.prewarmUsd, 0.0);
  // The JSON report carries both per workflow.
  RunSummary sum{"test.yaml", 1, {on}};
  const std::string json = toJson(sum);
  EXPECT_NE(json.find("\"pendingSeconds\":{"), std::string::npos);
  EXPECT_NE(json.find("\"prewarmUsd\":"), std::string::npos);
}

}  // namespace
}  // namespace spotfit::sim

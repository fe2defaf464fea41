// `spotfit simulate` models right-sizing from workflow profiles (sim/profiles.hpp): right-size: profile jobs
// run as written until their profile has three runs, then with the webhook's profile-based requests.
#include <gtest/gtest.h>

#include "sim/engine.hpp"
#include "sim/report.hpp"
#include "sim/workload.hpp"
#include "test_paths.hpp"

namespace spotfit::sim {
namespace {

StrategyResult runExample(const std::string& strategy) {
  auto w = loadWorkload(spotfit::testpaths::sourceDir() + "/examples/profiles.yaml");
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message);
  auto s = strategyByName(strategy);
  EXPECT_TRUE(s.ok());
  return simulate(*w, *s, SimulationOptions{1});
}

TEST(SimProfiles, FirstThreeRunsAsWrittenThenLearnedWithinThirtyPercentOfUsage) {
  for (const char* strategy : {"rightsize-only", "spotfit"}) {
    const StrategyResult r = runExample(strategy);
    const WorkflowCost& etl = r.byWorkflow.at("hourly-etl");
    // Three runs of 40 extract and 4 load pods each go as written: requests 4x (cpu) and 4x (memory) usage.
    EXPECT_EQ(etl.asWritten.pods, 3 * 44) << strategy;
    EXPECT_GT(etl.asWritten.cpuRatio(), 2.0) << strategy;
    EXPECT_GT(etl.asWritten.memoryRatio(), 2.0) << strategy;
    // The other nine runs (twelve, hourly from 0 to 11 h) are sized from the profile: p95 usage x 1.2.
    EXPECT_EQ(etl.learned.pods, 9 * 44) << strategy;
    EXPECT_LE(etl.learned.cpuRatio(), 1.3) << strategy;
    EXPECT_LE(etl.learned.memoryRatio(), 1.3) << strategy;
    EXPECT_GE(etl.learned.cpuRatio(), 1.0) << strategy;
    const WorkflowCost& reports = r.byWorkflow.at("reports");
    EXPECT_EQ(reports.asWritten.pods, 30) << strategy;
    EXPECT_EQ(reports.learned.pods, 30) << strategy;
    EXPECT_LE(reports.learned.cpuRatio(), 1.3) << strategy;
    EXPECT_EQ(r.workflowsCompleted, r.workflows) << strategy;
  }
}

TEST(SimProfiles, StrategiesWithoutRightSizingKeepRequestsAsWritten) {
  const StrategyResult r = runExample("baseline");
  const WorkflowCost& etl = r.byWorkflow.at("hourly-etl");
  EXPECT_EQ(etl.asWritten.pods + etl.learned.pods, 0);
}

TEST(SimProfiles, LearnedRequestsCutCost) {
  EXPECT_LT(runExample("rightsize-only").totalCostUsd, runExample("baseline").totalCostUsd);
}

TEST(SimProfiles, ReportShowsTheRatioPerWorkflow) {
  RunSummary run;
  run.source = "profiles.yaml";
  run.results.push_back(runExample("rightsize-only"));
  const std::string table = formatTable(run);
  EXPECT_NE(table.find("request/usage of right-size: profile jobs"), std::string::npos) << table;
  EXPECT_NE(table.find("rightsize-only hourly-etl: "), std::string::npos) << table;
  const std::string json = toJson(run);
  EXPECT_NE(json.find("\"learned\":{\"pods\":396,"), std::string::npos) << json;
}

}  // namespace
}  // namespace spotfit::sim

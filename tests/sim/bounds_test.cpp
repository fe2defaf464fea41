// Work bounds (issue 15): a workload whose time series or task count would exhaust memory is refused up
// front with an error that says what to change, instead of running out of memory or time.
#include <gtest/gtest.h>

#include <string>

#include "sim/workload.hpp"
#include "test_util.hpp"

namespace spotfit::sim {
namespace {

using testing::edited;

const char* kBase = R"(horizon: 2h
nodePools:
  - name: general
    instanceTypes:
      - {name: m5.xlarge, cpu: "4", memory: 16Gi, onDemandPrice: 0.192, spotPrice: 0.07}
workflows:
  - name: etl
    arrival: {at: [0s, 30m]}
    jobs:
      - name: map
        completions: 10
        duration: 5m
        requests: {cpu: 500m, memory: 1Gi}
)";

std::string errorOf(const std::string& yaml) {
  auto w = parseWorkload(yaml, "w.yaml");
  return w ? std::string("(parsed)") : w.error().message;
}

TEST(WorkBounds, AYearAtOneSecondSamplesIsRefusedWithTheFinestIntervalAllowed) {
  std::string yaml = edited(kBase, "horizon: 2h", "horizon: 366d\nsampleInterval: 1s");
  EXPECT_EQ(errorOf(yaml),
            "w.yaml:2: sampleInterval: horizon + drainLimit (8808h) at 1s is 31708801 samples; at most 600000 (use a "
            "sampleInterval of at least 53s)");
  EXPECT_EQ(errorOf(edited(yaml, "sampleInterval: 1s", "sampleInterval: 53s")), "(parsed)");
  EXPECT_EQ(errorOf(edited(kBase, "horizon: 2h", "horizon: 366d")), "(parsed)") << "the default 1m fits a year";
}

TEST(WorkBounds, TasksAreCountedAcrossWorkflowsAndArrivalKinds) {
  // every 1s for a day, 10 completions each: 864,010 tasks; twice that is over the bound.
  std::string every = edited(kBase, "arrival: {at: [0s, 30m]}", "arrival: {every: 1s}");
  every = edited(every, "horizon: 2h", "horizon: 24h");
  EXPECT_EQ(errorOf(every), "(parsed)");
  std::string twice = every + R"(  - name: etl2
    arrival: {every: 1s}
    jobs:
      - name: map
        completions: 20
        duration: 5m
        requests: {cpu: 500m, memory: 1Gi}
)";
  std::string e = errorOf(twice);
  EXPECT_NE(e.find("workflows[1]: the workload creates about 2592030 tasks by this workflow; at most 2000000"),
            std::string::npos)
      << e;
  // Diurnal: the expected count at the peak rate; completions near the cap multiply it.
  std::string diurnal = edited(kBase, "arrival: {at: [0s, 30m]}", "arrival: {diurnal: {perHour: 1000, amplitude: 1}}");
  diurnal = edited(diurnal, "completions: 10", "completions: 1000");
  e = errorOf(diurnal);
  EXPECT_NE(e.find("workflows[0]: the workload creates about 4000000 tasks"), std::string::npos) << e;
  // Overflow-sized products are still refused, not wrapped.
  std::string huge = edited(kBase, "arrival: {at: [0s, 30m]}", "arrival: {every: 1ms}");
  huge = edited(edited(huge, "horizon: 2h", "horizon: 366d"), "completions: 10", "completions: 1000000");
  e = errorOf(huge);
  EXPECT_NE(e.find("tasks by this workflow; at most 2000000"), std::string::npos) << e;
}

}  // namespace
}  // namespace spotfit::sim

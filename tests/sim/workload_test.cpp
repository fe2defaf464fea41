#include "sim/workload.hpp"

#include <gtest/gtest-spi.h>
#include <gtest/gtest.h>

#include <string>

#include "test_paths.hpp"
#include "test_util.hpp"

namespace spotfit::sim {
namespace {

using testing::edited;
using testing::insertedBefore;

const char* kMinimal = R"(horizon: 2h
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
        parallelism: 5
        duration: 5m
        requests: {cpu: 500m, memory: 1Gi}
        usage: {cpu: 200m, memory: 512Mi}
      - name: reduce
        after: [map]
        duration: {mean: 2m, stddev: 30s}
        requests: {cpu: "1", memory: 2Gi}
)";

std::string errorOf(const std::string& yaml) {
  auto w = parseWorkload(yaml, "w.yaml");
  return w ? std::string("(parsed)") : w.error().message;
}

TEST(TestWorkloadEdits, ReplaceAndInsertOrFailLoudly) {
  EXPECT_EQ(edited("a: 1\nb: 1\n", "1", "2"), "a: 2\nb: 1\n");
  EXPECT_EQ(insertedBefore("a: 1\nb: 1\n", "b:", "c: 3\n"), "a: 1\nc: 3\nb: 1\n");
  // An edit whose anchor is missing would silently test the unedited workload.
  EXPECT_NONFATAL_FAILURE(edited("a: 1\n", "b: 1", "b: 2"), "test workload has no 'b: 1' to replace");
}

TEST(Duration, Formats) {
  EXPECT_EQ(formatDuration(90 * kMinute), "1h30m");
  EXPECT_EQ(formatDuration(42 * kSecond), "42s");
  EXPECT_EQ(formatDuration(125 * kSecond), "2m5s");
  EXPECT_EQ(formatDuration(500), "500ms");
}

TEST(Workload, ParsesTheMinimalExample) {
  auto w = parseWorkload(kMinimal, "w.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->horizon, 2 * kHour);
  ASSERT_EQ(w->nodePools.size(), 1u);
  const auto& t = w->nodePools[0].instanceTypes[0];
  EXPECT_EQ(t.cpuMilli, 4000);
  EXPECT_EQ(t.memoryBytes, 16LL << 30);
  ASSERT_TRUE(t.spotPrice.has_value());
  EXPECT_DOUBLE_EQ(*t.spotPrice, 0.07);
  const auto& wf = w->workflows[0];
  EXPECT_EQ(wf.arrival.at.size(), 2u);
  EXPECT_EQ(wf.arrival.at[1], 30 * kMinute);
  EXPECT_EQ(wf.jobs[0].requests.cpuMilli, 500);
  EXPECT_EQ(wf.jobs[0].usage->memoryBytes, 512LL << 20);
  EXPECT_EQ(wf.jobs[1].parallelism, 1);  // defaults to completions
  EXPECT_EQ(wf.jobs[1].duration.kind, DurationDist::Kind::LogNormal);
  EXPECT_EQ(wf.jobs[1].after, std::vector<std::string>{"map"});
}

TEST(Workload, UnknownKeyNamesPathAndLine) {
  EXPECT_EQ(
      errorOf(edited(kMinimal, "parallelism: 5", "paralellism: 5")),
      "w.yaml:12: workflows[0].jobs[0].paralellism: unknown key (expected one of: name, parallelism, "
      "completions, after, duration, requests, usage, annotations, labels, nodeSelector, tolerations, resumable)");
}

TEST(Workload, BadQuantityNamesPathAndLine) {
  std::string e = errorOf(edited(kMinimal, "cpu: 500m", "cpu: lots"));
  EXPECT_EQ(e.rfind("w.yaml:14: workflows[0].jobs[0].requests.cpu: ", 0), 0u) << e;
}

TEST(Workload, BadDurationNamesPathAndLine) {
  std::string e = errorOf(edited(kMinimal, "duration: 5m", "duration: 5 minutes"));
  EXPECT_EQ(e.rfind("w.yaml:13: workflows[0].jobs[0].duration: bad duration", 0), 0u) << e;
}

TEST(Workload, WrongTypeAndRange) {
  EXPECT_EQ(errorOf(edited(kMinimal, "completions: 10", "completions: ten")),
            "w.yaml:11: workflows[0].jobs[0].completions: expected a whole number, got 'ten'");
  EXPECT_EQ(errorOf(edited(kMinimal, "completions: 10", "completions: 0")),
            "w.yaml:11: workflows[0].jobs[0].completions: must be between 1 and 1000000, got 0");
}

TEST(Workload, MissingRequiredKeysAreNamed) {
  EXPECT_EQ(errorOf(edited(kMinimal, "        requests: {cpu: \"1\", memory: 2Gi}\n", "")),
            "w.yaml:16: workflows[0].jobs[1]: missing required key 'requests'");
  EXPECT_EQ(errorOf("workflows: []\n"), "w.yaml:1: (top level): missing required key 'nodePools'");
}

TEST(Workload, DependenciesMustNameEarlierJobs) {
  EXPECT_EQ(errorOf(edited(kMinimal, "after: [map]", "after: [mapp]")),
            "w.yaml:17: workflows[0].jobs[1].after[0]: 'mapp' is not an earlier job of this workflow");
}

TEST(Workload, JobsThatFitNoInstanceTypeAreRejected) {
  EXPECT_EQ(errorOf(edited(kMinimal, "cpu: \"1\"", "cpu: \"64\"")),
            "w.yaml:19: workflows[0].jobs[1].requests: no instance type of any node pool is large enough for this "
            "job's pods");
}

TEST(Workload, InvalidYamlReportsLine) {
  std::string e = errorOf("horizon: 2h\nnodePools: [\n  {name: x\n");
  EXPECT_EQ(e.rfind("w.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("invalid YAML"), std::string::npos) << e;
}

TEST(Workload, AnnotationValuesAreChecked) {
  std::string y = insertedBefore(kMinimal, "    arrival: {at: [0s, 30m]}\n",
                                 "    annotations: {spotfit.io/capacity-type: cheap}\n");
  EXPECT_EQ(errorOf(y),
            "w.yaml:8: workflows[0].annotations.spotfit.io/capacity-type: must be spot-preferred, spot or on-demand, "
            "got 'cheap'");
}

TEST(Workload, DuplicateNamesAreRejected) {
  EXPECT_EQ(errorOf(edited(kMinimal, "name: reduce", "name: map")),
            "w.yaml:16: workflows[0].jobs[1].name: duplicate job name 'map'");
}

TEST(Workload, ArrivalNeedsExactlyOneKind) {
  EXPECT_EQ(errorOf(edited(kMinimal, "{at: [0s, 30m]}", "{at: [0s], every: 1h}")),
            "w.yaml:8: workflows[0].arrival: give only one of: at, every, diurnal, cron");
}

TEST(Workload, ExamplesParse) {
  for (const char* name : {"mixed-day.yaml", "mapreduce.yaml", "gpu-training.yaml", "profiles.yaml", "cron-day.yaml",
                           "gang-training.yaml"}) {
    auto w = loadWorkload(spotfit::testpaths::sourceDir() + "/examples/" + name);
    EXPECT_TRUE(w.ok()) << name << ": " << w.error().message;
  }
}

TEST(Workload, MissingFileIsAnIoError) {
  auto w = loadWorkload("/nonexistent/w.yaml");
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "io");
}

}  // namespace
}  // namespace spotfit::sim

// The spotfit-moves strategy: spotfit's scaler with checkpoint-aware consolidation, side by side with
// spotfit (which never moves running Job pods).

#include <gtest/gtest.h>

#include <string>

#include "sim/engine.hpp"
#include "sim/workload.hpp"
#include "test_paths.hpp"
#include "test_util.hpp"

namespace spotfit::sim {
namespace {

using testing::edited;
using testing::run;

// Two 3-cpu fillers and two 1-cpu 3-hour pods on 4-cpu nodes: two nodes, (3+1) each. After 10 minutes
// the fillers are done and each node holds one long pod at 25%: one node would do.
const char* kTails = R"(horizon: 1h
drainLimit: 10h
provisioning: {delay: 60s, jitter: 0s, podStartup: 0s}
spotfit: {consolidateAfter: 60s, consolidationInterval: 10s}
checkpoint: {saveTime: 20s, lostWithCheckpoint: 0.0}
nodePools:
  - name: p
    capacityTypes: [on-demand]
    instanceTypes:
      - {name: m, cpu: "4", memory: 16Gi, onDemandPrice: 1.0}
workflows:
  - name: w
    arrival: {at: [0s]}
    jobs:
      - name: fill
        completions: 2
        parallelism: 2
        duration: 10m
        requests: {cpu: "3", memory: 2Gi}
      - name: long
        completions: 2
        parallelism: 2
        duration: 3h
        requests: {cpu: "1", memory: 1Gi}
        annotations: {spotfit.io/expected-duration: 3h}
        resumable: true
)";

TEST(CheckpointMoves, ResumableTailsAreConsolidated) {
  StrategyResult today = run(kTails, "spotfit");
  StrategyResult moves = run(kTails, "spotfit-moves");
  EXPECT_EQ(today.podsEvicted, 0);
  EXPECT_EQ(moves.podsEvicted, 1);
  EXPECT_EQ(moves.tasksCompleted, today.tasksCompleted);
  EXPECT_EQ(moves.workLostHours, 0);
  // One node-hour-ish of the second node's ~3 h is saved.
  EXPECT_LT(moves.totalCostUsd, today.totalCostUsd - 2.0) << moves.totalCostUsd << " vs " << today.totalCostUsd;
}

TEST(CheckpointMoves, NonResumableTailsStay) {
  std::string y = edited(kTails, "        resumable: true\n", "");
  StrategyResult moves = run(y, "spotfit-moves");
  StrategyResult today = run(y, "spotfit");
  EXPECT_EQ(moves.podsEvicted, 0);
  EXPECT_DOUBLE_EQ(moves.totalCostUsd, today.totalCostUsd);
}

TEST(CheckpointMoves, HistoryStandsInForTheAnnotation) {
  // No annotation, three of each pod (three nodes of 3+1 cpu): the first run's long pods are not moved
  // (no history); by the second run the Job's history knows they take 3 h, and its tails are consolidated.
  std::string y = edited(kTails, "        annotations: {spotfit.io/expected-duration: 3h}\n", "");
  y = edited(y, "arrival: {at: [0s]}", "arrival: {at: [0s, 4h]}");
  y = edited(y, "horizon: 1h", "horizon: 5h");
  for (int i = 0; i < 2; ++i)
    y = edited(y, "completions: 2\n        parallelism: 2", "completions: 3\n        parallelism: 3");
  StrategyResult moves = run(y, "spotfit-moves");
  StrategyResult today = run(y, "spotfit");
  EXPECT_EQ(today.podsEvicted, 0);
  EXPECT_EQ(moves.podsEvicted, 2);  // the second run's three tails onto one node
  EXPECT_EQ(moves.tasksCompleted, today.tasksCompleted);
  EXPECT_LT(moves.totalCostUsd, today.totalCostUsd - 3.0) << moves.totalCostUsd << " vs " << today.totalCostUsd;
}

}  // namespace
}  // namespace spotfit::sim

namespace spotfit::sim {
namespace {

TEST(CheckpointMoves, ExpectedDurationAnnotationIsValidated) {
  auto w = parseWorkload(testing::edited(kTails, "spotfit.io/expected-duration: 3h", "spotfit.io/expected-duration: 3"),
                         "test.yaml");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("spotfit.io/expected-duration"), std::string::npos) << w.error().message;
}

}  // namespace
}  // namespace spotfit::sim

namespace spotfit::sim {
namespace {

TEST(CheckpointMoves, ConservationOnAShippedExample) {
  auto w = loadWorkload(spotfit::testpaths::sourceDir() + "/examples/mapreduce.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  auto s = strategyByName("spotfit-moves");
  ASSERT_TRUE(s.ok());
  StrategyResult r = simulate(*w, *s, SimulationOptions{1});
  EXPECT_GT(r.tasks, 1000);
  EXPECT_EQ(r.tasksCompleted + r.tasksLost, r.tasks);
  EXPECT_EQ(r.duplicateCompletions, 0);
  EXPECT_EQ(r.tasksLost, 0);
  EXPECT_EQ(r.workflowsCompleted, r.workflows);
}

}  // namespace
}  // namespace spotfit::sim

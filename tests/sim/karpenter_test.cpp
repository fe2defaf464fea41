// The karpenter strategy (sim/karpenter.cpp): a model of the real Karpenter's provisioner and consolidation.

#include <gtest/gtest.h>

#include <string>

#include "sim/engine.hpp"
#include "sim/workload.hpp"
#include "test_util.hpp"

namespace spotfit::sim {
namespace {

using testing::edited;
using testing::run;

// 30 one-cpu pods at once, a small and a large type: Karpenter packs each NodeClaim until no type fits
// more (first-fit decreasing over the instance types still open) and launches the cheapest offering
// left, here the large type on spot: two nodes, where one small node per four pods would be eight.
const char* kWave = R"(horizon: 1h
provisioning: {delay: 60s, jitter: 0s, podStartup: 0s}
nodePools:
  - name: p
    capacityTypes: [spot, on-demand]
    instanceTypes:
      - {name: small, cpu: "4", memory: 16Gi, onDemandPrice: 1.0, spotPrice: 0.30}
      - {name: large, cpu: "16", memory: 64Gi, onDemandPrice: 3.5, spotPrice: 1.0}
spotMarket: {interruptionsPerHour: {default: 0}}
workflows:
  - name: w
    arrival: {at: [0s]}
    jobs:
      - name: map
        completions: 30
        parallelism: 30
        duration: 10m
        requests: {cpu: "1", memory: 1Gi}
)";

TEST(KarpenterStrategy, PacksNodeClaimsFirstFitDecreasingAndLaunchesTheCheapestOffering) {
  StrategyResult k = run(kWave, "karpenter");
  EXPECT_EQ(k.tasksCompleted, 30);
  EXPECT_EQ(k.nodesLaunched, 2);
  EXPECT_EQ(k.spotCostUsd, k.totalCostUsd);  // spot is cheaper and the pods as written allow it
  EXPECT_EQ(k.podsEvicted, 0);
}

TEST(KarpenterStrategy, AnUnavailableOfferingIsSkippedAtLaunchAndCached) {
  // No spot `large` for the first hour: the same launch takes the next cheapest offering that fits 16 pods
  // (on-demand large), and the cache keeps the next batch from trying spot again.
  StrategyResult k = run(edited(kWave, "spotMarket: {interruptionsPerHour: {default: 0}}",
                                "spotMarket:\n  interruptionsPerHour: {default: 0}\n  unavailable:\n"
                                "    - {instanceType: large, from: 0s, to: 1h}"),
                         "karpenter");
  EXPECT_EQ(k.tasksCompleted, 30);
  // One failure at the first launch; consolidation then retries the cheaper spot `large` as a replacement
  // each time the 3-minute cache entry runs out during the 10-minute run (without the cache: every tick).
  EXPECT_GE(k.launchFailures, 1);
  EXPECT_LE(k.launchFailures, 5);
  EXPECT_EQ(k.nodesLaunched, 2);
  EXPECT_EQ(k.spotCostUsd, 0.0);
}

// Two 3-cpu fillers and two 1-cpu 3-hour pods on 4-cpu nodes: two nodes (3+1 each). Once the fillers are
// done each node holds one long pod at 25%, and one node would do.
const char* kTails = R"(horizon: 1h
drainLimit: 10h
provisioning: {delay: 60s, jitter: 0s, podStartup: 0s}
karpenter: {consolidateAfter: 60s}
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
)";

TEST(KarpenterStrategy, ConsolidationMovesRunningJobPodsAndLosesTheirWork) {
  StrategyResult k = run(kTails, "karpenter");
  StrategyResult dnd = run(kTails, "karpenter-dnd");
  EXPECT_EQ(k.tasksCompleted, 4);
  EXPECT_EQ(dnd.tasksCompleted, 4);
  // Karpenter deletes one node and its long pod restarts from scratch on the other (no checkpoint).
  EXPECT_EQ(k.podsEvicted, 1);
  EXPECT_GT(k.workLostHours, 0.1);
  EXPECT_LT(k.nodeHours, dnd.nodeHours);
  // With karpenter.sh/do-not-disrupt on the Job pods nothing running moves; both nodes stay to the end.
  EXPECT_EQ(dnd.podsEvicted, 0);
  EXPECT_EQ(dnd.workLostHours, 0.0);
}

TEST(KarpenterStrategy, AnUnderusedOnDemandNodeIsReplacedByACheaperOne) {
  // Twelve 1-cpu pods land on one 16-cpu node; eleven finish within 10 minutes and the last runs 3 hours
  // at 1/16: single-node consolidation replaces the large node with a small one (cheaper) and moves it.
  const std::string yaml = R"(horizon: 1h
drainLimit: 10h
provisioning: {delay: 60s, jitter: 0s, podStartup: 0s}
karpenter: {consolidateAfter: 60s}
nodePools:
  - name: p
    capacityTypes: [on-demand]
    instanceTypes:
      - {name: small, cpu: "4", memory: 16Gi, onDemandPrice: 1.0}
      - {name: large, cpu: "16", memory: 64Gi, onDemandPrice: 3.5}
workflows:
  - name: w
    arrival: {at: [0s]}
    jobs:
      - name: short
        completions: 11
        parallelism: 11
        duration: 10m
        requests: {cpu: "1", memory: 1Gi}
  - name: v
    arrival: {at: [0s]}
    jobs:
      - name: long
        duration: 3h
        requests: {cpu: "1", memory: 1Gi}
)";
  StrategyResult k = run(yaml, "karpenter");
  EXPECT_EQ(k.tasksCompleted, 12);
  EXPECT_EQ(k.nodesLaunched, 2);  // the large node, then its small replacement
  EXPECT_EQ(k.podsEvicted, 1);
  StrategyResult dnd = run(yaml, "karpenter-dnd");
  EXPECT_EQ(dnd.nodesLaunched, 1);
  EXPECT_GT(dnd.totalCostUsd, k.totalCostUsd);
}

TEST(KarpenterStrategy, KnobsAreReadAndChecked) {
  auto w = parseWorkload(edited(kTails, "karpenter: {consolidateAfter: 60s}",
                                "karpenter: {consolidateAfter: 60s, budgetNodes: 0.5, spotToSpot: true}"),
                         "test.yaml");
  ASSERT_TRUE(w.ok()) << w.error().message;
  EXPECT_EQ(w->karpenter.consolidateAfter, 60 * kSecond);
  EXPECT_DOUBLE_EQ(w->karpenter.budgetNodes, 0.5);
  EXPECT_TRUE(w->karpenter.spotToSpot);
  auto bad = parseWorkload(edited(kTails, "karpenter: {consolidateAfter: 60s}", "karpenter: {budget: 1}"), "test.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("budget"), std::string::npos) << bad.error().message;
}

}  // namespace
}  // namespace spotfit::sim

#include "sim/engine.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "sim/cluster.hpp"
#include "sim/report.hpp"
#include "sim/workload.hpp"
#include "test_paths.hpp"
#include "test_util.hpp"

namespace spotfit::sim {
namespace {

using testing::edited;
using testing::insertedBefore;
using testing::run;

Workload load(const std::string& yaml) {
  auto w = parseWorkload(yaml, "test.yaml");
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message);
  return w.ok() ? *w : Workload{};
}

Workload example(const std::string& name) {
  auto w = loadWorkload(spotfit::testpaths::sourceDir() + "/examples/" + name);
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message);
  return w.ok() ? *w : Workload{};
}

// One task of exactly one hour on a $1/h node (spot $0.30), a 60 s boot, no jitter, no pod start-up.
const char* kOneTask = R"(horizon: 1h
drainLimit: 10h
provisioning: {delay: 60s, jitter: 0s, podStartup: 0s}
clusterAutoscaler: {scanInterval: 10s, scaleDownUnneededTime: 10m, scaleDownDelayAfterAdd: 10m}
spotfit: {consolidateAfter: 60s, consolidationInterval: 10s}
nodePools:
  - name: p
    instanceTypes:
      - {name: big, cpu: "4", memory: 16Gi, onDemandPrice: 1.0, spotPrice: 0.3}
workflows:
  - name: one
    arrival: {at: [0s]}
    jobs:
      - name: task
        duration: 1h
        requests: {cpu: "1", memory: 1Gi}
)";

// One 10-minute task; spot capacity of the cheapest type ("cheap", $0.20/h) is gone for the whole first hour,
// the other type ("dear", spot $0.60/h) is there.
const char* kCheapSpotGoneFirstHour = R"(horizon: 1h
drainLimit: 10h
provisioning: {delay: 60s, jitter: 0s, podStartup: 0s}
spotMarket:
  unavailable: [{instanceType: cheap, from: 0s, to: 1h}]
nodePools:
  - name: p
    instanceTypes:
      - {name: cheap, cpu: "2", memory: 4Gi, onDemandPrice: 1.0, spotPrice: 0.2}
      - {name: dear, cpu: "4", memory: 16Gi, onDemandPrice: 2.0, spotPrice: 0.6}
workflows:
  - name: one
    arrival: {at: [0s]}
    jobs:
      - {name: task, duration: 10m, requests: {cpu: "1", memory: 1Gi}}
)";

TEST(Engine, BaselineCostIntegratesToHandComputedValue) {
  // t=0 the pod is unschedulable; the CA scan at 10 s launches one node (billed from 10 s); Ready at 70 s;
  // the task runs 70 s .. 3670 s; the node is unneeded from the 3670 s scan and removed 10 min later at
  // 4270 s. Cost = (4270 - 10) s at $1/h.
  StrategyResult r = run(load(kOneTask), "baseline");
  EXPECT_EQ(r.tasksCompleted, 1);
  EXPECT_EQ(r.nodesLaunched, 1);
  EXPECT_NEAR(r.totalCostUsd, (4270.0 - 10.0) / 3600.0, 1e-9);
  EXPECT_NEAR(r.nodeHours, (4270.0 - 10.0) / 3600.0, 1e-9);
  EXPECT_NEAR(r.workflowCompletion.p50, 3670.0, 1e-9);
  EXPECT_NEAR(r.scaleUpLatency.p50, 70.0, 1e-9);
  // The pod requested 1 of 4 cpus while the node was Ready and busy, 0 while it sat empty.
  double busy = 3600.0, ready = 4270.0 - 70.0;
  EXPECT_NEAR(r.cpuAllocation.mean, 0.25 * busy / ready, 1e-3);
  EXPECT_NEAR(r.cpuAllocation.p50, 0.25, 1e-9);  // busy for 3600 s of 4200 s Ready
  EXPECT_NEAR(r.cpuAllocatedAtLeast85, 0.0, 1e-12);
  // OpenCost split: ramRate = 1 / (4·cpuW/ramW + 16), the pod pays 1 cpu + 1 GiB for one hour.
  double ratio = 0.031611 / 0.004237;
  double ram = 1.0 / (4 * ratio + 16);
  EXPECT_NEAR(r.byWorkflow["one"].attributedUsd, ram * ratio + ram, 1e-9);
  EXPECT_NEAR(r.idleCostUsd, r.totalCostUsd - (ram * ratio + ram), 1e-9);
}

TEST(Engine, SpotOnlyPaysTheSpotPrice) {
  StrategyResult r = run(load(kOneTask), "spot-only");
  EXPECT_EQ(r.tasksCompleted, 1);
  EXPECT_NEAR(r.totalCostUsd, 0.3 * (4270.0 - 10.0) / 3600.0, 1e-9);
  EXPECT_NEAR(r.spotShare, 1.0, 1e-12);
}

TEST(Engine, SpotfitCostIntegratesToHandComputedValue) {
  // t=0 unschedulable, the batch closes after 1 s idle and the solver's node (spot, $0.30) launches at 1 s;
  // Ready at 61 s; the task runs 61 s .. 3661 s; the node is empty from 3661 s and the consolidation tick
  // at 3730 s (first multiple of 10 s at least 60 s later) removes it.
  StrategyResult r = run(load(kOneTask), "spotfit");
  EXPECT_EQ(r.tasksCompleted, 1);
  EXPECT_EQ(r.nodesLaunched, 1);  // the 10 s re-plans saw the in-flight node and launched nothing
  EXPECT_NEAR(r.totalCostUsd, 0.3 * (3730.0 - 1.0) / 3600.0, 1e-9);
  EXPECT_NEAR(r.scaleUpLatency.p50, 61.0, 1e-9);
  EXPECT_NEAR(r.spotShare, 1.0, 1e-12);
}

TEST(Engine, SpotfitFallsBackAtOnceWhenSpotCapacityIsGone) {
  // The cheapest spot type refuses the launch, the offering is marked unavailable and the solver plans
  // again at once (next cheapest: the other type on spot).
  StrategyResult r = run(load(kCheapSpotGoneFirstHour), "spotfit");
  EXPECT_EQ(r.tasksCompleted, 1);
  EXPECT_EQ(r.launchFailures, 1);
  EXPECT_EQ(r.nodesLaunched, 1);
  EXPECT_NEAR(r.scaleUpLatency.p50, 61.0, 1e-9);
  EXPECT_NEAR(r.spotShare, 1.0, 1e-12);
}

TEST(Engine, SpotfitGoesOnDemandAfterRepeatedInterruptions) {
  // Spot nodes are interrupted about every 10 minutes. After 3 interruptions in the pool, spotfit's new
  // capacity is on-demand for the cool-off; the Cluster-Autoscaler model keeps choosing spot.
  const char* y = R"(horizon: 2h
drainLimit: 24h
provisioning: {delay: 30s, jitter: 0s, podStartup: 0s}
spotMarket: {interruptionsPerHour: 6, notice: 2m}
checkpoint: {saveTime: 10s, lostWithCheckpoint: 0.0}
spotfit: {interruptionThreshold: 3, interruptionWindow: 1h, coolOff: 30m}
nodePools:
  - name: p
    instanceTypes:
      - {name: s, cpu: "4", memory: 16Gi, onDemandPrice: 1.0, spotPrice: 0.3}
workflows:
  - name: long
    arrival: {at: [0s]}
    jobs:
      - {name: work, completions: 4, duration: 3h, requests: {cpu: "1", memory: 1Gi}, resumable: true}
)";
  Workload w = load(y);
  StrategyResult sf = run(w, "spotfit");
  StrategyResult ca = run(w, "spot-only");
  EXPECT_EQ(sf.tasksCompleted, 4);
  EXPECT_EQ(ca.tasksCompleted, 4);
  EXPECT_GE(sf.spotInterruptions, 3);
  EXPECT_LT(sf.spotShare, 0.9);
  EXPECT_NEAR(ca.spotShare, 1.0, 1e-12);
  EXPECT_NEAR(sf.workLostHours, 0.0, 1e-9);  // checkpoints lose nothing here
}

TEST(Engine, ConservationOnEveryStrategy) {
  Workload w = example("mixed-day.yaml");
  int64_t expected = 0;
  for (const auto& s : builtinStrategies()) {
    if (s.name == "spotfit-moves") continue;  // a spotfit variant: checkpoint_moves_test.cpp, on a smaller day
    StrategyResult r = simulate(w, s, SimulationOptions{7});
    if (expected == 0) expected = r.tasks;
    EXPECT_EQ(r.tasks, expected) << s.name;
    EXPECT_EQ(r.tasksCompleted + r.tasksLost, r.tasks) << s.name;
    EXPECT_EQ(r.duplicateCompletions, 0) << s.name;
    EXPECT_EQ(r.tasksLost, 0) << s.name;
    EXPECT_EQ(r.workflowsCompleted, r.workflows) << s.name;
  }
  EXPECT_GT(expected, 1000);
}

TEST(Engine, UnfinishedWorkIsReportedLost) {
  std::string y = edited(edited(kOneTask, "drainLimit: 10h", "drainLimit: 30m"), "duration: 1h", "duration: 2h");
  StrategyResult r = run(load(y), "baseline");
  EXPECT_EQ(r.tasks, 1);
  EXPECT_EQ(r.tasksCompleted, 0);
  EXPECT_EQ(r.tasksLost, 1);
  ASSERT_EQ(r.lostReasons.size(), 1u);
  EXPECT_EQ(r.lostReasons[0], "one/task: 1 task(s) unfinished at 1h30m");
}

TEST(Engine, DeterministicUnderSeed) {
  Workload w = example("mixed-day.yaml");
  RunSummary a{"x", 5, {run(w, "baseline", 5), run(w, "spot-only", 5)}};
  RunSummary b{"x", 5, {run(w, "baseline", 5), run(w, "spot-only", 5)}};
  EXPECT_EQ(toJson(a), toJson(b));
  EXPECT_EQ(seriesCsv(a.results[1]), seriesCsv(b.results[1]));
  RunSummary c{"x", 5, {run(w, "baseline", 6), run(w, "spot-only", 6)}};
  EXPECT_NE(toJson(a), toJson(c));  // diurnal arrivals and durations follow the seed
}

TEST(Engine, SpotfitIsDeterministicUnderSeed) {
  // spotfit's scaler names nodes from the (virtual) clock and keeps its state in ordered maps: the same seed
  // gives the same run, interruptions included.
  Workload w = example("mapreduce.yaml");
  w.spotMarket.defaultInterruptionsPerHour = 0.5;
  RunSummary a{"x", 4, {run(w, "spotfit", 4)}};
  RunSummary b{"x", 4, {run(w, "spotfit", 4)}};
  EXPECT_GT(a.results[0].spotInterruptions, 0);
  EXPECT_EQ(toJson(a), toJson(b));
  EXPECT_EQ(seriesCsv(a.results[0]), seriesCsv(b.results[0]));
}

TEST(Engine, StrategiesSeeTheSameWork) {
  Workload w = example("mapreduce.yaml");
  StrategyResult a = run(w, "baseline"), b = run(w, "rightsize-only");
  EXPECT_EQ(a.tasks, b.tasks);
  EXPECT_EQ(a.workflows, b.workflows);
}

TEST(Engine, InterruptionsKeepCheckpointedProgress) {
  // A spot node interrupted about every 20 minutes; resumable tasks keep 95% of their progress.
  const char* y = R"(horizon: 1h
drainLimit: 24h
provisioning: {delay: 30s, jitter: 0s, podStartup: 0s}
spotMarket: {interruptionsPerHour: 3, notice: 2m}
checkpoint: {saveTime: 10s, lostWithCheckpoint: 0.05, lostWithoutCheckpoint: 1.0}
nodePools:
  - name: p
    capacityTypes: [spot]
    instanceTypes:
      - {name: s, cpu: "4", memory: 16Gi, onDemandPrice: 1.0, spotPrice: 0.3}
workflows:
  - name: resumable
    arrival: {at: [0s]}
    jobs:
      - {name: work, completions: 4, duration: 2h, requests: {cpu: "1", memory: 1Gi}, resumable: true}
  - name: fragile
    arrival: {at: [0s]}
    jobs:
      - {name: work, completions: 4, duration: 20m, requests: {cpu: "1", memory: 1Gi}}
)";
  StrategyResult r = run(load(y), "spot-only");
  EXPECT_EQ(r.tasksCompleted, 8);
  EXPECT_EQ(r.tasksLost, 0);
  EXPECT_GT(r.spotInterruptions, 0);
  EXPECT_GT(r.podsInterrupted, 0);
  EXPECT_GT(r.workLostHours, 0);
}

TEST(Engine, ClusterAutoscalerWaitsOutTheProvisioningTimeout) {
  // Spot capacity of the cheapest type is gone for the first hour: CA's node never arrives, it gives up
  // after 15 min and backs the group off; the pod then gets another group's node.
  std::string y = insertedBefore(kCheapSpotGoneFirstHour, "    instanceTypes:", "    capacityTypes: [spot]\n");
  StrategyResult r = run(load(y), "spot-only");
  EXPECT_EQ(r.tasksCompleted, 1);
  EXPECT_EQ(r.launchFailures, 1);
  // Launched at 10 s, abandoned at the 15 min scan after that (910 s), the next group at 910 s is Ready
  // 60 s later.
  EXPECT_NEAR(r.scaleUpLatency.p50, 910.0 + 60.0, 1e-9);
}

TEST(Engine, PlaceabilityIsCheckedPerStrategy) {
  Workload w = load(insertedBefore(kOneTask, "    jobs:", "    annotations: {spotfit.io/capacity-type: spot}\n"));
  EXPECT_TRUE(checkPlaceable(w, *strategyByName("baseline")).ok());
  EXPECT_TRUE(checkPlaceable(w, *strategyByName("spot-only")).ok());
  Workload g = load(insertedBefore(kOneTask, "    jobs:", "    annotations: {spotfit.io/gpu-product: Tesla-T4}\n"));
  auto st = checkPlaceable(g, *strategyByName("baseline"));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(
      st.error().message.rfind("test.yaml:15: workflows[0].jobs[0]: under strategy baseline its pods fit no node", 0),
      0u)
      << st.error().message;
}

TEST(Engine, PoolTaintsAndCapacityTypesReachThePlacementModel) {
  // The solver, the Cluster-Autoscaler model and spotfit's scaler config are built from the same pool
  // conversion: taints keep key, value and effect; spot needs both the pool and the strategy to allow it.
  Workload w = load(insertedBefore(kOneTask, "    instanceTypes:",
                                   "    taints: [{key: gpu, value: \"true\"}, {key: batch, effect: PreferNoSchedule},"
                                   " {key: drain, value: soon, effect: NoExecute}]\n"));
  std::vector<placement::NodePool> pools = solverPoolsFor(w, *strategyByName("spotfit"));
  ASSERT_EQ(pools.size(), 1u);
  std::vector<placement::Taint> want = {{"gpu", "true", placement::TaintEffect::NoSchedule},
                                        {"batch", "", placement::TaintEffect::PreferNoSchedule},
                                        {"drain", "soon", placement::TaintEffect::NoExecute}};
  EXPECT_EQ(pools[0].taints, want);
  EXPECT_TRUE(pools[0].allowSpot);
  EXPECT_TRUE(pools[0].allowOnDemand);
  EXPECT_FALSE(solverPoolsFor(w, *strategyByName("baseline"))[0].allowSpot);

  w.nodePools[0].spot = false;  // capacityTypes: [on-demand]
  EXPECT_FALSE(poolAllowsSpot(w.nodePools[0], *strategyByName("spotfit")));
  EXPECT_FALSE(solverPoolsFor(w, *strategyByName("spotfit"))[0].allowSpot);
}

// One pool whose only instance type offers MIG slices and no whole GPU: every strategy must provision it.
// spotfit's scaler model (scaler::InstanceType) used to have no extended resources, so the spotfit
// strategy launched nothing and lost every task while the baseline ran them.
const char* kMigOnePool = R"(horizon: 2h
drainLimit: 10h
provisioning: {delay: 60s, jitter: 0s, podStartup: 0s}
nodePools:
  - name: a100
    instanceTypes:
      - {name: p4d.mig, cpu: "96", memory: 1152Gi, onDemandPrice: 32.77, spotPrice: 9.83,
         extended: {nvidia.com/mig-1g.5gb: "56"}}
workflows:
  - name: mig-infer
    arrival: {at: [0s]}
    jobs:
      - {name: infer, completions: 8, parallelism: 8, duration: 20m,
         requests: {cpu: "2", memory: 8Gi, nvidia.com/mig-1g.5gb: "1"}}
)";

TEST(Engine, MigSlicesReachEveryStrategysNodes) {
  Workload w = load(kMigOnePool);
  for (const char* strategy : {"baseline", "spotfit"}) {
    StrategyResult r = run(w, strategy);
    EXPECT_EQ(r.tasksLost, 0) << strategy;
    EXPECT_EQ(r.tasksCompleted, 8) << strategy;
    EXPECT_GE(r.nodesLaunched, 1) << strategy;
  }
  std::vector<placement::NodePool> pools = solverPoolsFor(w, *strategyByName("spotfit"));
  ASSERT_EQ(pools.size(), 1u);
  ASSERT_EQ(pools[0].instanceTypes.size(), 1u);
  EXPECT_EQ(pools[0].instanceTypes[0].allocatable.get("nvidia.com/mig-1g.5gb"), 56);
}

TEST(Engine, TimeSeriesHasOneRowPerSample) {
  StrategyResult r = run(load(kOneTask), "baseline");
  ASSERT_FALSE(r.series.rows.empty());
  EXPECT_EQ(r.series.columns.front(), "time_s");
  for (const auto& row : r.series.rows) EXPECT_EQ(row.size(), r.series.columns.size());
  // Cumulative cost in the last row equals the total.
  size_t costCol = 0;
  for (size_t i = 0; i < r.series.columns.size(); ++i)
    if (r.series.columns[i] == "cost_usd") costCol = i;
  EXPECT_NEAR(r.series.rows.back()[costCol], r.totalCostUsd, 1e-9);
}

}  // namespace
}  // namespace spotfit::sim

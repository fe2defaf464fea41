#include "placement/solver.hpp"

#include <gtest/gtest.h>

#include "placement/baselines.hpp"
#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;

InstanceType type(const std::string& name, int64_t cpu, int64_t mem, std::vector<Offering> offerings, int64_t gpus = 0,
                  const std::string& product = "") {
  InstanceType t;
  t.name = name;
  t.allocatable = testing::res(cpu, mem, gpus, 110);
  t.gpuProduct = product;
  t.offerings = std::move(offerings);
  return t;
}

Offering spot(double price, bool available = true) {
  return Offering{CapacityType::Spot, price, available};
}
Offering onDemand(double price, bool available = true) {
  return Offering{CapacityType::OnDemand, price, available};
}

NodePool pool(const std::string& name, std::vector<InstanceType> types) {
  NodePool p;
  p.name = name;
  p.instanceTypes = std::move(types);
  return p;
}

std::vector<PodInfo> pods(int n, int64_t cpu, int64_t mem, int64_t gpus = 0, const std::string& prefix = "p") {
  std::vector<PodInfo> out;
  for (int i = 0; i < n; ++i) out.push_back(testing::pod(prefix + std::to_string(i), cpu, mem, gpus));
  return out;
}

size_t placedCount(const ScaleUpPlan& plan) {
  size_t n = plan.onExisting.size();
  for (const auto& node : plan.newNodes) n += node.pods.size();
  return n;
}

// The hand-checkable case of issue 3. Ten pods of 1 cpu / 4Gi; three offerings:
//   A on-demand  4 cpu / 16Gi  $0.20  (its spot offering is unavailable)
//   B spot       8 cpu / 32Gi  $0.12
//   C spot      16 cpu / 64Gi  $0.40
// Cluster Autoscaler least-waste: A needs 3 nodes wasting 2/12 cpu + 8/48 mem = 0.33; B needs 2 nodes
//   wasting 6/16 + 24/64 = 0.75; C needs 1 node wasting 0.75 → A × 3 = $0.60.
// Karpenter FFD: one NodeClaim takes pods while some type still holds them all: after pod 8 only C is
//   left, pods 9 and 10 join it; cheapest remaining type C → $0.40.
// spotfit: B covers the demand in ceil(max(10/8, 40/32)) = 2 nodes → $0.24.
TEST(Solver, BeatsLeastWasteAndFirstFitDecreasingOnAHandCheckableCase) {
  ScaleUpInput in;
  in.pools.push_back(
      pool("general", {type("A", 4000, 16 * kGi, {onDemand(0.20), spot(0.06, false)}),
                       type("B", 8000, 32 * kGi, {spot(0.12)}), type("C", 16000, 64 * kGi, {spot(0.40)})}));
  in.pods = pods(10, 1000, 4 * kGi);

  ScaleUpPlan ours = planScaleUp(in);
  ScaleUpPlan ca = planLeastWaste(in);
  ScaleUpPlan karpenter = planFirstFitDecreasing(in);

  EXPECT_NEAR(ours.newNodesHourlyCost(), 0.24, 1e-9);
  EXPECT_NEAR(ca.newNodesHourlyCost(), 0.60, 1e-9);
  EXPECT_NEAR(karpenter.newNodesHourlyCost(), 0.40, 1e-9);
  ASSERT_EQ(ours.newNodes.size(), 2u);
  for (const auto& n : ours.newNodes) {
    EXPECT_EQ(n.instanceType, "B");
    EXPECT_EQ(n.capacityType, CapacityType::Spot);
  }
  ASSERT_EQ(ca.newNodes.size(), 3u);
  EXPECT_EQ(ca.newNodes[0].instanceType, "A");
  ASSERT_EQ(karpenter.newNodes.size(), 1u);
  EXPECT_EQ(karpenter.newNodes[0].instanceType, "C");
  for (const auto* plan : {&ours, &ca, &karpenter}) {
    EXPECT_EQ(placedCount(*plan), 10u);
    EXPECT_TRUE(plan->unschedulable.empty());
  }
}

// Eight cpu-heavy pods (2 cpu / 2Gi) and eight memory-heavy pods (500m / 8Gi). One type for all costs
// $1.50 (c: 5 nodes, memory-bound; r: 5 nodes, cpu-bound); c for the cpu-heavy half (2 nodes) and r for
// the memory-heavy half (1 node) costs $0.90.
TEST(Solver, MixesInstanceTypesByShape) {
  ScaleUpInput in;
  in.pools.push_back(pool("general", {type("c", 8000, 16 * kGi, {spot(0.30)}), type("r", 4000, 64 * kGi, {spot(0.30)}),
                                      type("m", 8000, 64 * kGi, {spot(0.60)})}));
  in.pods = pods(8, 2000, 2 * kGi, 0, "cpu");
  auto mem = pods(8, 500, 8 * kGi, 0, "mem");
  in.pods.insert(in.pods.end(), mem.begin(), mem.end());
  ScaleUpPlan plan = planScaleUp(in);
  EXPECT_NEAR(plan.newNodesHourlyCost(), 0.90, 1e-9);
  ASSERT_EQ(plan.newNodes.size(), 3u);
  EXPECT_TRUE(plan.unschedulable.empty());
  int c = 0;
  int r = 0;
  for (const auto& n : plan.newNodes) {
    c += n.instanceType == "c";
    r += n.instanceType == "r";
  }
  EXPECT_EQ(c, 2);
  EXPECT_EQ(r, 1);
  EXPECT_LE(plan.newNodesHourlyCost(), planFirstFitDecreasing(in).newNodesHourlyCost());
  EXPECT_LT(plan.newNodesHourlyCost(), planLeastWaste(in).newNodesHourlyCost());
}

TEST(Solver, UsesExistingThenInFlightCapacityFirst) {
  ScaleUpInput in;
  in.pools.push_back(pool("general", {type("m", 4000, 16 * kGi, {onDemand(0.2)})}));
  NodeInfo ready = testing::node("ready", 4000, 16 * kGi);
  ready.requested = testing::res(3000, 4 * kGi, 0, 3);
  NodeInfo flying = testing::node("flying", 4000, 16 * kGi);
  flying.inFlight = true;
  in.nodes = {flying, ready};
  in.pods = pods(3, 1000, kGi);
  ScaleUpPlan plan = planScaleUp(in);
  EXPECT_TRUE(plan.newNodes.empty());
  ASSERT_EQ(plan.onExisting.size(), 3u);
  EXPECT_EQ(plan.onExisting[0].node, "ready");  // the ready node's last free core goes first
  EXPECT_EQ(plan.onExisting[1].node, "flying");
  EXPECT_EQ(plan.onExisting[2].node, "flying");
}

TEST(Solver, RespectsTaintsSelectorsAndGpuProducts) {
  ScaleUpInput in;
  NodePool gpu = pool("gpu", {type("g-t4", 8000, 32 * kGi, {spot(0.2)}, 1, "Tesla-T4"),
                              type("g-a100", 8000, 64 * kGi, {spot(1.5)}, 1, "NVIDIA-A100-SXM4-80GB")});
  gpu.taints.push_back({"nvidia.com/gpu", "true", TaintEffect::NoSchedule});
  gpu.labels["accelerator"] = "yes";
  in.pools = {gpu, pool("cpu", {type("m", 8000, 32 * kGi, {spot(0.3)})})};
  PodInfo train = testing::pod("train", 1000, kGi, 1);
  train.gpuProduct = "NVIDIA-A100-SXM4-80GB";
  Toleration t;
  t.key = "nvidia.com/gpu";
  t.op = TolerationOperator::Exists;
  train.tolerations.push_back(t);
  PodInfo web = testing::pod("web", 1000, kGi);  // no toleration: never on the GPU pool
  PodInfo pinned = testing::pod("pinned", 1000, kGi);
  pinned.nodeSelector["accelerator"] = "yes";  // selects the GPU pool but does not tolerate it
  in.pods = {train, web, pinned};
  ScaleUpPlan plan = planScaleUp(in);
  ASSERT_EQ(plan.newNodes.size(), 2u);
  for (const auto& n : plan.newNodes) {
    if (n.pods == std::vector<size_t>{0}) {
      EXPECT_EQ(n.instanceType, "g-a100");
    } else {
      EXPECT_EQ(n.pods, std::vector<size_t>{1});
      EXPECT_EQ(n.pool, "cpu");
    }
  }
  ASSERT_EQ(plan.unschedulable.size(), 1u);
  EXPECT_EQ(plan.unschedulable[0].pod, 2u);
  EXPECT_NE(plan.unschedulable[0].reason.find("untolerated taint {nvidia.com/gpu: true}"), std::string::npos)
      << plan.unschedulable[0].reason;
}

TEST(Solver, SpotPreferredUnlessPolicyOrAvailabilitySaysOtherwise) {
  ScaleUpInput in;
  in.pools.push_back(pool("general", {type("m", 4000, 16 * kGi, {onDemand(0.2), spot(0.07)})}));
  in.pods = pods(1, 1000, kGi);
  EXPECT_EQ(planScaleUp(in).newNodes.at(0).capacityType, CapacityType::Spot);
  in.pods[0].capacityPolicy = CapacityPolicy::OnDemand;
  EXPECT_EQ(planScaleUp(in).newNodes.at(0).capacityType, CapacityType::OnDemand);
  in.pods[0].capacityPolicy = CapacityPolicy::SpotPreferred;
  in.pools[0].instanceTypes[0].offerings[1].available = false;  // spot ICE: fall back at once
  EXPECT_EQ(planScaleUp(in).newNodes.at(0).capacityType, CapacityType::OnDemand);
  in.pods[0].capacityPolicy = CapacityPolicy::SpotOnly;
  ScaleUpPlan plan = planScaleUp(in);
  EXPECT_TRUE(plan.newNodes.empty());
  ASSERT_EQ(plan.unschedulable.size(), 1u);
  EXPECT_NE(plan.unschedulable[0].reason.find("workflow over budget"), std::string::npos);
  // Same price: spot wins the tie.
  in.pods[0].capacityPolicy = CapacityPolicy::SpotPreferred;
  in.pools[0].instanceTypes[0].offerings = {onDemand(0.1), spot(0.1)};
  EXPECT_EQ(planScaleUp(in).newNodes.at(0).capacityType, CapacityType::Spot);
}

TEST(Solver, PoolMaxNodesAndLimits) {
  ScaleUpInput in;
  NodePool small = pool("small", {type("m", 4000, 16 * kGi, {spot(0.1)})});
  small.maxNodes = 2;
  NodeInfo existing = testing::node("old", 4000, 16 * kGi);
  existing.pool = "small";
  existing.requested = testing::res(4000, 0, 0, 1);
  in.nodes = {existing};
  in.pools = {small};
  in.pods = pods(3, 4000, kGi);
  ScaleUpPlan plan = planScaleUp(in);
  EXPECT_EQ(plan.newNodes.size(), 1u);  // one existing + one new = max 2
  ASSERT_EQ(plan.unschedulable.size(), 2u);
  EXPECT_EQ(plan.unschedulable[0].reason, "node pool small is at its maximum of 2 nodes");
  // A second, pricier pool takes the overflow.
  in.pools.push_back(pool("overflow", {type("m", 4000, 16 * kGi, {onDemand(0.3)})}));
  plan = planScaleUp(in);
  EXPECT_TRUE(plan.unschedulable.empty());
  EXPECT_NEAR(plan.newNodesHourlyCost(), 0.1 + 0.3 + 0.3, 1e-9);
  // Resource limits: the pool may hold at most 12 cores in total (4 existing + 8 new).
  in.pools.pop_back();
  in.pools[0].maxNodes = -1;
  in.pools[0].limits.cpuMilli = 12000;
  plan = planScaleUp(in);
  EXPECT_EQ(plan.newNodes.size(), 2u);
  ASSERT_EQ(plan.unschedulable.size(), 1u);
  EXPECT_EQ(plan.unschedulable[0].reason, "node pool small would exceed its cpu limit");
}

TEST(Solver, ExplainsPodsThatFitNowhere) {
  ScaleUpInput in;
  in.pools.push_back(pool("general", {type("m", 4000, 16 * kGi, {spot(0.1)}), type("l", 8000, 32 * kGi, {spot(0.2)})}));
  in.pods = pods(1, 1000, kGi, 2);
  ScaleUpPlan plan = planScaleUp(in);
  ASSERT_EQ(plan.unschedulable.size(), 1u);
  EXPECT_EQ(plan.unschedulable[0].reason, "no offering fits (2 checked): 2x Insufficient nvidia.com/gpu");
  in.pools.clear();
  plan = planScaleUp(in);
  ASSERT_EQ(plan.unschedulable.size(), 1u);
  EXPECT_EQ(plan.unschedulable[0].reason, "no node pool has an available offering");
}

TEST(Solver, InterPodConstraintsAreTreatedConservatively) {
  ScaleUpInput in;
  in.pools.push_back(pool("general", {type("m", 4000, 16 * kGi, {spot(0.1)})}));
  NodeInfo roomy = testing::node("roomy", 8000, 32 * kGi);
  in.nodes = {roomy};
  in.pods = pods(4, 500, kGi);
  in.pods[0].hasPodAffinity = true;
  in.pods[1].hasPodAntiAffinity = true;
  in.pods[2].hasTopologySpread = true;
  ScaleUpPlan plan = planScaleUp(in);
  ASSERT_EQ(plan.unschedulable.size(), 1u);
  EXPECT_EQ(plan.unschedulable[0].pod, 0u);
  EXPECT_NE(plan.unschedulable[0].reason.find("pod affinity"), std::string::npos);
  ASSERT_EQ(plan.onExisting.size(), 1u);  // only the unconstrained pod uses existing room
  EXPECT_EQ(plan.onExisting[0].pod, 3u);
  ASSERT_EQ(plan.newNodes.size(), 2u);  // one node per spread / anti-affine pod
  EXPECT_EQ(plan.newNodes[0].pods.size(), 1u);
  EXPECT_EQ(plan.newNodes[1].pods.size(), 1u);
}

TEST(Solver, CpuPodsUseSpareRoomOnNewGpuNodes) {
  ScaleUpInput in;
  in.pools.push_back(pool(
      "all", {type("gpu8", 64000, 256 * kGi, {spot(8.0)}, 8, "Tesla-V100"), type("m", 4000, 16 * kGi, {spot(0.1)})}));
  in.pods = pods(2, 4000, 16 * kGi, 4, "g");
  in.pools[0].labels["team"] = "a";
  auto cpu = pods(10, 2000, 8 * kGi, 0, "c");
  for (auto& p : cpu) p.nodeSelector["team"] = "a";  // another compatibility group than the GPU pods
  in.pods.insert(in.pods.end(), cpu.begin(), cpu.end());
  ScaleUpPlan plan = planScaleUp(in);
  ASSERT_EQ(plan.newNodes.size(), 1u);
  EXPECT_EQ(plan.newNodes[0].instanceType, "gpu8");
  EXPECT_EQ(plan.newNodes[0].pods.size(), 12u);
  SolverOptions apart;
  apart.fillNewNodeLeftovers = false;
  ScaleUpPlan separate = planScaleUp(in, apart);
  EXPECT_EQ(separate.newNodes.size(), 6u);  // gpu8 + five m nodes for the cpu pods
  EXPECT_GT(separate.newNodesHourlyCost(), plan.newNodesHourlyCost());
}

// GPU pods of every size 1..8 (ten each, 360 GPUs) and cpu-only pods on one 8-GPU type: small GPU
// pods must fill the gaps next to big ones (45 nodes), and cpu pods the spare cores.
TEST(Solver, FillsGpuGapsAcrossParts) {
  ScaleUpInput in;
  in.pools.push_back(pool(
      "all", {type("g8", 32000, 128 * kGi, {spot(2.0)}, 8, "Tesla-T4"), type("c16", 16000, 32 * kGi, {spot(0.2)})}));
  for (int g = 8; g >= 1; --g) {
    auto ps = pods(10, 1000 + 100 * g, 4 * kGi, g, "g" + std::to_string(g) + "-");
    in.pods.insert(in.pods.end(), ps.begin(), ps.end());
  }
  auto cpu = pods(300, 1500, 2 * kGi, 0, "c");
  in.pods.insert(in.pods.end(), cpu.begin(), cpu.end());
  ScaleUpPlan plan = planScaleUp(in);
  EXPECT_TRUE(plan.unschedulable.empty());
  int64_t gpus = 0;
  for (const auto& n : plan.newNodes) gpus += n.allocatable.gpus();
  EXPECT_EQ(gpus, 360);
  // 45 GPU nodes hold 45·32 = 1440 cores; GPU pods use 405 of them, so 690 cpu-only pods' worth of
  // room: all 300 fit and no c16 node is needed.
  EXPECT_EQ(plan.newNodes.size(), 45u);
  EXPECT_NEAR(plan.newNodesHourlyCost(), 90.0, 1e-9);
}

TEST(Solver, RightSizesTheTail) {
  ScaleUpInput in;
  in.pools.push_back(
      pool("general", {type("big", 16000, 64 * kGi, {spot(0.32)}), type("small", 2000, 8 * kGi, {spot(0.05)})}));
  in.pods = pods(17, 1000, 2 * kGi);  // 16 fill a big node, one is left over
  ScaleUpPlan plan = planScaleUp(in);
  double cost = plan.newNodesHourlyCost();
  EXPECT_NEAR(cost, 0.32 + 0.05, 1e-9) << plan.newNodes.size();
  SolverOptions raw;
  raw.rightSize = false;
  EXPECT_GE(planScaleUp(in, raw).newNodesHourlyCost(), cost);
}

TEST(Solver, EquivalenceClassesScaleToManyIdenticalPods) {
  ScaleUpInput in;
  in.pools.push_back(pool("general", {type("m", 4000, 16 * kGi, {spot(0.1)})}));
  in.pods = pods(5000, 1000, 4 * kGi);
  ScaleUpPlan plan = planScaleUp(in);
  EXPECT_EQ(plan.newNodes.size(), 1250u);
  EXPECT_EQ(placedCount(plan), 5000u);
}

TEST(Solver, LowerBound) {
  std::vector<NodePool> pools{
      pool("general", {type("c", 8000, 16 * kGi, {spot(0.30)}), type("r", 4000, 64 * kGi, {spot(0.30)})})};
  // cpu: 16 cores × (0.30/8) = 0.6; memory: 16Gi × (0.30/64) = 0.075 → 0.6
  auto p = pods(8, 2000, 2 * kGi);
  EXPECT_NEAR(fractionalLowerBound(p, pools), 0.6, 1e-9);
  // An 8-GPU pod cannot use the cheap 1-GPU type: the size-aware bound prices it on the 8-GPU one.
  std::vector<NodePool> gpuPools{
      pool("gpu", {type("g1", 4000, 16 * kGi, {spot(0.10)}, 1), type("g8", 32000, 128 * kGi, {spot(1.60)}, 8)})};
  auto big = pods(1, 1000, kGi, 8);
  EXPECT_NEAR(fractionalLowerBound(big, gpuPools), 0.8, 1e-9);
  EXPECT_NEAR(sizeAwareLowerBound(big, gpuPools), 1.6, 1e-9);
  EXPECT_NEAR(planScaleUp(ScaleUpInput{big, {}, gpuPools}).newNodesHourlyCost(), 1.6, 1e-9);
  NodeInfo n = nodeFromOffering(pools[0], pools[0].instanceTypes[0], pools[0].instanceTypes[0].offerings[0], "x");
  EXPECT_EQ(n.labels.at("node.kubernetes.io/instance-type"), "c");
  EXPECT_EQ(n.labels.at("spotfit.io/capacity-type"), "spot");
  EXPECT_EQ(n.labels.at("spotfit.io/node-pool"), "general");
  EXPECT_EQ(n.allocatable.pods, 110);
  EXPECT_EQ(n.capacityType, CapacityType::Spot);
}

}  // namespace
}  // namespace spotfit::placement

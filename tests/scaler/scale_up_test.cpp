// Scale-up rules of the reconcile loop, with a fake clock, the in-memory provider and the real placement
// solver: batching, in-flight accounting (incl. GPUs still registering), offering fallback, pool limits,
// budgets and interruption cool-off.

#include <gtest/gtest.h>

#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

NodePool cpuPool() {
  return m5Pool("cpu");
}

TEST(ScaleUp, WaitsForTheBatchToGoIdle) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.reconcile();
  EXPECT_EQ(env.provider.createRequests().size(), 0u);
  env.clock.advance(600ms);
  env.cluster.snapshot.pods.push_back(pendingPod("b", 500, 512));
  auto r = env.reconcile();
  EXPECT_EQ(env.provider.createRequests().size(), 0u);
  ASSERT_TRUE(r.wakeAt);
  EXPECT_EQ(*r.wakeAt, env.clock.wallNow() + 1s);
  env.clock.advance(999ms);
  env.reconcile();
  EXPECT_EQ(env.provider.createRequests().size(), 0u);
  env.clock.advance(1ms);
  r = env.reconcile();
  ASSERT_EQ(r.nodesCreated, 1);
  auto reqs = env.provider.createRequests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].pool, "cpu");
  EXPECT_EQ(reqs[0].instanceType, "m5.large");
  EXPECT_EQ(reqs[0].capacityType, CapacityType::Spot);  // cheapest offering that holds both pods
  EXPECT_EQ(env.actions.count("TriggeredScaleUp"), 2);
  EXPECT_EQ(env.scaler->metrics().counter(metric::kScaleUps, {{"pool", "cpu"}, {"capacity_type", "spot"}}), 1);
  EXPECT_TRUE(env.logged("scale-up: created cpu-"));
}

TEST(ScaleUp, BatchClosesAtMaxWhilePodsKeepArriving) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  auto start = env.clock.wallNow();
  int i = 0;
  while (env.clock.wallNow() - start < 10s) {
    env.cluster.snapshot.pods.push_back(pendingPod("p" + std::to_string(i++), 100, 128));
    env.reconcile();
    if (env.clock.wallNow() - start < 10s) {
      EXPECT_EQ(env.provider.createRequests().size(), 0u);
    }
    env.clock.advance(900ms);
  }
  env.clock.set(start + 10s);
  env.reconcile();
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
}

TEST(ScaleUp, InFlightNodesPreventDuplicateScaleUps) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  env.cluster.snapshot.pods.push_back(pendingPod("a", 1500, 1024));
  env.clock.advance(0ms);
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  // The pod is still pending while the node boots; a new small pod arrives and must use the same node.
  env.cluster.snapshot.pods.push_back(pendingPod("b", 300, 256));
  for (int k = 0; k < 20; ++k) {
    env.clock.advance(500ms);
    env.reconcile();
  }
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.scaler->inFlight().size(), 1u);
}

TEST(ScaleUp, GpuNodeStaysInFlightUntilItAdvertisesGpus) {
  Env env;
  auto gpu = pool("gpu", {CapacityType::OnDemand}, {type("g4dn.xlarge", 4000, 16, 0.526, 0, 1, "Tesla-T4")});
  gpu.taints.push_back({"nvidia.com/gpu", "true", placement::TaintEffect::NoSchedule});
  env.config.nodePools = {gpu};
  env.start();
  env.cluster.snapshot.pods.push_back(pendingPod("train", 1000, 1024, 1));
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.provider.createRequests()[0].extended.at("nvidia.com/gpu"), 1);
  // The Node registers and turns Ready, but the device plugin has not advertised nvidia.com/gpu yet.
  env.cluster.materialize(env.provider, /*ready=*/true, /*advertiseExtended=*/false);
  ASSERT_EQ(env.cluster.snapshot.nodes.size(), 1u);
  for (int k = 0; k < 30; ++k) {
    env.clock.advance(1s);
    env.reconcile();
  }
  EXPECT_EQ(env.provider.createRequests().size(), 1u) << "duplicate GPU scale-up while the GPU registers";
  EXPECT_EQ(env.scaler->inFlight().size(), 1u);
  ASSERT_EQ(env.cluster.snapshot.nodes.size(), 1u);
  env.cluster.snapshot.nodes[0].info.allocatable.set("nvidia.com/gpu", 1);
  env.reconcile();
  EXPECT_TRUE(env.scaler->inFlight().empty());
  EXPECT_TRUE(env.logged("initialized after"));
}

TEST(ScaleUp, InsufficientCapacityFallsBackAtOnceAndExpires) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  env.provider.setCapacityUnavailable("m5.large", CapacityType::Spot, true);
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.reconcile();
  env.clock.advance(1s);
  auto r = env.reconcile();
  EXPECT_EQ(r.nodesCreated, 1);
  auto reqs = env.provider.createRequests();
  ASSERT_EQ(reqs.size(), 2u);  // the failed spot attempt and the fallback, in the same reconcile
  EXPECT_EQ(reqs[0].instanceType, "m5.large");
  EXPECT_EQ(reqs[0].capacityType, CapacityType::Spot);
  EXPECT_EQ(reqs[1].instanceType, "m5.xlarge");  // another spot type is still cheaper than on-demand
  EXPECT_EQ(reqs[1].capacityType, CapacityType::Spot);
  EXPECT_TRUE(
      env.scaler->unavailableOfferings().unavailable({"cpu", "m5.large", CapacityType::Spot, ""}, env.clock.wallNow()));
  EXPECT_EQ(
      env.scaler->metrics().counter(metric::kScaleUpFailures, {{"pool", "cpu"}, {"reason", "insufficient_capacity"}}),
      1);
  EXPECT_EQ(env.actions.count("ScaleUpFailed"), 1);
  env.clock.advance(3min);
  EXPECT_FALSE(
      env.scaler->unavailableOfferings().unavailable({"cpu", "m5.large", CapacityType::Spot, ""}, env.clock.wallNow()));
}

TEST(ScaleUp, AllSpotGoneFallsBackToOnDemand) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  env.provider.setCapacityUnavailable("m5.large", CapacityType::Spot, true);
  env.provider.setCapacityUnavailable("m5.xlarge", CapacityType::Spot, true);
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.closeBatch();
  auto reqs = env.provider.createRequests();
  ASSERT_EQ(reqs.size(), 3u);
  EXPECT_EQ(reqs[2].capacityType, CapacityType::OnDemand);
  EXPECT_EQ(reqs[2].instanceType, "m5.large");
  EXPECT_EQ(env.provider.liveNodes(), 1u);
}

TEST(ScaleUp, QuotaMakesThePoolCapacityTypeUnavailable) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  env.provider.failNextCreates(1, makeError(kErrQuota, "vCPU quota reached"));
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.closeBatch();
  auto reqs = env.provider.createRequests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[0].capacityType, CapacityType::Spot);
  EXPECT_EQ(reqs[1].capacityType, CapacityType::OnDemand);  // every spot type of the pool is out
  EXPECT_TRUE(env.scaler->unavailableOfferings().unavailable({"cpu", "m5.xlarge", CapacityType::Spot, "z"},
                                                             env.clock.wallNow()));
}

TEST(ScaleUp, NodeNotReadyInTimeIsReplacedWithAnotherOffering) {
  Env env;
  auto p = cpuPool();
  p.provider.readyTimeout = 2min;
  env.config.nodePools = {p};
  env.start();
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  const auto first = env.provider.createRequests()[0];
  env.clock.advance(2min - 1ms);
  env.reconcile();
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
  env.clock.advance(1ms);
  env.reconcile();  // never registered: offering out for 3 minutes, node deleted, re-planned at once
  auto reqs = env.provider.createRequests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_NE(reqs[1].instanceType + std::string(toString(reqs[1].capacityType)),
            first.instanceType + std::string(toString(first.capacityType)));
  EXPECT_EQ(env.provider.removed(), std::vector<std::string>{first.nodeName});
  EXPECT_EQ(env.scaler->metrics().counter(metric::kScaleUpFailures, {{"pool", "cpu"}, {"reason", "not_ready"}}), 1);
  EXPECT_EQ(env.actions.count("NodeNotReady"), 1);
}

TEST(ScaleUp, PoolMaxNodesCapsTheScaleUp) {
  Env env;
  auto p = pool("small", {CapacityType::OnDemand}, {type("m5.large", 2000, 8, 0.096, 0)});
  p.maxNodes = 1;
  env.config.nodePools = {p};
  env.start();
  env.cluster.snapshot.pods.push_back(pendingPod("a", 1500, 512));
  env.cluster.snapshot.pods.push_back(pendingPod("b", 1500, 512));
  env.closeBatch();
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.actions.count("NotTriggerScaleUp"), 1);
}

TEST(ScaleUp, PoolCostLimitCapsTheScaleUp) {
  Env env;
  auto p = pool("small", {CapacityType::OnDemand}, {type("m5.large", 2000, 8, 0.10, 0)});
  p.limits.costPerHour = 0.25;
  env.config.nodePools = {p};
  env.start();
  for (const char* n : {"a", "b", "c"}) env.cluster.snapshot.pods.push_back(pendingPod(n, 1500, 512));
  env.closeBatch();
  EXPECT_EQ(env.provider.createRequests().size(), 2u);
  const auto* e = env.actions.find("NotTriggerScaleUp");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("cost limit"), std::string::npos);
}

ClusterPod budgetedPod(const std::string& name, const std::string& action) {
  auto p = pendingPod(name, 500, 512);
  p.info.workflow = "wf-" + name;
  p.info.annotations[kAnnotationBudget] = "0.5";
  p.info.annotations[kAnnotationBudgetAction] = action;
  return p;
}

// Runs a pod of workflow `wf` for two hours on a 1 USD/h on-demand node so that the workflow has spent
// about 0.25 USD x 2 h (its share of the node) and is over a 0.5 USD budget... plus a margin.
void spend(Env& env, const std::string& wf) {
  auto p = pool("ledger", {CapacityType::OnDemand}, {type("big", 2000, 8, 1.0, 0)});
  auto& node = env.cluster.addNode(p, "paid-" + wf, CapacityType::OnDemand, env.clock.wallNow());
  node.info.hourlyPrice = 1.0;
  auto spender = pendingPod("spender-" + wf, 2000, 8192);
  spender.info.workflow = wf;
  env.runPod(spender, "paid-" + wf);
  env.reconcile();
  env.clock.advance(1h);
  env.reconcile();
  env.cluster.removePod("spender-" + wf);
  env.cluster.removeNode("paid-" + wf);
  env.reconcile();
}

TEST(ScaleUp, OverBudgetSpotOnlyWorkflowNeverGetsOnDemand) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  spend(env, "wf-a");
  ASSERT_GT(env.scaler->workflowSpend("team", "wf-a"), 0.5);
  env.provider.setCapacityUnavailable("m5.large", CapacityType::Spot, true);
  env.provider.setCapacityUnavailable("m5.xlarge", CapacityType::Spot, true);
  env.cluster.snapshot.pods.push_back(budgetedPod("a", "spot-only"));
  env.closeBatch();
  for (const auto& r : env.provider.createRequests()) EXPECT_EQ(r.capacityType, CapacityType::Spot) << r.instanceType;
  EXPECT_EQ(env.provider.liveNodes(), 0u);
  EXPECT_EQ(env.actions.count("NotTriggerScaleUp"), 1);
}

TEST(ScaleUp, OverBudgetDenyWorkflowGetsNothing) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  spend(env, "wf-d");
  env.cluster.snapshot.pods.push_back(budgetedPod("d", "deny"));
  env.closeBatch();
  EXPECT_TRUE(env.provider.createRequests().empty());
  const auto* e = env.actions.find("BudgetExceeded");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->object.name, "d");
  env.clock.advance(1s);
  env.reconcile();
  EXPECT_EQ(env.actions.count("BudgetExceeded"), 1);  // reported once, not every loop
}

// placement/budget.hpp: "$0.5" is the same budget as "0.5" in every role (the scaler used to read it as no
// budget at all and scale up for it).
TEST(ScaleUp, BudgetWrittenWithADollarSignIsEnforcedLikeThePlainAmount) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  spend(env, "wf-d");
  auto pod = budgetedPod("d", "deny");
  pod.info.annotations[kAnnotationBudget] = "$0.5";
  env.cluster.snapshot.pods.push_back(pod);
  env.closeBatch();
  EXPECT_TRUE(env.provider.createRequests().empty());
  ASSERT_NE(env.actions.find("BudgetExceeded"), nullptr);
  EXPECT_NE(env.actions.find("BudgetExceeded")->message.find("workflow wf-d has spent $"), std::string::npos)
      << env.actions.find("BudgetExceeded")->message;
}

TEST(ScaleUp, UnderBudgetWorkflowIsNotRestricted) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  env.cluster.snapshot.pods.push_back(budgetedPod("d", "deny"));
  env.closeBatch();
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
}

TEST(ScaleUp, BootingNodesOfAPreviousLeaderAreAdoptedNotDuplicated) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  auto& booting = env.cluster.addNode(cpuPool(), "cpu-old", CapacityType::Spot, env.clock.wallNow() - 20s);
  booting.ready = false;
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.reconcile();
  EXPECT_EQ(env.scaler->inFlight().count("cpu-old"), 1u);
  env.clock.advance(1s);
  env.reconcile();
  EXPECT_TRUE(env.provider.createRequests().empty());
  env.cluster.node("cpu-old").ready = true;
  env.reconcile();
  EXPECT_TRUE(env.scaler->inFlight().empty());
}

TEST(ScaleUp, NoProviderIsReportedNotCrashing) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.scaler = std::make_unique<Scaler>(env.config, env.clock, env.actions, env.planner,
                                        [](const NodePool&) -> NodeProvider* { return nullptr; });
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.closeBatch();
  EXPECT_EQ(env.scaler->metrics().counter(metric::kScaleUpFailures, {{"pool", "cpu"}, {"reason", "no_provider"}}), 1);
}

}  // namespace
}  // namespace spotfit::scaler

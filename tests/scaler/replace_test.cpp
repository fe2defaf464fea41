// Replace-with-cheaper consolidation through placement::planConsolidation: the cheaper node is created
// first, the old one is drained (taint, evict, delete) only once the replacement is Ready, and nothing is
// replaced when it does not pay or a safety rule (do-not-disrupt, PDB allowance, pool minimum) forbids it.

#include <gtest/gtest.h>

#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

// First instance type is the big one (Cluster::addNode uses it); the second is four times cheaper.
NodePool bigAndSmall(const std::string& name = "od", double smallPrice = 0.096) {
  auto p = pool(name, {CapacityType::OnDemand},
                {type("m5.2xlarge", 8000, 32, 0.384, 0), type("m5.large", 2000, 8, smallPrice, 0)});
  p.disruption.consolidateAfter = 60s;
  p.disruption.unneededTime = 5min;
  p.disruption.utilizationThreshold = 0.5;
  return p;
}

bool replacementRequested(const Env& env) {
  for (const auto& r : env.provider.createRequests()) {
    if (r.instanceType == "m5.large") return true;
  }
  return false;
}

TEST(Replace, CheaperNodeCreatedFirstThenOldNodeDrainedWhenReplacementIsReady) {
  Env env;
  env.config.nodePools = {bigAndSmall()};
  env.start();
  env.cluster.addNode(bigAndSmall(), "big", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("web", 1000, 1024), "big");  // 12% of an m5.2xlarge; fits an m5.large
  env.reconcile();
  EXPECT_TRUE(env.provider.createRequests().empty());
  env.clock.advance(5min - 1s);
  env.reconcile();
  EXPECT_TRUE(env.provider.createRequests().empty()) << "replaced before the unneeded time";
  env.clock.advance(1s);
  env.reconcile();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  const auto repl = env.provider.createRequests().front();
  EXPECT_EQ(repl.instanceType, "m5.large");
  EXPECT_EQ(repl.capacityType, CapacityType::OnDemand);
  EXPECT_NE(env.actions.find("Replacing"), nullptr);
  EXPECT_EQ(env.scaler->metrics().counter(metric::kScaleUps, {{"pool", "od"}, {"capacity_type", "on-demand"}}), 1);
  // The replacement is not up yet: the old node is neither tainted nor drained.
  env.clock.advance(1s);
  env.reconcile();
  EXPECT_TRUE(env.actions.taints.empty());
  EXPECT_TRUE(env.scaler->drains().empty());
  EXPECT_EQ(env.provider.createRequests().size(), 1u) << "a second replacement was created";
  // Ready: the old node is tainted and its pod evicted.
  env.cluster.materialize(env.provider);
  env.clock.advance(1s);
  env.reconcile();
  ASSERT_EQ(env.scaler->drains().size(), 1u);
  EXPECT_EQ(env.scaler->drains().begin()->first, "big");
  EXPECT_EQ(env.scaler->drains().begin()->second.reason, DrainReason::Replaced);
  ASSERT_EQ(env.actions.taints.size(), 1u);
  EXPECT_EQ(env.actions.taints[0].first, "big");
  EXPECT_EQ(env.actions.evictions, std::vector<std::string>{"team/web"});
  env.cluster.removePod("web");
  env.clock.advance(1s);
  auto r = env.reconcile();
  EXPECT_EQ(r.nodesRemoved, 1);
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"big"});
  EXPECT_EQ(env.scaler->metrics().counter(metric::kScaleDowns, {{"pool", "od"}, {"reason", "replaced"}}), 1);
}

TEST(Replace, ReplacementThatNeverBecomesReadyKeepsTheOldNode) {
  Env env;
  env.config.nodePools = {bigAndSmall()};
  env.start();
  env.cluster.addNode(bigAndSmall(), "big", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("web", 1000, 1024), "big");
  env.reconcile();
  env.clock.advance(5min);
  env.reconcile();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  env.clock.advance(6min);  // past the provider's ready timeout without a Node
  env.reconcile();
  EXPECT_TRUE(env.actions.taints.empty());
  EXPECT_TRUE(env.actions.evictions.empty());
  EXPECT_TRUE(env.logged("did not become Ready")) << "old node drained without a replacement";
}

TEST(Replace, NotDoneWhenTheSavingIsTooSmall) {
  Env env;
  env.config.nodePools = {bigAndSmall("od", 0.36)};  // 6% cheaper: below the 10% that pays for a move
  env.start();
  env.cluster.addNode(bigAndSmall("od", 0.36), "big", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("web", 1000, 1024), "big");
  env.reconcile();
  env.clock.advance(10min);
  env.reconcile();
  EXPECT_FALSE(replacementRequested(env));
}

TEST(Replace, NotDoneForDoNotDisruptPods) {
  Env env;
  env.config.nodePools = {bigAndSmall()};
  env.start();
  env.cluster.addNode(bigAndSmall(), "big", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("web", 1000, 1024), "big");
  env.cluster.pod("web").info.doNotDisrupt = true;
  env.reconcile();
  env.clock.advance(10min);
  env.reconcile();
  EXPECT_FALSE(replacementRequested(env));
  EXPECT_TRUE(env.actions.evictions.empty());
}

TEST(Replace, NotDoneWhenAPdbAllowsNoDisruption) {
  for (int32_t allowed : {0, 1}) {
    SCOPED_TRACE(allowed);
    Env env;
    env.config.nodePools = {bigAndSmall()};
    env.start();
    env.cluster.addNode(bigAndSmall(), "big", CapacityType::OnDemand, env.clock.wallNow());
    env.runPod(replicaSetPod("web", 1000, 1024), "big");
    env.cluster.snapshot.pdbs.push_back({"team", "web-pdb", {}, allowed});
    env.reconcile();
    env.clock.advance(10min);
    env.reconcile();
    EXPECT_EQ(replacementRequested(env), allowed > 0);
  }
}

TEST(Replace, NotDoneWhenItTakesThePoolBelowItsMinimum) {
  for (int64_t minNodes : {1, 0}) {
    SCOPED_TRACE(minNodes);
    Env env;
    // The node's pool has only the expensive type; the cheaper one lives in another pool.
    auto big = pool("big", {CapacityType::OnDemand}, {type("m5.2xlarge", 8000, 32, 0.384, 0)});
    big.minNodes = minNodes;
    big.disruption.unneededTime = 5min;
    big.disruption.consolidateUnderused = false;  // keep the plain under-used drain out of the way
    auto small = pool("small", {CapacityType::OnDemand}, {type("m5.large", 2000, 8, 0.096, 0)});
    env.config.nodePools = {big, small};
    env.start();
    env.cluster.addNode(big, "big-1", CapacityType::OnDemand, env.clock.wallNow());
    env.runPod(replicaSetPod("web", 1000, 1024), "big-1");
    env.reconcile();
    env.clock.advance(10min);
    env.reconcile();
    EXPECT_EQ(replacementRequested(env), minNodes == 0);
  }
}

}  // namespace
}  // namespace spotfit::scaler

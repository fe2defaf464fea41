// Multi-node consolidation (placement::planMerge in the scaler): several under-used nodes whose pods fit
// nowhere else are replaced by one cheaper new node, created first; all the old nodes are drained once it is
// Ready. Nodes with pods that may not move stay out of the merge.

#include <gtest/gtest.h>

#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

// m5.xlarge first (Cluster::addNode uses it): 4 cpu at $0.30/h; m5.2xlarge: 8 cpu at $0.32/h.
NodePool mergePool(bool multiNode = true) {
  auto p = pool("od", {CapacityType::OnDemand},
                {type("m5.xlarge", 4000, 16, 0.30, 0), type("m5.2xlarge", 8000, 32, 0.32, 0)});
  p.disruption.consolidateAfter = 60s;
  p.disruption.unneededTime = 5min;
  p.disruption.utilizationThreshold = 0.6;
  p.disruption.consolidateMultiNode = multiNode;
  return p;
}

// Three m5.xlarge nodes with a 2.1-cpu pod each (52.5%): no pod fits on another node, all three fit one
// m5.2xlarge.
void threeNodes(Env& env, bool multiNode = true) {
  env.config.nodePools = {mergePool(multiNode)};
  env.start();
  for (int i = 0; i < 3; ++i) {
    const std::string n = "n" + std::to_string(i);
    env.cluster.addNode(mergePool(multiNode), n, CapacityType::OnDemand, env.clock.wallNow());
    env.runPod(replicaSetPod("web-" + std::to_string(i), 2100, 1024), n);
  }
}

TEST(Merge, ThreeNodesIntoOneReplacementDrainedWhenReady) {
  Env env;
  threeNodes(env);
  env.reconcile();
  env.clock.advance(5min);
  env.reconcile();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.provider.createRequests().front().instanceType, "m5.2xlarge");
  EXPECT_TRUE(env.logged("merge 3 under-used nodes")) << "no merge logged";
  env.clock.advance(1s);
  env.reconcile();
  EXPECT_TRUE(env.scaler->drains().empty()) << "drained before the replacement is Ready";
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
  env.cluster.materialize(env.provider);
  env.clock.advance(1s);
  env.reconcile();
  ASSERT_EQ(env.scaler->drains().size(), 3u);
  for (const auto& [name, d] : env.scaler->drains()) EXPECT_EQ(d.reason, DrainReason::Replaced) << name;
}

TEST(Merge, OffUnlessThePoolAsks) {
  Env env;
  threeNodes(env, /*multiNode=*/false);
  env.reconcile();
  env.clock.advance(5min);
  env.reconcile();
  env.clock.advance(1min);
  env.reconcile();
  EXPECT_TRUE(env.provider.createRequests().empty());
}

TEST(Merge, NodeWithAPodThatMayNotMoveStaysOut) {
  Env env;
  threeNodes(env);
  // A running Job pod without a checkpoint on n0: it cannot resume, so n0 is not merged.
  env.cluster.removePod("web-0");
  env.runPod(pendingPod("job-0", 2100, 1024), "n0");
  env.reconcile();
  env.clock.advance(5min);
  env.reconcile();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.provider.createRequests().front().instanceType, "m5.2xlarge");
  EXPECT_TRUE(env.logged("merge 2 under-used nodes"));
  env.cluster.materialize(env.provider);
  env.clock.advance(1s);
  env.reconcile();
  EXPECT_EQ(env.scaler->drains().size(), 2u);
  EXPECT_FALSE(env.scaler->drains().count("n0"));
}

}  // namespace
}  // namespace spotfit::scaler

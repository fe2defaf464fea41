// Spot interruption handling in the reconcile loop: notice taints, immediate replacement (no batch wait),
// eviction, removal, per-pool accounting and the on-demand cool-off after an interruption storm.

#include <gtest/gtest.h>

#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

NodePool spotPool() {
  return m5Pool("spot");
}

TEST(Interruption, NoticeTaintsDrainsAndReplacesAtOnce) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.start();
  env.cluster.addNode(spotPool(), "s1", CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("work", 1500, 1024), "s1");
  env.reconcile();
  EXPECT_TRUE(env.provider.createRequests().empty());
  env.cluster.interruptionNotice("s1");
  auto r = env.reconcile();  // same pass: replacement requested, node tainted, pod evicted
  EXPECT_EQ(r.nodesCreated, 1);
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  ASSERT_EQ(env.actions.taints.size(), 1u);
  EXPECT_EQ(env.actions.taints[0].first, "s1");
  EXPECT_EQ(env.actions.taints[0].second.key, kTaintDisrupting);
  EXPECT_EQ(env.actions.evictions, std::vector<std::string>{"team/work"});
  EXPECT_EQ(env.actions.count("SpotInterrupted"), 1);
  EXPECT_EQ(env.scaler->metrics().counter(metric::kInterruptions, {{"pool", "spot"}, {"instance_type", "m5.large"}}),
            1);
  // The evicted pod terminates and the node goes away; no second replacement for the same pod.
  env.cluster.removePod("work");
  env.clock.advance(1s);
  r = env.reconcile();
  EXPECT_EQ(r.nodesRemoved, 1);
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"s1"});
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.scaler->metrics().counter(metric::kScaleDowns, {{"pool", "spot"}, {"reason", "interrupted"}}), 1);
}

TEST(Interruption, ConfiguredNoticeKeysOnly) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.config.interruptionTaints = {"example.com/going-away"};
  env.start();
  env.cluster.addNode(spotPool(), "s1", CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("work", 1500, 1024), "s1");
  env.cluster.interruptionNotice("s1", kAwsSpotNotice);
  env.reconcile();
  EXPECT_TRUE(env.actions.taints.empty());
  env.cluster.interruptionNotice("s1", "example.com/going-away");
  env.reconcile();
  EXPECT_EQ(env.actions.taints.size(), 1u);
}

TEST(Interruption, NodeIsRemovedAtTheNoticeDeadlineEvenIfPodsRemain) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.start();
  env.cluster.addNode(spotPool(), "s1", CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("work", 1500, 1024), "s1");
  env.actions.evictScript["team/work"] = {EvictOutcome::Blocked};
  env.cluster.interruptionNotice("s1");
  env.reconcile();
  env.clock.advance(2min - 1s);
  env.reconcile();
  EXPECT_TRUE(env.actions.deletedNodes.empty());
  env.clock.advance(1s);
  env.reconcile();
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"s1"});
}

TEST(Interruption, NoticeDeadlineIsConfigurable) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.config.interruption.drainDeadline = 30s;  // GCP's preemption notice
  env.start();
  env.cluster.addNode(spotPool(), "s1", CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("work", 1500, 1024), "s1");
  env.actions.evictScript["team/work"] = {EvictOutcome::Blocked};
  env.cluster.interruptionNotice("s1", "cloud.google.com/impending-node-termination");
  env.reconcile();
  env.clock.advance(29s);
  env.reconcile();
  EXPECT_TRUE(env.actions.deletedNodes.empty());
  env.clock.advance(1s);
  env.reconcile();
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"s1"});
}

TEST(Interruption, StormSendsThePoolOnDemandForTheCoolOff) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.config.interruption = {10min, 2, 30min};
  env.start();
  for (const char* n : {"s1", "s2"}) env.cluster.addNode(spotPool(), n, CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("w1", 1500, 1024), "s1");
  env.runPod(pendingPod("w2", 1500, 1024), "s2");
  env.cluster.interruptionNotice("s1");
  env.reconcile();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.provider.createRequests()[0].capacityType, CapacityType::Spot);
  env.clock.advance(1min);
  env.cluster.interruptionNotice("s2");
  env.reconcile();
  EXPECT_TRUE(env.scaler->interruptions().inCoolOff("spot", env.clock.wallNow()));
  EXPECT_EQ(env.actions.count("SpotCoolOff"), 1);
  auto reqs = env.provider.createRequests();
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(reqs[1].capacityType, CapacityType::OnDemand);
  EXPECT_EQ(env.scaler->metrics().gauge(metric::kSpotCoolOff, {{"pool", "spot"}}), 1);
  // New pending work during the cool-off also goes on-demand; after it, spot again.
  env.cluster.snapshot.pods.push_back(pendingPod("later", 3500, 1024));  // fits no in-flight node
  env.clock.advance(1s);
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 3u);
  EXPECT_EQ(env.provider.createRequests()[2].capacityType, CapacityType::OnDemand);
  env.clock.advance(31min);
  env.cluster.snapshot.pods.push_back(pendingPod("after", 3500, 1024));
  env.closeBatch();
  ASSERT_GE(env.provider.createRequests().size(), 4u);
  EXPECT_EQ(env.provider.createRequests().back().capacityType, CapacityType::Spot);
}

TEST(Interruption, NodesOutsidePoolsAreDrainedButNotDeleted) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.start();
  auto other = spotPool();
  other.name = "unmanaged";
  env.cluster.addNode(other, "x1", CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("work", 1500, 1024), "x1");
  env.cluster.interruptionNotice("x1", "cloud.google.com/impending-node-termination");
  env.reconcile();
  EXPECT_EQ(env.actions.evictions, std::vector<std::string>{"team/work"});
  env.cluster.removePod("work");
  env.clock.advance(1s);
  env.reconcile();
  EXPECT_TRUE(env.actions.deletedNodes.empty());
  EXPECT_TRUE(env.scaler->drains().empty());
  EXPECT_TRUE(env.logged("not managed by a node pool"));
}

}  // namespace
}  // namespace spotfit::scaler

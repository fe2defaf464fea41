// Scale-down rules: empty nodes after consolidate-after, underused nodes only when their pods fit
// elsewhere, blockers, cool-down, pool minimum, PDB-refused evictions retried until the deadline, and
// bounded parallel drains.

#include <gtest/gtest.h>

#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

NodePool odPool() {
  auto p = pool("od", {CapacityType::OnDemand}, {type("m5.xlarge", 4000, 16, 0.192, 0)});
  p.disruption.consolidateAfter = 60s;
  p.disruption.unneededTime = 5min;
  p.disruption.utilizationThreshold = 0.5;
  return p;
}

NodeRequest request(const std::string& name) {
  NodeRequest r;
  r.nodeName = name;
  r.pool = "od";
  return r;
}

TEST(ScaleDown, EmptyNodeRemovedAfterConsolidateAfter) {
  Env env;
  env.config.nodePools = {odPool()};
  env.start();
  env.cluster.addNode(odPool(), "n1", CapacityType::OnDemand, env.clock.wallNow());
  ASSERT_TRUE(env.provider.create(request("n1")).ok());
  auto r = env.reconcile();
  ASSERT_TRUE(r.wakeAt);
  EXPECT_EQ(*r.wakeAt, env.clock.wallNow() + 60s);
  env.clock.advance(60s - 1ms);
  env.reconcile();
  EXPECT_TRUE(env.actions.taints.empty());
  env.clock.advance(1ms);
  r = env.reconcile();
  EXPECT_EQ(r.drainsStarted, 1);
  EXPECT_EQ(r.nodesRemoved, 1);  // nothing to evict: taint, delete Node, delete machine in one pass
  ASSERT_EQ(env.actions.taints.size(), 1u);
  EXPECT_EQ(env.actions.taints[0].second.key, kTaintDisrupting);
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"n1"});
  EXPECT_EQ(env.provider.removed(), std::vector<std::string>{"n1"});
  EXPECT_EQ(env.scaler->metrics().counter(metric::kScaleDowns, {{"pool", "od"}, {"reason", "empty"}}), 1);
  EXPECT_TRUE(env.logged("scale-down: removed node n1 (pool od, empty)"));
}

// A pod bound and finished between two passes (never seen running) restarts the node's empty time:
// consolidate-after counts from when its last pod finished, not from the first pass that saw it empty.
TEST(ScaleDown, PodFinishedBetweenPassesRestartsConsolidateAfter) {
  Env env;
  env.config.nodePools = {odPool()};
  env.start();
  env.cluster.addNode(odPool(), "n1", CapacityType::OnDemand, env.clock.wallNow());
  ASSERT_TRUE(env.provider.create(request("n1")).ok());
  env.reconcile();  // empty from here
  env.clock.advance(50s);
  auto& p = env.runPod(replicaSetPod("short", 500, 256), "n1");
  p.info.phase = placement::PodPhase::Succeeded;
  p.finishedAt = env.clock.wallNow();
  env.cluster.recomputeRequested();
  auto r = env.reconcile();
  ASSERT_TRUE(r.wakeAt);
  EXPECT_EQ(*r.wakeAt, env.clock.wallNow() + 60s);
  env.clock.advance(59s);  // 109 s after the node was first seen empty, 59 s after the pod finished
  r = env.reconcile();
  EXPECT_EQ(r.drainsStarted, 0);
  EXPECT_TRUE(env.actions.deletedNodes.empty());
  env.clock.advance(1s);
  r = env.reconcile();
  EXPECT_EQ(r.drainsStarted, 1);
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"n1"});
}

TEST(ScaleDown, DaemonSetPodsDoNotKeepANodeAlive) {
  Env env;
  env.config.nodePools = {odPool()};
  env.start();
  env.cluster.addNode(odPool(), "n1", CapacityType::OnDemand, env.clock.wallNow());
  auto ds = pendingPod("ds", 100, 64);
  ds.info.ownerKind = "DaemonSet";
  env.runPod(ds, "n1");
  env.reconcile();
  env.clock.advance(60s);
  env.reconcile();
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"n1"});
  EXPECT_TRUE(env.actions.evictions.empty());
}

TEST(ScaleDown, NoScaleDownDuringCoolDownAfterScaleUp) {
  Env env;
  env.config.nodePools = {odPool()};
  env.config.scaleDownCooldown = 5min;
  env.start();
  env.cluster.addNode(odPool(), "idle", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.snapshot.pods.push_back(pendingPod("big", 3900, 1024));  // does not fit next to nothing? it fits idle
  env.cluster.node("idle").info.taints.push_back({"dedicated", "x", placement::TaintEffect::NoSchedule});
  env.reconcile();
  env.clock.advance(1s);
  env.reconcile();  // scale-up happens (the idle node is tainted against the pod)
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  env.clock.advance(2min);
  env.reconcile();
  EXPECT_TRUE(env.actions.deletedNodes.empty());
  EXPECT_EQ(env.actions.count("ScaleDownBlocked"), 1);
  EXPECT_NE(env.actions.find("ScaleDownBlocked")->message.find("cool-down"), std::string::npos);
  env.clock.advance(3min);
  env.reconcile();
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"idle"});
}

TEST(ScaleDown, PoolMinimumIsKept) {
  Env env;
  auto p = odPool();
  p.minNodes = 1;
  env.config.nodePools = {p};
  env.start();
  env.cluster.addNode(p, "a", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.addNode(p, "b", CapacityType::OnDemand, env.clock.wallNow());
  env.reconcile();
  env.clock.advance(2min);
  env.reconcile();
  env.clock.advance(2min);
  env.reconcile();
  EXPECT_EQ(env.actions.deletedNodes.size(), 1u);
  const auto* e = env.actions.find("ScaleDownBlocked");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("minimum of 1"), std::string::npos);
}

TEST(ScaleDown, ParallelDrainsAreBounded) {
  Env env;
  env.config.nodePools = {odPool()};
  env.config.maxParallelDrains = 2;
  env.start();
  for (int i = 0; i < 5; ++i) {
    const std::string n = "n" + std::to_string(i);
    env.cluster.addNode(odPool(), n, CapacityType::OnDemand, env.clock.wallNow());
    env.runPod(replicaSetPod("p" + std::to_string(i), 100, 64), n);
  }
  env.actions.evictScript["team/p0"] = {EvictOutcome::Blocked};
  env.actions.evictScript["team/p1"] = {EvictOutcome::Blocked};
  env.actions.evictScript["team/p2"] = {EvictOutcome::Blocked};
  env.actions.evictScript["team/p3"] = {EvictOutcome::Blocked};
  env.actions.evictScript["team/p4"] = {EvictOutcome::Blocked};
  env.reconcile();
  env.clock.advance(6min);  // every node is underused (2.5%) for the unneeded time
  env.reconcile();
  EXPECT_EQ(env.scaler->drains().size(), 2u);
  env.clock.advance(10s);
  env.reconcile();
  EXPECT_EQ(env.scaler->drains().size(), 2u);
  EXPECT_EQ(env.scaler->metrics().gauge(metric::kDrains, {}), 2);
}

TEST(ScaleDown, UnderusedNodeDrainedOnlyWhenItsPodsFitElsewhere) {
  Env env;
  env.config.nodePools = {odPool()};
  env.start();
  env.cluster.addNode(odPool(), "busy", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.addNode(odPool(), "light", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("filler", 2500, 1024), "busy");  // 62% used: not underused
  env.runPod(replicaSetPod("small", 1000, 1024), "light");  // 25% used: underused, fits on busy
  env.reconcile();
  env.clock.advance(5min - 1s);
  env.reconcile();
  EXPECT_TRUE(env.scaler->drains().empty());
  env.clock.advance(1s);
  env.reconcile();
  ASSERT_EQ(env.scaler->drains().size(), 1u);
  EXPECT_EQ(env.scaler->drains().begin()->first, "light");
  EXPECT_EQ(env.actions.evictions, std::vector<std::string>{"team/small"});
  // The evicted pod terminates; the next pass deletes the node.
  env.cluster.removePod("small");
  env.clock.advance(1s);
  auto r = env.reconcile();
  EXPECT_EQ(r.nodesRemoved, 1);
  EXPECT_EQ(env.scaler->metrics().counter(metric::kScaleDowns, {{"pool", "od"}, {"reason", "underused"}}), 1);
}

TEST(ScaleDown, UnderusedNodeKeptWhenPodsHaveNowhereToGo) {
  Env env;
  env.config.nodePools = {odPool()};
  env.start();
  env.cluster.addNode(odPool(), "busy", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.addNode(odPool(), "light", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("filler", 3500, 1024), "busy");
  env.runPod(replicaSetPod("small", 1000, 1024), "light");
  env.reconcile();
  env.clock.advance(6min);
  env.reconcile();
  EXPECT_TRUE(env.scaler->drains().empty());
  const auto* e = env.actions.find("ScaleDownBlocked");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("do not fit"), std::string::npos) << e->message;
}

// Two underused nodes must not each count on the same free room: "light-a" and "light-b" each fit on
// "busy" alone, but not both. Only one is drained; the other stays while the first one's pods still need
// that room (in the same pass, and in later passes while its drain is in progress).
TEST(ScaleDown, UnderusedNodesDoNotCountOnTheSameRoom) {
  Env env;
  env.config.nodePools = {odPool()};
  env.start();
  env.cluster.addNode(odPool(), "busy", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.addNode(odPool(), "light-a", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.addNode(odPool(), "light-b", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("filler", 2800, 1024), "busy");  // 70% used: 1.2 CPUs free
  env.runPod(replicaSetPod("a", 1000, 1024), "light-a");    // 25% used
  env.runPod(replicaSetPod("b", 1000, 1024), "light-b");    // 25% used
  env.actions.evictScript["team/a"] = {EvictOutcome::Blocked, EvictOutcome::Blocked};
  env.actions.evictScript["team/b"] = {EvictOutcome::Blocked, EvictOutcome::Blocked};
  env.reconcile();
  env.clock.advance(5min);
  env.reconcile();
  ASSERT_EQ(env.scaler->drains().size(), 1u);
  const std::string drained = env.scaler->drains().begin()->first;
  const std::string kept = drained == "light-a" ? "light-b" : "light-a";
  const auto* e = env.actions.find("ScaleDownBlocked");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->object.name, kept);
  EXPECT_NE(e->message.find("do not fit"), std::string::npos) << e->message;
  // Later passes: the first node's pod is still there (its eviction is refused for now): still no room.
  env.clock.advance(10s);
  env.reconcile();
  EXPECT_EQ(env.scaler->drains().size(), 1u);
  EXPECT_FALSE(env.scaler->drains().count(kept));
}

struct BlockerCase {
  const char* name;
  std::function<void(placement::PodInfo&)> mutate;
  const char* expect;
  bool allowCheckpointed = false;
};

TEST(ScaleDown, BlockersKeepUnderusedNodes) {
  const BlockerCase cases[] = {
      {"do-not-disrupt", [](placement::PodInfo& p) { p.doNotDisrupt = true; }, "do-not-disrupt"},
      {"no-controller", [](placement::PodInfo& p) { p.hasController = false; }, "no controller"},
      {"local-storage", [](placement::PodInfo& p) { p.hasLocalStorage = true; }, "local storage"},
      {"running-job", [](placement::PodInfo& p) { p.ownerKind = "Job"; }, "running Job pod"},
      {"job-checkpoint-not-allowed",
       [](placement::PodInfo& p) {
         p.ownerKind = "Job";
         p.annotations[kAnnotationCheckpoint] = "/bin/save";
       },
       "running Job pod"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    Env env;
    auto p = odPool();
    p.disruption.disruptCheckpointedJobs = c.allowCheckpointed;
    env.config.nodePools = {p};
    env.start();
    env.cluster.addNode(p, "busy", CapacityType::OnDemand, env.clock.wallNow());
    env.cluster.addNode(p, "light", CapacityType::OnDemand, env.clock.wallNow());
    env.runPod(replicaSetPod("filler", 2500, 1024), "busy");
    env.runPod(replicaSetPod("small", 1000, 1024), "light");
    c.mutate(env.cluster.pod("small").info);
    env.reconcile();
    env.clock.advance(6min);
    env.reconcile();
    EXPECT_TRUE(env.scaler->drains().empty());
    const auto* e = env.actions.find("ScaleDownBlocked");
    ASSERT_NE(e, nullptr);
    EXPECT_NE(e->message.find(c.expect), std::string::npos) << e->message;
  }
}

TEST(ScaleDown, CheckpointedJobPodsMayMoveWhenThePoolAllowsIt) {
  Env env;
  auto p = odPool();
  p.disruption.disruptCheckpointedJobs = true;
  env.config.nodePools = {p};
  env.start();
  env.cluster.addNode(p, "busy", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.addNode(p, "light", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("filler", 2500, 1024), "busy");
  auto& small = env.runPod(pendingPod("small", 1000, 1024), "light");  // a Job's pod, with a checkpoint hook
  small.info.annotations[kAnnotationCheckpoint] = "/bin/save";
  small.info.annotations["spotfit.io/expected-duration"] = "3h";  // the move pays (checkpoint_moves_test.cpp)
  env.reconcile();
  env.clock.advance(6min);
  env.reconcile();
  EXPECT_EQ(env.scaler->drains().size(), 1u);
}

TEST(ScaleDown, PdbRefusalsRetriedUntilDeadlineThenUntaintAndBackOff) {
  Env env;
  auto p = odPool();
  p.disruption.drainTimeout = 1min;
  env.config.nodePools = {p};
  env.config.evictionRetry = 5s;
  env.config.drainFailureBackoff = 10min;
  env.start();
  env.cluster.addNode(p, "busy", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.addNode(p, "light", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("filler", 2500, 1024), "busy");
  env.runPod(replicaSetPod("small", 1000, 1024), "light");
  env.actions.evictScript["team/small"] = {EvictOutcome::Blocked};
  env.reconcile();
  env.clock.advance(5min);
  env.reconcile();
  ASSERT_EQ(env.scaler->drains().size(), 1u);
  for (int i = 0; i < 59; ++i) {
    env.clock.advance(1s);
    env.reconcile();
  }
  EXPECT_EQ(env.actions.evictions.size(), 12u);  // at 0 s and every 5 s until 55 s
  EXPECT_EQ(env.actions.count("EvictionBlocked"), 1);
  EXPECT_TRUE(env.actions.untaints.empty());
  env.clock.advance(1s);
  env.reconcile();
  EXPECT_TRUE(env.scaler->drains().empty());
  ASSERT_EQ(env.actions.untaints.size(), 1u);
  EXPECT_EQ(env.actions.untaints[0], (std::pair<std::string, std::string>{"light", kTaintDisrupting}));
  EXPECT_TRUE(env.actions.deletedNodes.empty());
  EXPECT_EQ(env.actions.count("DrainFailed"), 1);
  EXPECT_EQ(env.scaler->metrics().counter(metric::kScaleDownFailures, {{"pool", "od"}, {"reason", "drain_timeout"}}),
            1);
  // Backed off: not retried for 10 minutes even though it is still underused.
  env.actions.evictScript["team/small"] = {EvictOutcome::Evicted};
  for (int i = 0; i < 9; ++i) {
    env.clock.advance(1min);
    env.reconcile();
    EXPECT_TRUE(env.scaler->drains().empty()) << i;
  }
  env.clock.advance(1min);
  env.reconcile();
  EXPECT_EQ(env.scaler->drains().size(), 1u);
}

TEST(ScaleDown, EvictionThatSucceedsLaterLetsTheDrainFinish) {
  Env env;
  env.config.nodePools = {odPool()};
  env.config.evictionRetry = 5s;
  env.start();
  env.cluster.addNode(odPool(), "busy", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.addNode(odPool(), "light", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("filler", 2500, 1024), "busy");
  env.runPod(replicaSetPod("small", 1000, 1024), "light");
  env.actions.evictScript["team/small"] = {EvictOutcome::Blocked, EvictOutcome::Blocked, EvictOutcome::Evicted};
  env.reconcile();
  env.clock.advance(5min);
  env.runFor(20s, 1s, false);
  env.cluster.removePod("small");
  env.runFor(2s, 1s, false);
  EXPECT_EQ(env.actions.evictions.size(), 3u);
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"light"});
  EXPECT_EQ(env.provider.removed().size(), 0u);  // the machine was not from this provider; remove is idempotent
}

TEST(ScaleDown, FailedTaintBacksOff) {
  Env env;
  env.config.nodePools = {odPool()};
  env.start();
  env.actions.failTaint = true;
  env.cluster.addNode(odPool(), "n1", CapacityType::OnDemand, env.clock.wallNow());
  env.reconcile();
  env.clock.advance(60s);
  env.reconcile();
  EXPECT_TRUE(env.scaler->drains().empty());
  EXPECT_EQ(env.scaler->metrics().counter(metric::kScaleDownFailures, {{"pool", "od"}, {"reason", "taint_failed"}}), 1);
  env.actions.failTaint = false;
  env.clock.advance(1min);
  env.reconcile();
  EXPECT_TRUE(env.scaler->drains().empty());
  env.clock.advance(5min);
  env.reconcile();
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"n1"});
}

TEST(ScaleDown, ProviderDeleteFailureIsRetried) {
  Env env;
  env.config.nodePools = {odPool()};
  env.start();
  env.cluster.addNode(odPool(), "n1", CapacityType::OnDemand, env.clock.wallNow());
  ASSERT_TRUE(env.provider.create(request("n1")).ok());
  env.provider.failNextRemoves(1, makeError("io", "cloud API unavailable"));
  env.reconcile();
  env.clock.advance(60s);
  env.reconcile();
  EXPECT_EQ(env.provider.liveNodes(), 1u);
  EXPECT_EQ(env.scaler->drains().size(), 1u);
  env.clock.advance(5s);
  env.reconcile();
  EXPECT_EQ(env.provider.liveNodes(), 0u);
  EXPECT_EQ(env.actions.deletedNodes.size(), 1u);  // the Node object is deleted once
}

TEST(ScaleDown, NodesOutsideAnyPoolAreLeftAlone) {
  Env env;
  env.config.nodePools = {odPool()};
  env.start();
  auto foreign = odPool();
  foreign.name = "someone-else";
  env.cluster.addNode(foreign, "theirs", CapacityType::OnDemand, env.clock.wallNow());
  env.reconcile();
  env.clock.advance(1h);
  env.reconcile();
  EXPECT_TRUE(env.actions.taints.empty());
}

}  // namespace
}  // namespace spotfit::scaler

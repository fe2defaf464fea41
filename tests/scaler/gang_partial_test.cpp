// Partly placed gangs (gang_partial.cpp): members on nodes while the rest can get no capacity have their
// gang's nodes released after scaler.gangPartialTimeout, never kept half used; a gang completed in time
// keeps them.

#include <gtest/gtest.h>

#include <algorithm>

#include "placement/gang_detect.hpp"
#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;

const std::string kGang = "team/annotation/Job/train";

NodePool gpuPool() {
  return pool("gpu", {CapacityType::Spot, CapacityType::OnDemand},
              {type("g5.xlarge", 4000, 16, 1.006, 0.40, 1, "NVIDIA-A10G")});
}

ClusterPod member(const std::string& name) {
  ClusterPod p = pendingPod(name, 2000, 4096, 1);
  p.info.annotations["spotfit.io/gang"] = "true";
  p.info.annotations["spotfit.io/gang-size"] = "4";
  return p;
}

// Two members run on Ready spot nodes labelled for the gang (what a launch left); the other two are
// pending and spot g5 capacity is gone, so they can get none (the gang is pinned to spot).
void halfPlacedGang(Env& env) {
  env.config.nodePools = {gpuPool()};
  env.config.gangPartialTimeout = 10min;
  env.start();
  for (int i = 0; i < 2; ++i) {
    const std::string node = "gang-" + std::to_string(i);
    ClusterNode& n = env.cluster.addNode(env.config.nodePools[0], node, CapacityType::Spot, env.clock.wallNow());
    n.info.labels[std::string(placement::kLabelGangNode)] = placement::gangLabelValue(kGang);
    env.runPod(member("w" + std::to_string(i)), node);
  }
  env.cluster.snapshot.pods.push_back(member("w2"));
  env.cluster.snapshot.pods.push_back(member("w3"));
  env.cluster.recomputeRequested();
  env.provider.setCapacityUnavailable("g5.xlarge", CapacityType::Spot, true);
}

bool tainted(const Env& env, const std::string& node) {
  return std::any_of(env.actions.taints.begin(), env.actions.taints.end(),
                     [&](const auto& t) { return t.first == node; });
}

TEST(GangPartial, NodesOfAGangWhoseRestGetsNoCapacityAreReleasedAfterTheDeadline) {
  Env env;
  halfPlacedGang(env);
  env.runFor(9min);
  EXPECT_TRUE(env.logged("its nodes are released in 10m"));
  EXPECT_EQ(env.actions.count("GangReleased"), 0);
  EXPECT_FALSE(tainted(env, "gang-0"));
  for (const auto& r : env.provider.createRequests()) EXPECT_EQ(r.capacityType, CapacityType::Spot);  // never mixed
  const ReconcileResult before = env.reconcile();
  ASSERT_TRUE(before.wakeAt.has_value());
  EXPECT_LE(*before.wakeAt, env.clock.wallNow() + 1min + 1s);  // the deadline wakes the loop
  env.runFor(2min);
  EXPECT_EQ(env.actions.count("GangReleased"), 1);
  EXPECT_TRUE(tainted(env, "gang-0"));
  EXPECT_TRUE(tainted(env, "gang-1"));
  EXPECT_NE(std::find(env.actions.evictions.begin(), env.actions.evictions.end(), "team/w0"),
            env.actions.evictions.end());
  EXPECT_TRUE(env.logged("released 2 node(s) of the gang"));
}

TEST(GangPartial, AGangCompletedBeforeTheDeadlineKeepsItsNodes) {
  Env env;
  halfPlacedGang(env);
  env.runFor(5min);
  // The missing members find room (nodes another scaler or an operator added) before the deadline.
  for (int i = 2; i < 4; ++i) {
    const std::string node = "late-" + std::to_string(i);
    env.cluster.addNode(env.config.nodePools[0], node, CapacityType::Spot, env.clock.wallNow());
    env.cluster.bind("w" + std::to_string(i), node, env.clock.wallNow());
  }
  env.cluster.recomputeRequested();
  env.runFor(10min);
  EXPECT_EQ(env.actions.count("GangReleased"), 0);
  EXPECT_FALSE(tainted(env, "gang-0"));
  EXPECT_FALSE(tainted(env, "gang-1"));
}

TEST(GangPartial, TheTimeoutIsConfigurable) {
  auto cfg = parseScalerConfig("scaler:\n  gangPartialTimeout: 1h30m\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->gangPartialTimeout, 90min);
  EXPECT_EQ(ScalerConfig{}.gangPartialTimeout, 10min);
}

}  // namespace
}  // namespace spotfit::scaler

// ScalerConfig::publishCostSeries = false (the simulator's setting): no workflow, owner or namespace
// cost series, whose construction reads every workflow of the ledger on each reconcile; the other
// gauges and the ledger itself are unaffected.

#include <gtest/gtest.h>

#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

NodePool onePool() {
  return pool("big", {CapacityType::OnDemand}, {type("m5.24xlarge", 96000, 384, 4.608, 1.5)});
}

size_t seriesOf(const Env& env, const char* name) {
  const auto& g = env.scaler->metrics().gauges();
  auto it = g.find(name);
  return it == g.end() ? 0 : it->second.size();
}

TEST(CostSeriesOff, NoCostSeriesButTheLedgerAndOtherGaugesStay) {
  for (bool publish : {true, false}) {
    Env env;
    env.config.nodePools = {onePool()};
    env.config.publishCostSeries = publish;
    env.start();
    env.cluster.addNode(onePool(), "n1", CapacityType::OnDemand, env.clock.wallNow());
    for (int i = 0; i < 10; ++i) {
      ClusterPod p = pendingPod("p" + std::to_string(i), 500, 256);
      p.info.workflow = "wf" + std::to_string(i);
      p.info.ownerName = p.info.workflow;
      env.runPod(p, "n1");
    }
    env.reconcile();
    env.clock.advance(1h);
    env.reconcile();
    const size_t expected = publish ? 10 : 0;
    EXPECT_EQ(seriesOf(env, metric::kWorkflowCost), expected) << publish;
    EXPECT_EQ(seriesOf(env, metric::kNamespaceCost), publish ? 1u : 0u) << publish;
    EXPECT_EQ(seriesOf(env, metric::kOwnerCost) > 0, publish) << publish;
    EXPECT_GT(seriesOf(env, metric::kNodes), 0u) << publish;
    EXPECT_GT(env.scaler->ledger().workflowSpend({"team", "wf9"}, env.clock.wallNow()), 0) << publish;
  }
}

}  // namespace
}  // namespace spotfit::scaler

// The spotfit-risk strategy: spotfit's scaler with spot offerings chosen by interruption risk, side by
// side with spotfit (price only) on a market where the cheapest spot type is interrupted often.

#include <gtest/gtest.h>

#include <string>

#include "sim/engine.hpp"
#include "sim/workload.hpp"

namespace spotfit::sim {
namespace {

// "hot" spot is 5% cheaper than "calm" but interrupted twice an hour per node; 1-hour pods that cannot
// resume arrive every 30 minutes. spotfit keeps launching "hot" (its cool-off then sends the pool to
// on-demand); spotfit-risk learns the rate from the first interruptions and moves to "calm".
const char* kHotMarket = R"(horizon: 8h
drainLimit: 10h
seed: 5
provisioning: {delay: 60s, jitter: 0s, podStartup: 0s}
spotMarket:
  interruptionsPerHour: {default: 0.0, hot: 2.0}
  notice: 2m
checkpoint: {saveTime: 20s, lostWithCheckpoint: 0.05, lostWithoutCheckpoint: 1.0}
spotfit:
  spotRisk: {priorInterruptionsPerHour: 0.0, priorWeight: 2h, maxOfferingShare: 1}
nodePools:
  - name: p
    capacityTypes: [spot, on-demand]
    instanceTypes:
      - {name: hot,  cpu: "4", memory: 16Gi, onDemandPrice: 0.4, spotPrice: 0.095}
      - {name: calm, cpu: "4", memory: 16Gi, onDemandPrice: 0.4, spotPrice: 0.100}
workflows:
  - name: w
    arrival: {every: 30m, start: 0s}
    jobs:
      - name: run
        completions: 4
        parallelism: 4
        duration: 1h
        requests: {cpu: "2", memory: 4Gi}
        annotations: {spotfit.io/expected-duration: 1h}
)";

StrategyResult run(const std::string& strategy) {
  auto w = parseWorkload(kHotMarket, "test.yaml");
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message);
  auto s = strategyByName(strategy);
  EXPECT_TRUE(s.ok());
  return simulate(*w, *s, SimulationOptions{1});
}

TEST(SpotRiskSim, RiskAwareChoiceLosesLessWorkAndCostsLess) {
  StrategyResult today = run("spotfit");
  StrategyResult risk = run("spotfit-risk");
  EXPECT_EQ(today.tasksCompleted, today.tasks);
  EXPECT_EQ(risk.tasksCompleted, risk.tasks);
  EXPECT_GT(today.spotInterruptions, 2 * risk.spotInterruptions);
  EXPECT_LT(risk.workLostHours, today.workLostHours / 2);
  EXPECT_LT(risk.totalCostUsd, today.totalCostUsd);
}

TEST(SpotRiskSim, SpotRiskSectionIsValidated) {
  std::string y = kHotMarket;
  y.replace(y.find("maxOfferingShare: 1"), 19, "maxOfferingShare: 0");
  auto w = parseWorkload(y, "test.yaml");
  ASSERT_FALSE(w.ok());
  EXPECT_NE(w.error().message.find("maxOfferingShare"), std::string::npos) << w.error().message;
}

}  // namespace
}  // namespace spotfit::sim

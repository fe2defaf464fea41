#include "placement/spot_risk.hpp"

#include <gtest/gtest.h>

#include <map>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;

InstanceType type(const std::string& name, int64_t cpu, int64_t mem, double spotPrice, double onDemandPrice) {
  InstanceType t;
  t.name = name;
  t.allocatable = testing::res(cpu, mem, 0, 110);
  t.offerings = {{CapacityType::Spot, spotPrice, true}, {CapacityType::OnDemand, onDemandPrice, true}};
  return t;
}

// Two spot offerings of the same shape: "cheap" is 10% cheaper than "calm".
ScaleUpInput twoOfferings(int pods) {
  ScaleUpInput in;
  NodePool p;
  p.name = "batch";
  p.instanceTypes = {type("cheap", 4000, 16 * kGi, 0.090, 0.30), type("calm", 4000, 16 * kGi, 0.100, 0.30)};
  in.pools.push_back(p);
  for (int i = 0; i < pods; ++i) in.pods.push_back(testing::pod("p" + std::to_string(i), 1000, 2 * kGi));
  return in;
}

std::map<std::string, size_t> podsByType(const ScaleUpPlan& plan) {
  std::map<std::string, size_t> out;
  for (const auto& n : plan.newNodes) out[n.instanceType] += n.pods.size();
  return out;
}

TEST(SpotRisk, EstimatedRateShrinksHistoryTowardThePrior) {
  EXPECT_DOUBLE_EQ(estimatedRate({}, {}), 0);
  EXPECT_DOUBLE_EQ(estimatedRate({}, {0.05, 10}), 0.05);  // no history: the prior
  // 4 interruptions in 20 node-hours with a prior of 0.05/h worth 10 node-hours: (0.5 + 4) / 30.
  EXPECT_DOUBLE_EQ(estimatedRate({4, 20}, {0.05, 10}), 4.5 / 30);
  EXPECT_DOUBLE_EQ(estimatedRate({4, 20}, {0.05, 0}), 0.2);  // no prior weight: the observed rate
  EXPECT_DOUBLE_EQ(estimatedRate({-1, -5}, {-1, -1}), 0);    // nonsense counts as nothing
}

TEST(SpotRisk, RiskAdjustedPriceAddsExpectedLostWork) {
  EXPECT_DOUBLE_EQ(riskAdjustedPrice(0.1, 0, 3, 1), 0.1);
  // 0.2 interruptions/h over a 3 h pod that loses everything: +30%.
  EXPECT_DOUBLE_EQ(riskAdjustedPrice(0.1, 0.2, 3, 1), 0.1 * 1.3);
  // Resumable (loses 10% of its progress): +3%.
  EXPECT_DOUBLE_EQ(riskAdjustedPrice(0.1, 0.2, 3, 0.1), 0.1 * 1.03);
}

TEST(SpotRisk, MeanWorkAtRiskCountsResumablePodsLess) {
  ScaleUpInput in = twoOfferings(2);
  SpotRiskInput risk;
  risk.runtimeHours = {2, 0};  // the second pod's runtime is unknown: defaultRuntimeHours
  risk.defaultRuntimeHours = 4;
  risk.resumableLostWork = 0.25;
  EXPECT_DOUBLE_EQ(meanWorkAtRiskHours(in, risk), (1.0 + 2.0) / 2);
  in.pods[1].annotations["spotfit.io/resumable"] = "true";
  EXPECT_DOUBLE_EQ(meanWorkAtRiskHours(in, risk), (1.0 + 0.25 * 2.0) / 2);
}

TEST(SpotRisk, LongNonResumablePodsAvoidTheOftenInterruptedCheaperOffering) {
  ScaleUpInput in = twoOfferings(4);
  SpotRiskInput risk;
  risk.spotRates[{"batch", "cheap"}] = 0.3;
  risk.spotRates[{"batch", "calm"}] = 0.01;
  risk.runtimeHours = {2, 2, 2, 2};
  // Today's choice (price only) and the risk-blind one agree: the cheaper type.
  EXPECT_EQ(podsByType(planScaleUp(in)), (std::map<std::string, size_t>{{"cheap", 4}}));
  RiskPlan rp = planScaleUpByRisk(in, risk);
  EXPECT_EQ(podsByType(rp.plan), (std::map<std::string, size_t>{{"calm", 4}}));
  ASSERT_EQ(rp.plan.newNodes.size(), 1u);
  EXPECT_DOUBLE_EQ(rp.plan.newNodes[0].hourlyPrice, 0.100);  // the real price, not the adjusted one
}

TEST(SpotRisk, ShortOrResumablePodsKeepTheCheaperOffering) {
  ScaleUpInput in = twoOfferings(4);
  SpotRiskInput risk;
  risk.spotRates[{"batch", "cheap"}] = 0.3;
  risk.runtimeHours = {0.25, 0.25, 0.25, 0.25};  // 15 minutes: +3.75%, less than the 11% price gap
  EXPECT_EQ(podsByType(planScaleUpByRisk(in, risk).plan), (std::map<std::string, size_t>{{"cheap", 4}}));
  risk.runtimeHours = {2, 2, 2, 2};
  for (auto& p : in.pods) p.annotations["spotfit.io/checkpoint"] = "/bin/save";
  risk.resumableLostWork = 0.1;  // resumable: +3%
  EXPECT_EQ(podsByType(planScaleUpByRisk(in, risk).plan), (std::map<std::string, size_t>{{"cheap", 4}}));
}

TEST(SpotRisk, BlastRadiusCapSpreadsAPhaseOverOfferings) {
  ScaleUpInput in = twoOfferings(16);  // four full nodes on the cheap type without a cap
  SpotRiskInput risk;
  risk.maxOfferingShare = 0.5;
  risk.maxSpreadPremium = 0.2;  // "calm" costs 11% more
  RiskPlan rp = planScaleUpByRisk(in, risk);
  EXPECT_EQ(podsByType(rp.plan), (std::map<std::string, size_t>{{"cheap", 8}, {"calm", 8}}));
  EXPECT_EQ(rp.spreadOfferings, 1);
  std::vector<int> seen(16, 0);
  for (const auto& n : rp.plan.newNodes) {
    EXPECT_EQ(n.capacityType, CapacityType::Spot);
    for (size_t p : n.pods) ++seen[p];
  }
  for (int s : seen) EXPECT_EQ(s, 1);  // every pod placed exactly once
  // Without the cap (or below spreadMinPods) nothing is spread.
  risk.maxOfferingShare = 1;
  EXPECT_EQ(podsByType(planScaleUpByRisk(in, risk).plan), (std::map<std::string, size_t>{{"cheap", 16}}));
  risk.maxOfferingShare = 0.5;
  risk.spreadMinPods = 17;
  EXPECT_EQ(podsByType(planScaleUpByRisk(in, risk).plan), (std::map<std::string, size_t>{{"cheap", 16}}));
}

TEST(SpotRisk, BlastRadiusCapNeverStrandsPods) {
  ScaleUpInput in = twoOfferings(16);
  in.pools[0].instanceTypes.pop_back();  // only "cheap" offers spot ...
  in.pools[0].allowOnDemand = false;     // ... and on-demand is not allowed: nowhere to spread
  SpotRiskInput risk;
  risk.maxOfferingShare = 0.5;
  RiskPlan rp = planScaleUpByRisk(in, risk);
  EXPECT_TRUE(rp.plan.unschedulable.empty());
  EXPECT_EQ(podsByType(rp.plan), (std::map<std::string, size_t>{{"cheap", 16}}));
  EXPECT_EQ(rp.spreadOfferings, 0);
}

TEST(SpotRisk, BlastRadiusCapDoesNotSpreadAtAnyPrice) {
  ScaleUpInput in = twoOfferings(16);
  in.pools[0].instanceTypes[1].offerings[0].hourlyPrice = 0.2;  // "calm" spot now costs 2.2 × "cheap"
  SpotRiskInput risk;
  risk.maxOfferingShare = 0.5;
  risk.maxSpreadPremium = 0.1;
  EXPECT_EQ(podsByType(planScaleUpByRisk(in, risk).plan), (std::map<std::string, size_t>{{"cheap", 16}}));
  risk.maxSpreadPremium = 1.5;
  EXPECT_EQ(podsByType(planScaleUpByRisk(in, risk).plan), (std::map<std::string, size_t>{{"cheap", 8}, {"calm", 8}}));
}

TEST(SpotRisk, SpreadPodsUseRoomOnExistingNodesFirst) {
  ScaleUpInput in = twoOfferings(16);
  in.nodes.push_back(testing::node("old", 2000, 8 * kGi));
  SpotRiskInput risk;
  risk.maxOfferingShare = 0.5;
  risk.maxSpreadPremium = 0.2;
  RiskPlan rp = planScaleUpByRisk(in, risk);
  size_t onOld = 0;
  for (const auto& a : rp.plan.onExisting) onOld += a.node == "old";
  EXPECT_EQ(onOld, 2u);  // the node's room is used once, not twice
  size_t placed = onOld;
  for (const auto& n : rp.plan.newNodes) placed += n.pods.size();
  EXPECT_EQ(placed, 16u);
}

}  // namespace
}  // namespace spotfit::placement

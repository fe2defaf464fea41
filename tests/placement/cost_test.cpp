#include "placement/cost.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;

TEST(Cost, SplitsNodePriceTheOpenCostWay) {
  Resources cap = testing::res(4000, 16 * kGi);
  ResourceRates r = splitNodePrice(0.2, cap);
  // ramRate = 0.2 / (4·0.031611/0.004237 + 16)
  double ram = 0.2 / (4 * 0.031611 / 0.004237 + 16);
  EXPECT_NEAR(r.ramPerGiBHour, ram, 1e-12);
  EXPECT_NEAR(r.cpuPerCoreHour, ram * 0.031611 / 0.004237, 1e-12);
  EXPECT_NEAR(4 * r.cpuPerCoreHour + 16 * r.ramPerGiBHour, 0.2, 1e-12);  // rates re-add to the price
  EXPECT_NEAR(costRate(cap, r), 0.2, 1e-12);
}

TEST(Cost, GpuNodesChargeMostlyForGpus) {
  Resources cap = testing::res(8000, 32 * kGi, 1);
  ResourceRates r = splitNodePrice(0.526, cap);
  EXPECT_NEAR(8 * r.cpuPerCoreHour + 32 * r.ramPerGiBHour + r.gpuPerHour, 0.526, 1e-12);
  EXPECT_NEAR(r.gpuPerHour / r.ramPerGiBHour, 0.95 / 0.004237, 1e-9);
  EXPECT_GT(r.gpuPerHour, 0.526 / 2);
}

TEST(Cost, PodCostUsesMaxOfRequestAndUsage) {
  ResourceRates r{0.04, 0.005, 1.0};
  Resources req = testing::res(500, 2 * kGi);
  Resources use = testing::res(1000, kGi);
  EXPECT_NEAR(costRate(req, r), 0.5 * 0.04 + 2 * 0.005, 1e-12);
  EXPECT_NEAR(podCost(req, use, r, 2.0), (1.0 * 0.04 + 2 * 0.005) * 2, 1e-12);
}

TEST(Cost, SpotAndIdleSplit) {
  NodeInfo n = testing::node("n", 4000, 16 * kGi, 0, CapacityType::Spot, 0.06);
  n.requested = testing::res(2000, 8 * kGi, 0, 2);
  NodeCostSplit s = splitNodeCost(n);
  EXPECT_NEAR(s.podsPerHour, 0.03, 1e-12);  // half of every resource requested → half the price
  EXPECT_NEAR(s.idlePerHour, 0.03, 1e-12);
  EXPECT_NEAR(podCostRateOnNode(testing::res(1000, 4 * kGi), n), 0.015, 1e-12);
  // Spot weights give the same split shape (OpenCost uses them for the list price of spot nodes).
  EXPECT_NEAR(listPrice(testing::res(1000, kGi), kSpotCostWeights), 0.006655 + 0.000892, 1e-12);
  EXPECT_NEAR(listPrice(testing::res(1000, kGi, 1)), 0.031611 + 0.004237 + 0.95, 1e-12);
}

TEST(Cost, NoPriceOrNoCapacityMeansZeroRates) {
  ResourceRates r = splitNodePrice(0, testing::res(4000, 16 * kGi));
  EXPECT_EQ(r.cpuPerCoreHour, 0);
  ResourceRates empty = splitNodePrice(1.0, Resources{});
  EXPECT_EQ(empty.ramPerGiBHour, 0);
  NodeInfo n = testing::node("n", 0, 0);
  n.requested = testing::res(100, kGi);
  EXPECT_EQ(splitNodeCost(n).idlePerHour, 0);
}

}  // namespace
}  // namespace spotfit::placement

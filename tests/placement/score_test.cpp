#include "placement/score.hpp"

#include <gtest/gtest.h>

#include <random>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;

TEST(Score, BinPackingPrefersFullerNodes) {
  PodInfo p = testing::pod("a", 1000, kGi);
  Resources req = podRequests(p);
  NodeInfo empty = testing::node("empty", 4000, 8 * kGi);
  NodeInfo half = testing::node("half", 4000, 8 * kGi);
  half.requested = testing::res(2000, 4 * kGi, 0, 1);
  ScoreBreakdown e = explainScore(p, req, empty);
  ScoreBreakdown h = explainScore(p, req, half);
  EXPECT_DOUBLE_EQ(e.binPacking, (2.5 + 1.25) / 2);
  EXPECT_DOUBLE_EQ(h.binPacking, (7.5 + 6.25) / 2);
  // (4·binPacking + 3·scarce(10) + 1·capacityPreference(0, on-demand vs spot-preferred)) / 8
  EXPECT_DOUBLE_EQ(e.total, (4 * 1.875 + 30) / 8);
  EXPECT_EQ(e.score, 5);
  EXPECT_EQ(h.score, 7);
  EXPECT_EQ(e.gpuBestFit, -1);
  EXPECT_EQ(e.price, -1);
  auto ranked = rankNodes(p, {empty, half});
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].index, 1u);
}

TEST(Score, GpuBestFitFillsPartlyUsedGpuNodes) {
  PodInfo p = testing::pod("g", 1000, kGi, 1);
  Resources req = podRequests(p);
  NodeInfo busy = testing::node("busy", 32000, 128 * kGi, 8);
  busy.requested = testing::res(4000, 16 * kGi, 6, 6);
  NodeInfo fresh = testing::node("fresh", 32000, 128 * kGi, 8);
  EXPECT_DOUBLE_EQ(explainScore(p, req, busy).gpuBestFit, 8.75);
  EXPECT_DOUBLE_EQ(explainScore(p, req, fresh).gpuBestFit, 1.25);
  EXPECT_EQ(explainScore(p, req, busy).scarceAvoidance, -1);  // not applicable to GPU pods
  auto ranked = rankNodes(p, {fresh, busy});
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].index, 1u);
  EXPECT_GT(ranked[0].score, ranked[1].score);
}

TEST(Score, CpuPodsAvoidGpuNodes) {
  PodInfo p = testing::pod("c", 1000, kGi);
  Resources req = podRequests(p);
  NodeInfo gpu = testing::node("gpu", 4000, 8 * kGi, 1);
  NodeInfo cpu = testing::node("cpu", 4000, 8 * kGi);
  EXPECT_EQ(explainScore(p, req, gpu).scarceAvoidance, 0);
  EXPECT_EQ(explainScore(p, req, cpu).scarceAvoidance, 10);
  EXPECT_GT(score(p, req, cpu), score(p, req, gpu));
}

TEST(Score, CheaperPerUnitAndSpotScoreHigher) {
  PodInfo p = testing::pod("c", 1000, kGi);
  Resources req = podRequests(p);
  NodeInfo od = testing::node("od", 4000, 16 * kGi);
  od.hourlyPrice = listPrice(od.allocatable);
  NodeInfo spot = testing::node("spot", 4000, 16 * kGi, 0, CapacityType::Spot);
  spot.hourlyPrice = 0.3 * listPrice(spot.allocatable);
  EXPECT_NEAR(explainScore(p, req, od).price, 5.0, 1e-9);
  EXPECT_NEAR(explainScore(p, req, spot).price, 8.5, 1e-9);
  EXPECT_EQ(explainScore(p, req, spot).capacityPreference, 10);
  EXPECT_EQ(explainScore(p, req, od).capacityPreference, 0);
  EXPECT_GT(score(p, req, spot), score(p, req, od));
  // An explicit preference for on-demand flips the capacity component.
  p.preferredCapacityType = CapacityType::OnDemand;
  EXPECT_EQ(explainScore(p, req, od).capacityPreference, 10);
  // An on-demand-only pod has no preference component at all.
  p.preferredCapacityType.reset();
  p.capacityPolicy = CapacityPolicy::OnDemand;
  EXPECT_EQ(explainScore(p, req, od).capacityPreference, -1);
}

TEST(Score, WeightsAreConfigurable) {
  PodInfo p = testing::pod("c", 1000, kGi);
  Resources req = podRequests(p);
  NodeInfo fullExpensive = testing::node("full", 4000, 16 * kGi);
  fullExpensive.requested = testing::res(2500, 10 * kGi, 0, 3);
  fullExpensive.hourlyPrice = 2 * listPrice(fullExpensive.allocatable);
  NodeInfo emptyCheap = testing::node("cheap", 4000, 16 * kGi);
  emptyCheap.hourlyPrice = 0.2 * listPrice(emptyCheap.allocatable);
  EXPECT_GT(score(p, req, fullExpensive), score(p, req, emptyCheap));
  ScoreOptions priceFirst;
  priceFirst.weights.binPacking = 0;
  priceFirst.weights.price = 10;
  EXPECT_LT(score(p, req, fullExpensive, priceFirst), score(p, req, emptyCheap, priceFirst));
  ScoreOptions memoryOnly;
  memoryOnly.weights.cpu = 0;
  EXPECT_DOUBLE_EQ(explainScore(p, req, fullExpensive, memoryOnly).binPacking, 10.0 * 11 / 16);
}

TEST(Score, RankNodesDropsMisfitsAndBreaksTiesByName) {
  PodInfo p = testing::pod("c", 1000, kGi);
  NodeInfo b = testing::node("b", 4000, 8 * kGi);
  NodeInfo a = testing::node("a", 4000, 8 * kGi);
  NodeInfo tiny = testing::node("tiny", 500, 8 * kGi);
  auto ranked = rankNodes(p, {b, tiny, a});
  ASSERT_EQ(ranked.size(), 2u);
  EXPECT_EQ(ranked[0].index, 2u);
  EXPECT_EQ(ranked[1].index, 0u);
}

TEST(Score, AlwaysZeroToTenAndDeterministic) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> cpu(0, 64000);
  std::uniform_int_distribution<int64_t> gpus(0, 8);
  std::uniform_real_distribution<double> price(0, 50);
  for (int i = 0; i < 2000; ++i) {
    PodInfo p = testing::pod("p", cpu(rng) / 8, cpu(rng) * testing::kMi / 4, gpus(rng) / 4);
    if (i % 3 == 0) p.capacityPolicy = CapacityPolicy::OnDemand;
    NodeInfo n = testing::node("n", cpu(rng), cpu(rng) * testing::kMi, gpus(rng),
                               i % 2 ? CapacityType::Spot : CapacityType::OnDemand, price(rng));
    n.requested = testing::res(cpu(rng), cpu(rng) * testing::kMi, gpus(rng), 1);
    Resources req = podRequests(p);
    ScoreBreakdown s1 = explainScore(p, req, n);
    ScoreBreakdown s2 = explainScore(p, req, n);
    ASSERT_GE(s1.score, 0);
    ASSERT_LE(s1.score, 10);
    ASSERT_GE(s1.total, 0);
    ASSERT_LE(s1.total, 10);
    ASSERT_EQ(s1.total, s2.total);
  }
}

}  // namespace
}  // namespace spotfit::placement

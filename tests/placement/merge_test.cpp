#include "placement/merge.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;

// Three "mid" nodes (4 cpu, $0.30/h) with one 1.5-cpu pod each (37.5%); the pool also offers "big"
// (8 cpu, $0.32/h). Deleting under-used nodes one at a time leaves two mids ($0.60/h); one big holds all.
struct Fixture {
  ConsolidationInput in;
  Fixture() {
    NodePool p;
    p.name = "general";
    InstanceType mid;
    mid.name = "mid";
    mid.allocatable = testing::res(4000, 16 * kGi, 0, 110);
    mid.offerings = {Offering{CapacityType::OnDemand, 0.30, true}};
    InstanceType big;
    big.name = "big";
    big.allocatable = testing::res(8000, 32 * kGi, 0, 110);
    big.offerings = {Offering{CapacityType::OnDemand, 0.32, true}};
    p.instanceTypes = {mid, big};
    in.pools.push_back(p);
    for (int i = 0; i < 3; ++i) {
      NodeInfo n = testing::node("n" + std::to_string(i), 4000, 16 * kGi, 0, CapacityType::OnDemand, 0.30);
      n.pool = "general";
      n.instanceType = "mid";
      PodInfo pod = testing::pod("p" + std::to_string(i), 1500, 2 * kGi);
      testing::bind(n, pod);
      in.nodes.push_back(n);
      in.pods.push_back(pod);
    }
  }
};

TEST(Merge, ThreeUnderusedNodesIntoOneCheaperNode) {
  Fixture f;
  auto a = planMerge(f.in);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->nodes, (std::vector<std::string>{"n0", "n1", "n2"}));
  EXPECT_EQ(a->pods.size(), 3u);
  EXPECT_EQ(a->instanceType, "big");
  EXPECT_NEAR(a->savingsPerHour, 0.90 - 0.32, 1e-9);
  EXPECT_NE(a->reason.find("merge 3"), std::string::npos) << a->reason;
}

TEST(Merge, BlockedPodsKeepTheirNode) {
  Fixture f;
  f.in.pods[2].doNotDisrupt = true;
  auto a = planMerge(f.in);
  ASSERT_TRUE(a);  // the other two go onto one mid
  EXPECT_EQ(a->nodes, (std::vector<std::string>{"n0", "n1"}));
  EXPECT_EQ(a->instanceType, "mid");
  EXPECT_NEAR(a->savingsPerHour, 0.30, 1e-9);
}

TEST(Merge, PdbMustAllowEveryEviction) {
  Fixture f;
  PodDisruptionBudget pdb;
  pdb.namespace_ = "default";
  pdb.name = "all";
  pdb.disruptionsAllowed = 1;
  f.in.pdbs.push_back(pdb);
  EXPECT_FALSE(planMerge(f.in));
  f.in.pdbs[0].disruptionsAllowed = 2;
  auto a = planMerge(f.in);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->nodes.size(), 2u);
}

TEST(Merge, NotCheaperEnoughOrAboveThreshold) {
  Fixture f;
  f.in.pools[0].instanceTypes[1].offerings[0].hourlyPrice = 0.85;  // big: 0.85 > 0.9 × 0.9
  f.in.pools[0].instanceTypes[0].offerings[0].hourlyPrice = 0.55;  // mid: 0.55 > 0.6 × 0.9
  EXPECT_FALSE(planMerge(f.in));
  Fixture g;
  MergeOptions o;
  o.utilizationThreshold = 0.3;  // 37.5% is not under-used
  EXPECT_FALSE(planMerge(g.in, o));
}

TEST(Merge, PoolMinimumAndCapacityType) {
  Fixture f;
  f.in.pools[0].minNodes = 3;
  EXPECT_FALSE(planMerge(f.in));
  f.in.pools[0].minNodes = 2;  // 3 - 3 + 1 = 1 < 2, but 3 - 2 + 1 = 2
  auto a = planMerge(f.in);
  ASSERT_TRUE(a);
  EXPECT_EQ(a->nodes.size(), 2u);
  Fixture g;
  MergeOptions o;
  o.capacityType = CapacityType::Spot;  // the nodes are on-demand
  EXPECT_FALSE(planMerge(g.in, o));
}

TEST(Merge, PoolMaxNodesCountsTheReplacement) {
  Fixture f;
  f.in.pools[0].maxNodes = 3;  // the replacement exists beside the old nodes until they are drained
  EXPECT_FALSE(planMerge(f.in));
  f.in.pools[0].maxNodes = 4;
  EXPECT_TRUE(planMerge(f.in));
}

}  // namespace
}  // namespace spotfit::placement

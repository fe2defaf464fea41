#include "placement/gang.hpp"

#include <gtest/gtest.h>

#include <set>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;

InstanceType type(const std::string& name, int64_t cpu, int64_t mem, std::vector<Offering> offerings, int64_t gpus = 0,
                  const std::string& zone = "") {
  InstanceType t;
  t.name = name;
  t.allocatable = testing::res(cpu, mem, gpus, 110);
  t.offerings = std::move(offerings);
  if (!zone.empty()) t.labels[std::string(kLabelTopologyZone)] = zone;
  return t;
}

Offering spot(double price, bool available = true) {
  return Offering{CapacityType::Spot, price, available};
}
Offering onDemand(double price, bool available = true) {
  return Offering{CapacityType::OnDemand, price, available};
}

NodePool pool(const std::string& name, std::vector<InstanceType> types) {
  NodePool p;
  p.name = name;
  p.instanceTypes = std::move(types);
  return p;
}

std::vector<PodInfo> members(int n, int64_t cpu, int64_t mem, int64_t gpus = 0) {
  std::vector<PodInfo> out;
  for (int i = 0; i < n; ++i) out.push_back(testing::pod("m" + std::to_string(i), cpu, mem, gpus));
  return out;
}

GangOptions zonal() {
  GangOptions o;
  o.topology = GangTopology::Zone;
  return o;
}

GangOptions mixedAllowed() {
  GangOptions o;
  o.allowMixedCapacity = true;
  return o;
}

size_t placed(const ScaleUpPlan& plan) {
  size_t n = plan.onExisting.size();
  for (const auto& node : plan.newNodes) n += node.pods.size();
  return n;
}

std::set<CapacityType> capacityTypes(const GangPlan& g, const ScaleUpInput& in) {
  std::set<CapacityType> out;
  for (const auto& n : g.plan.newNodes) out.insert(n.capacityType);
  for (const auto& a : g.plan.onExisting) {
    for (const auto& n : in.nodes) {
      if (n.name == a.node) out.insert(n.capacityType);
    }
  }
  return out;
}

TEST(Gang, PlansEveryMemberOnSpotWhenSpotHoldsThemAll) {
  ScaleUpInput in;
  in.pods = members(4, 4000, 16 * kGi, 1);
  in.pools.push_back(pool("gpu", {type("g1", 8000, 32 * kGi, {spot(1.0), onDemand(3.0)}, 1)}));
  GangPlan g = planGang(in);
  ASSERT_TRUE(g.feasible) << g.reason;
  EXPECT_EQ(placed(g.plan), 4u);
  EXPECT_EQ(g.plan.newNodes.size(), 4u);
  EXPECT_EQ(g.capacityType, CapacityType::Spot);
  EXPECT_FALSE(g.fellBackToOnDemand);
  EXPECT_TRUE(g.plan.unschedulable.empty());
}

// The plain solver fills the spot limit and puts the rest on on-demand: a half-spot gang. The gang
// planner moves the whole gang to on-demand.
TEST(Gang, WholeGangFallsBackToOnDemandWhenSpotHoldsOnlyPart) {
  ScaleUpInput in;
  in.pods = members(4, 4000, 16 * kGi, 1);
  NodePool spotPool = pool("spot", {type("g1", 8000, 32 * kGi, {spot(1.0)}, 1)});
  spotPool.maxNodes = 2;  // spot room for half the gang
  in.pools.push_back(spotPool);
  in.pools.push_back(pool("od", {type("g1", 8000, 32 * kGi, {onDemand(3.0)}, 1)}));

  ScaleUpPlan plain = planScaleUp(in);
  std::set<CapacityType> plainTypes;
  for (const auto& n : plain.newNodes) plainTypes.insert(n.capacityType);
  ASSERT_EQ(plainTypes.size(), 2u) << "precondition: the non-gang solver mixes spot and on-demand here";

  GangPlan g = planGang(in);
  ASSERT_TRUE(g.feasible) << g.reason;
  EXPECT_EQ(placed(g.plan), 4u);
  EXPECT_EQ(g.capacityType, CapacityType::OnDemand);
  EXPECT_TRUE(g.fellBackToOnDemand);
  EXPECT_EQ(capacityTypes(g, in), std::set<CapacityType>{CapacityType::OnDemand});
  EXPECT_NE(g.reason.find("spot"), std::string::npos) << g.reason;
  EXPECT_NE(g.reason.find("maximum of 2 nodes"), std::string::npos) << g.reason;
}

TEST(Gang, FallsBackWhenSpotOfferingsAreUnavailable) {
  ScaleUpInput in;
  in.pods = members(3, 2000, 4 * kGi);
  in.pools.push_back(pool("p", {type("a", 4000, 16 * kGi, {spot(0.1, false), onDemand(0.3)}),
                                type("b", 8000, 32 * kGi, {spot(0.2, false), onDemand(0.6)})}));
  GangPlan g = planGang(in);
  ASSERT_TRUE(g.feasible) << g.reason;
  EXPECT_EQ(g.capacityType, CapacityType::OnDemand);
  EXPECT_TRUE(g.fellBackToOnDemand);
  EXPECT_EQ(placed(g.plan), 3u);
}

TEST(Gang, MixedCapacityOnlyWhenAllowedAndNeeded) {
  ScaleUpInput in;
  in.pods = members(4, 4000, 16 * kGi);
  NodePool s = pool("spot", {type("a", 4000, 16 * kGi, {spot(0.1)})});
  s.maxNodes = 2;
  NodePool o = pool("od", {type("a", 4000, 16 * kGi, {onDemand(0.3)})});
  o.maxNodes = 2;
  in.pools = {s, o};

  GangPlan strict = planGang(in);
  EXPECT_FALSE(strict.feasible);
  EXPECT_TRUE(strict.plan.newNodes.empty());
  EXPECT_TRUE(strict.plan.onExisting.empty());
  EXPECT_NE(strict.reason.find("spot"), std::string::npos) << strict.reason;
  EXPECT_NE(strict.reason.find("on-demand"), std::string::npos) << strict.reason;

  GangPlan mixed = planGang(in, mixedAllowed());
  ASSERT_TRUE(mixed.feasible) << mixed.reason;
  EXPECT_EQ(placed(mixed.plan), 4u);
  EXPECT_FALSE(mixed.capacityType.has_value());
  EXPECT_EQ(capacityTypes(mixed, in).size(), 2u);
}

TEST(Gang, LargerThanAnyPoolLimitGetsNothingWithAReason) {
  ScaleUpInput in;
  in.pods = members(10, 4000, 16 * kGi, 1);
  NodePool p = pool("gpu", {type("g1", 8000, 32 * kGi, {spot(1.0), onDemand(3.0)}, 1)});
  p.limits.set("nvidia.com/gpu", 8);  // 8 GPUs at most, the gang needs 10
  in.pools.push_back(p);
  GangPlan g = planGang(in);
  EXPECT_FALSE(g.feasible);
  EXPECT_EQ(placed(g.plan), 0u);
  EXPECT_TRUE(g.plan.newNodes.empty());
  EXPECT_TRUE(g.plan.unschedulable.empty());
  EXPECT_NE(g.reason.find("gang of 10"), std::string::npos) << g.reason;
  EXPECT_NE(g.reason.find("nvidia.com/gpu limit"), std::string::npos) << g.reason;
  EXPECT_NE(g.reason.find("2 of 10 members do not fit"), std::string::npos) << g.reason;
}

TEST(Gang, ExistingFreeCapacityOfTheChosenTypeCounts) {
  ScaleUpInput in;
  in.pods = members(3, 4000, 8 * kGi);
  in.nodes.push_back(testing::node("spot-existing", 8000, 32 * kGi, 0, CapacityType::Spot, 0.2));
  in.nodes.back().pool = "p";
  in.nodes.push_back(testing::node("od-existing", 8000, 32 * kGi, 0, CapacityType::OnDemand, 0.6));
  in.nodes.back().pool = "p";
  in.pools.push_back(pool("p", {type("a", 4000, 16 * kGi, {spot(0.1), onDemand(0.3)})}));
  GangPlan g = planGang(in);
  ASSERT_TRUE(g.feasible) << g.reason;
  EXPECT_EQ(g.capacityType, CapacityType::Spot);
  // Two members on the free spot node, one new spot node; the on-demand node's room is not mixed in.
  ASSERT_EQ(g.plan.onExisting.size(), 2u);
  for (const auto& a : g.plan.onExisting) EXPECT_EQ(a.node, "spot-existing");
  ASSERT_EQ(g.plan.newNodes.size(), 1u);
  EXPECT_EQ(g.plan.newNodes[0].capacityType, CapacityType::Spot);
}

TEST(Gang, ExcludedNodesStillCountTowardPoolMaximum) {
  ScaleUpInput in;
  in.pods = members(2, 4000, 8 * kGi);
  // One on-demand node of the pool already exists (full room for nobody: the gang goes spot).
  in.nodes.push_back(testing::node("od-existing", 4000, 16 * kGi, 0, CapacityType::OnDemand, 0.3));
  in.nodes.back().pool = "p";
  NodePool p = pool("p", {type("a", 4000, 16 * kGi, {spot(0.1), onDemand(0.3)})});
  p.maxNodes = 2;  // one more node: not enough for the two-member gang on spot
  in.pools.push_back(p);
  GangPlan g = planGang(in);
  // On-demand: one member on the existing node, one on a new node (pool at 2). Spot would need 2 new.
  ASSERT_TRUE(g.feasible) << g.reason;
  EXPECT_EQ(g.capacityType, CapacityType::OnDemand);
  EXPECT_EQ(g.plan.onExisting.size(), 1u);
  EXPECT_EQ(g.plan.newNodes.size(), 1u);
}

TEST(Gang, SameZoneWhenTheGangAsksForIt) {
  ScaleUpInput in;
  in.pods = members(4, 4000, 16 * kGi);
  // Zone a: 2 cheap spot nodes at most; zone b: plenty, dearer.
  NodePool a = pool("a", {type("m", 4000, 16 * kGi, {spot(0.1)}, 0, "zone-a")});
  a.maxNodes = 2;
  NodePool b = pool("b", {type("m", 4000, 16 * kGi, {spot(0.15)}, 0, "zone-b")});
  in.pools = {a, b};

  GangPlan any = planGang(in);
  ASSERT_TRUE(any.feasible);
  std::set<std::string> anyPools;
  for (const auto& n : any.plan.newNodes) anyPools.insert(n.pool);
  EXPECT_EQ(anyPools.size(), 2u) << "without topology the cheap zone is filled first";

  GangPlan zoned = planGang(in, zonal());
  ASSERT_TRUE(zoned.feasible) << zoned.reason;
  EXPECT_EQ(zoned.zone, "zone-b");
  EXPECT_EQ(placed(zoned.plan), 4u);
  for (const auto& n : zoned.plan.newNodes) EXPECT_EQ(n.pool, "b");

  // The pool can ask for it too.
  in.pools[1].gangSameZone = true;
  GangPlan byPool = planGang(in);
  ASSERT_TRUE(byPool.feasible);
  EXPECT_EQ(byPool.zone, "zone-b");
}

TEST(Gang, ZonalPrefersTheCheapestZoneAndSpotOverAnyOnDemandZone) {
  ScaleUpInput in;
  in.pods = members(2, 4000, 16 * kGi);
  in.pools.push_back(pool("p", {type("m", 4000, 16 * kGi, {spot(0.2), onDemand(0.3)}, 0, "zone-a"),
                                type("m", 4000, 16 * kGi, {spot(0.12), onDemand(0.3)}, 0, "zone-b"),
                                type("m", 4000, 16 * kGi, {spot(0.3, false), onDemand(0.05)}, 0, "zone-c")}));
  GangPlan g = planGang(in, zonal());
  ASSERT_TRUE(g.feasible);
  EXPECT_EQ(g.capacityType, CapacityType::Spot);
  EXPECT_EQ(g.zone, "zone-b");
  EXPECT_NEAR(g.plan.newNodesHourlyCost(), 0.24, 1e-9);
}

TEST(Gang, AMemberThatRequiresOnDemandMovesTheWholeGang) {
  ScaleUpInput in;
  in.pods = members(3, 2000, 4 * kGi);
  in.pods[1].capacityPolicy = CapacityPolicy::OnDemand;
  in.pools.push_back(pool("p", {type("a", 4000, 16 * kGi, {spot(0.1), onDemand(0.3)})}));
  GangPlan g = planGang(in);
  ASSERT_TRUE(g.feasible) << g.reason;
  EXPECT_EQ(g.capacityType, CapacityType::OnDemand);
  for (const auto& n : g.plan.newNodes) EXPECT_EQ(n.capacityType, CapacityType::OnDemand);
}

TEST(Gang, SpotOnlyMemberAndNoSpotRoomMeansNothing) {
  ScaleUpInput in;
  in.pods = members(2, 2000, 4 * kGi);
  in.pods[0].capacityPolicy = CapacityPolicy::Spot;
  in.pools.push_back(pool("p", {type("a", 4000, 16 * kGi, {spot(0.1, false), onDemand(0.3)})}));
  GangPlan g = planGang(in);
  EXPECT_FALSE(g.feasible);
  EXPECT_TRUE(g.plan.newNodes.empty());
}

TEST(Gang, NoPoolsAtAllIsAClearNo) {
  ScaleUpInput in;
  in.pods = members(2, 1000, kGi);
  GangPlan g = planGang(in, zonal());
  EXPECT_FALSE(g.feasible);
  EXPECT_NE(g.reason.find("no zone has an available offering"), std::string::npos) << g.reason;
}

TEST(Gang, EmptyGangIsTriviallyFeasible) {
  GangPlan g = planGang(ScaleUpInput{});
  EXPECT_TRUE(g.feasible);
  EXPECT_TRUE(g.plan.newNodes.empty());
}

TEST(Gang, AMemberNoOfferingCanHoldSinksTheGang) {
  ScaleUpInput in;
  in.pods = members(3, 2000, 4 * kGi);
  in.pods.push_back(testing::pod("huge", 64000, 4 * kGi));
  in.pools.push_back(pool("p", {type("a", 4000, 16 * kGi, {spot(0.1), onDemand(0.3)})}));
  GangPlan g = planGang(in);
  EXPECT_FALSE(g.feasible);
  EXPECT_TRUE(g.plan.newNodes.empty());
  EXPECT_NE(g.reason.find("1 of 4 members do not fit"), std::string::npos) << g.reason;
}

TEST(Gang, RunningMembersPinCapacityTypeAndZone) {
  ScaleUpInput in;
  in.pods = members(2, 4000, 16 * kGi);
  in.pools.push_back(pool("p", {type("m", 4000, 16 * kGi, {spot(0.1), onDemand(0.3)}, 0, "zone-a"),
                                type("m", 4000, 16 * kGi, {spot(0.1), onDemand(0.3)}, 0, "zone-b")}));
  GangOptions pinned = zonal();
  pinned.capacityType = CapacityType::OnDemand;
  pinned.zone = "zone-b";
  GangPlan g = planGang(in, pinned);
  ASSERT_TRUE(g.feasible) << g.reason;
  EXPECT_EQ(g.capacityType, CapacityType::OnDemand);
  EXPECT_EQ(g.zone, "zone-b");
  EXPECT_NEAR(g.plan.newNodesHourlyCost(), 0.6, 1e-9);
  in.pools[0].instanceTypes[1].offerings[1].available = false;  // zone-b on-demand gone: no spot instead
  g = planGang(in, pinned);
  EXPECT_FALSE(g.feasible);
}

}  // namespace
}  // namespace spotfit::placement

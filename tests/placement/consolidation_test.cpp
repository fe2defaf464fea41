#include "placement/consolidation.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;

struct Cluster {
  ConsolidationInput in;

  Cluster() {
    NodePool p;
    p.name = "general";
    InstanceType small;
    small.name = "small";
    small.allocatable = testing::res(2000, 8 * kGi, 0, 110);
    small.offerings = {Offering{CapacityType::OnDemand, 0.10, true}, Offering{CapacityType::Spot, 0.03, true}};
    InstanceType large;
    large.name = "large";
    large.allocatable = testing::res(8000, 32 * kGi, 0, 110);
    large.offerings = {Offering{CapacityType::OnDemand, 0.40, true}, Offering{CapacityType::Spot, 0.12, true}};
    p.instanceTypes = {small, large};
    in.pools.push_back(p);
  }

  NodeInfo& node(const std::string& name, double price, CapacityType type = CapacityType::OnDemand) {
    NodeInfo n = testing::node(name, 8000, 32 * kGi, 0, type, price);
    n.pool = "general";
    n.instanceType = "large";
    in.nodes.push_back(n);
    return in.nodes.back();
  }

  size_t pod(const std::string& name, const std::string& nodeName, int64_t cpu, int64_t mem) {
    PodInfo p = testing::pod(name, cpu, mem);
    p.nodeName = nodeName;
    p.phase = PodPhase::Running;
    for (auto& n : in.nodes) {
      if (n.name == nodeName) n.requested += podRequests(p);
    }
    in.pods.push_back(p);
    return in.pods.size() - 1;
  }
};

const ConsolidationAction* actionFor(const ConsolidationPlan& plan, const std::string& node) {
  for (const auto& a : plan.actions) {
    if (a.node == node) return &a;
  }
  return nullptr;
}

std::string blockedReason(const ConsolidationPlan& plan, const std::string& node) {
  for (const auto& b : plan.blocked) {
    if (b.node == node) return b.reason;
  }
  return "";
}

TEST(Consolidation, EmptyNodesFirstMostExpensiveFirstDownToPoolMinimum) {
  Cluster c;
  c.in.pools[0].minNodes = 2;
  c.node("busy", 0.4);
  c.pod("a", "busy", 7000, 20 * kGi);
  c.node("cheap-empty", 0.1);
  c.node("pricey-empty", 0.4);
  PodInfo ds = testing::pod("ds", 100, kGi);
  ds.ownerKind = "DaemonSet";
  ds.nodeName = "pricey-empty";
  ds.phase = PodPhase::Running;
  c.in.pods.push_back(ds);  // DaemonSet pods do not make a node non-empty
  ConsolidationPlan plan = planConsolidation(c.in);
  ASSERT_EQ(plan.actions.size(), 2u);
  EXPECT_EQ(plan.actions[0].node, "pricey-empty");
  EXPECT_EQ(plan.actions[0].kind, ConsolidationKind::DeleteEmpty);
  // The busy on-demand node is not under-used, but its spot-preferred pod fits a spot "large": replace
  // (same pool, so the minimum still holds).
  EXPECT_EQ(plan.actions[1].node, "busy");
  EXPECT_EQ(plan.actions[1].kind, ConsolidationKind::Replace);
  EXPECT_NEAR(plan.savingsPerHour(), 0.4 + 0.28, 1e-12);
  EXPECT_EQ(blockedReason(plan, "cheap-empty"), "node pool general is at its minimum of 2 nodes");
}

TEST(Consolidation, UnderusedNodeMovesItsPodsToTheBestFit) {
  Cluster c;
  c.node("full", 0.4);
  c.pod("f", "full", 6000, 20 * kGi);
  c.node("half", 0.4);
  c.pod("h", "half", 4500, 16 * kGi);
  c.node("low", 0.4);
  size_t l1 = c.pod("l1", "low", 1000, 4 * kGi);
  size_t l2 = c.pod("l2", "low", 1000, 4 * kGi);
  ConsolidationOptions noReplace;
  noReplace.allowReplace = false;
  ConsolidationPlan plan = planConsolidation(c.in, noReplace);
  const ConsolidationAction* a = actionFor(plan, "low");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->kind, ConsolidationKind::DeleteUnderused);
  ASSERT_EQ(a->moves.size(), 2u);
  // Bin-packing score: the fuller node first while it fits.
  EXPECT_EQ(a->moves[0].pod, l1);
  EXPECT_EQ(a->moves[0].to, "full");
  EXPECT_EQ(a->moves[1].pod, l2);
  EXPECT_EQ(a->moves[1].to, "full");
  // "half" is under 50% too but received no pods and its pod fits nowhere now ("full" is full):
  EXPECT_EQ(actionFor(plan, "half"), nullptr);
  EXPECT_EQ(actionFor(plan, "full"), nullptr);  // destinations are never removed in the same plan
}

TEST(Consolidation, SafetyRulesBlockNodes) {
  for (int rule = 0; rule < 4; ++rule) {
    Cluster c;
    c.node("dest", 0.4);
    c.node("low", 0.4);
    size_t p = c.pod("x", "low", 500, kGi);
    std::string want;
    switch (rule) {
      case 0:
        c.in.pods[p].doNotDisrupt = true;
        want = "pod default/x has spotfit.io/do-not-disrupt";
        break;
      case 1:
        c.in.pods[p].hasController = false;
        want = "pod default/x has no controller";
        break;
      case 2:
        c.in.pods[p].hasLocalStorage = true;
        want = "pod default/x uses local storage";
        break;
      case 3:
        c.in.pods[p].hasTopologySpread = true;
        want = "pod default/x has inter-pod affinity or topology spread";
        break;
    }
    ConsolidationPlan plan = planConsolidation(c.in);
    EXPECT_EQ(actionFor(plan, "low"), nullptr) << rule;
    EXPECT_EQ(blockedReason(plan, "low"), want);
    EXPECT_NE(actionFor(plan, "dest"), nullptr) << "the empty node still goes";
  }
}

TEST(Consolidation, PdbAllowanceIsSharedAcrossThePlan) {
  Cluster c;
  c.node("dest", 0.4);
  c.pod("anchor", "dest", 2000, 8 * kGi);
  c.node("low-a", 0.4);
  c.node("low-b", 0.4);
  size_t a = c.pod("a", "low-a", 500, kGi);
  size_t b = c.pod("b", "low-b", 500, kGi);
  c.in.pods[a].labels["app"] = "etl";
  c.in.pods[b].labels["app"] = "etl";
  c.in.pdbs.push_back(PodDisruptionBudget{"default", "etl", {{"app", "etl"}}, 1});
  ConsolidationPlan plan = planConsolidation(c.in);
  int deleted = 0;
  for (const auto& act : plan.actions) deleted += act.kind == ConsolidationKind::DeleteUnderused;
  EXPECT_EQ(deleted, 1);
  EXPECT_EQ(blockedReason(plan, "low-b"), "PodDisruptionBudget default/etl allows 0 more disruption(s), node needs 1");
  EXPECT_TRUE(selects(c.in.pdbs[0], c.in.pods[a]));
  PodDisruptionBudget other{"other-ns", "all", {}, 5};
  EXPECT_FALSE(selects(other, c.in.pods[a]));
  other.namespace_ = "default";
  EXPECT_TRUE(selects(other, c.in.pods[a]));  // empty selector: the whole namespace
}

TEST(Consolidation, ReplacesWithACheaperOfferingThatHoldsEveryPod) {
  Cluster c;
  c.node("od-large", 0.40);
  c.pod("a", "od-large", 1500, 6 * kGi);  // 19% used, nowhere else to go
  ConsolidationPlan plan = planConsolidation(c.in);
  const ConsolidationAction* a = actionFor(plan, "od-large");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->kind, ConsolidationKind::Replace);
  EXPECT_EQ(a->replacementInstanceType, "small");
  EXPECT_EQ(a->replacementCapacityType, CapacityType::Spot);
  EXPECT_NEAR(a->savingsPerHour, 0.37, 1e-12);
  ASSERT_EQ(a->moves.size(), 1u);
  EXPECT_TRUE(a->moves[0].to.empty());
  EXPECT_NE(a->reason.find("replace large"), std::string::npos) << a->reason;
  // An on-demand-only pod can only be replaced onto on-demand.
  c.in.pods[0].capacityPolicy = CapacityPolicy::OnDemand;
  plan = planConsolidation(c.in);
  a = actionFor(plan, "od-large");
  ASSERT_NE(a, nullptr);
  EXPECT_EQ(a->replacementCapacityType, CapacityType::OnDemand);
  EXPECT_NEAR(a->replacementPrice, 0.10, 1e-12);
  // Savings below the threshold: keep the node.
  c.in.nodes[0].hourlyPrice = 0.105;
  EXPECT_TRUE(planConsolidation(c.in).actions.empty());
}

TEST(Consolidation, NodesOutsidePoolsInFlightOrCordonedStay) {
  Cluster c;
  NodeInfo& foreign = c.node("foreign", 0.4);
  foreign.pool = "";
  NodeInfo& starting = c.node("starting", 0.4);
  starting.inFlight = true;
  NodeInfo& cordoned = c.node("cordoned", 0.4);
  cordoned.unschedulable = true;
  ConsolidationPlan plan = planConsolidation(c.in);
  EXPECT_TRUE(plan.actions.empty());
  EXPECT_EQ(blockedReason(plan, "foreign"), "not in a spotfit node pool");
  EXPECT_EQ(blockedReason(plan, "starting"), "node is still starting");
  EXPECT_EQ(blockedReason(plan, "cordoned"), "node is cordoned");
}

TEST(Consolidation, FinishedPodsDoNotCountAndPlansAreDeterministic) {
  Cluster c;
  c.node("n1", 0.4);
  size_t done = c.pod("done", "n1", 4000, kGi);
  c.in.pods[done].phase = PodPhase::Succeeded;
  c.node("n2", 0.4);
  ConsolidationPlan a = planConsolidation(c.in);
  ConsolidationPlan b = planConsolidation(c.in);
  ASSERT_EQ(a.actions.size(), 2u);
  ASSERT_EQ(b.actions.size(), 2u);
  for (size_t i = 0; i < a.actions.size(); ++i) EXPECT_EQ(a.actions[i].node, b.actions[i].node);
  EXPECT_EQ(a.actions[0].node, "n1");  // same price: by name
  EXPECT_EQ(toString(ConsolidationKind::Replace), "replace");
}

}  // namespace
}  // namespace spotfit::placement

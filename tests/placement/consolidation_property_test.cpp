// Property tests of the consolidation planner over random clusters.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "placement/consolidation.hpp"
#include "placement/fit.hpp"
#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;

ConsolidationInput randomCluster(std::mt19937& rng) {
  auto range = [&](int64_t lo, int64_t hi) { return std::uniform_int_distribution<int64_t>(lo, hi)(rng); };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  ConsolidationInput in;
  for (int pi = 0; pi < 2; ++pi) {
    NodePool p;
    p.name = "pool" + std::to_string(pi);
    p.minNodes = static_cast<int32_t>(range(0, 3));
    p.maxNodes = chance(0.5) ? -1 : static_cast<int32_t>(range(4, 20));
    for (int ti = 0; ti < 3; ++ti) {
      InstanceType t;
      int64_t cores = int64_t{2} << ti;
      t.name = "t" + std::to_string(ti);
      t.allocatable = testing::res(cores * 1000, cores * 4 * kGi, 0, 110);
      double od = 0.05 * static_cast<double>(cores);
      t.offerings = {Offering{CapacityType::OnDemand, od, chance(0.9)},
                     Offering{CapacityType::Spot, od * 0.3, chance(0.8)}};
      p.instanceTypes.push_back(t);
    }
    in.pools.push_back(p);
  }
  int nodes = static_cast<int>(range(1, 12));
  for (int ni = 0; ni < nodes; ++ni) {
    const NodePool& p = in.pools[static_cast<size_t>(range(0, 1))];
    const InstanceType& t = p.instanceTypes[static_cast<size_t>(range(0, 2))];
    NodeInfo n = nodeFromOffering(p, t, t.offerings[static_cast<size_t>(range(0, 1))], "n" + std::to_string(ni));
    n.unschedulable = chance(0.05);
    n.inFlight = chance(0.05);
    in.nodes.push_back(n);
  }
  for (int pdb = 0; pdb < 2; ++pdb) {
    in.pdbs.push_back(PodDisruptionBudget{"default",
                                          "pdb" + std::to_string(pdb),
                                          {{"app", "app" + std::to_string(pdb)}},
                                          static_cast<int32_t>(range(0, 2))});
  }
  int pods = static_cast<int>(range(0, 30));
  for (int i = 0; i < pods; ++i) {
    NodeInfo& n = in.nodes[static_cast<size_t>(range(0, nodes - 1))];
    PodInfo p = testing::pod("p" + std::to_string(i), range(100, 3000), range(1, 8) * kGi / 2);
    if (!fits(podRequests(p), n.allocatable, n.requested)) continue;
    p.nodeName = n.name;
    p.phase = chance(0.9) ? PodPhase::Running : PodPhase::Succeeded;
    p.doNotDisrupt = chance(0.05);
    p.hasController = !chance(0.05);
    if (chance(0.1)) p.ownerKind = "DaemonSet";
    if (chance(0.5)) p.labels["app"] = "app" + std::to_string(range(0, 1));
    if (chance(0.1)) p.capacityPolicy = CapacityPolicy::OnDemand;
    if (p.phase == PodPhase::Running) n.requested += podRequests(p);
    in.pods.push_back(p);
  }
  return in;
}

TEST(ConsolidationProperty, RandomClustersStaySafe) {
  std::mt19937 rng(99);
  int actions = 0;
  for (int round = 0; round < 400; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    ConsolidationInput in = randomCluster(rng);
    ConsolidationPlan plan = planConsolidation(in);
    ConsolidationPlan again = planConsolidation(in);
    ASSERT_EQ(plan.actions.size(), again.actions.size());
    std::map<std::string, NodeInfo> nodes;
    for (const auto& n : in.nodes) nodes[n.name] = n;
    std::map<std::string, int64_t> poolCount;
    for (const auto& n : in.nodes) poolCount[n.pool] += 1;
    std::vector<int32_t> pdbLeft;
    for (const auto& b : in.pdbs) pdbLeft.push_back(b.disruptionsAllowed);
    std::set<std::string> removed;
    for (size_t ai = 0; ai < plan.actions.size(); ++ai) {
      const auto& a = plan.actions[ai];
      EXPECT_EQ(a.node, again.actions[ai].node);
      EXPECT_GT(a.savingsPerHour, 0);
      ++actions;
      const NodeInfo& n = nodes.at(a.node);
      EXPECT_FALSE(n.inFlight);
      EXPECT_FALSE(n.unschedulable);
      EXPECT_TRUE(removed.insert(a.node).second);
      for (size_t p = 0; p < in.pods.size(); ++p) {
        const PodInfo& pod = in.pods[p];
        if (pod.nodeName != a.node || pod.phase != PodPhase::Running || pod.ownerKind == "DaemonSet") continue;
        EXPECT_FALSE(pod.doNotDisrupt);
        EXPECT_TRUE(pod.hasController);
        bool moved = false;
        for (const auto& m : a.moves) moved = moved || m.pod == p;
        EXPECT_TRUE(moved) << "pod left behind on " << a.node;
        for (size_t b = 0; b < in.pdbs.size(); ++b) {
          if (selects(in.pdbs[b], pod)) pdbLeft[b] -= 1;
        }
      }
      for (const auto& m : a.moves) {
        if (m.to.empty()) continue;
        EXPECT_EQ(removed.count(m.to), 0u) << "moved onto a removed node";
        NodeInfo& dest = nodes.at(m.to);
        EXPECT_TRUE(fit(in.pods[m.pod], dest).fits) << m.to;
        dest.requested += podRequests(in.pods[m.pod]);
      }
      if (a.kind == ConsolidationKind::Replace) {
        EXPECT_LT(a.replacementPrice, n.hourlyPrice);
        if (a.replacementPool != n.pool) {
          poolCount[n.pool] -= 1;
          poolCount[a.replacementPool] += 1;
        }
      } else {
        poolCount[n.pool] -= 1;
      }
    }
    for (const auto& p : in.pools) {
      int64_t before = 0;
      for (const auto& n : in.nodes) before += n.pool == p.name;
      if (poolCount[p.name] < before) {
        EXPECT_GE(poolCount[p.name], p.minNodes) << p.name;
      }
    }
    for (size_t b = 0; b < pdbLeft.size(); ++b) EXPECT_GE(pdbLeft[b], 0) << in.pdbs[b].name;
  }
  EXPECT_GT(actions, 100);
}

}  // namespace
}  // namespace spotfit::placement

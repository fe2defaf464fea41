#include "placement/merge.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>

#include "placement/pool_limits.hpp"
#include "placement/solver.hpp"

namespace spotfit::placement {

namespace {

std::string usdPerHour(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.3f/h", v);
  return buf;
}

}  // namespace

std::optional<MergeAction> planMerge(const ConsolidationInput& in, const MergeOptions& opt) {
  std::unordered_map<std::string, size_t> poolIndex;
  for (size_t i = 0; i < in.pools.size(); ++i) poolIndex[in.pools[i].name] = i;
  std::unordered_map<std::string, size_t> byName;
  std::vector<std::vector<size_t>> podsOn(in.nodes.size());
  std::vector<int64_t> poolCount(in.pools.size(), 0);
  std::vector<Resources> poolCapacity(in.pools.size());
  for (size_t i = 0; i < in.nodes.size(); ++i) {
    byName[in.nodes[i].name] = i;
    if (auto it = poolIndex.find(in.nodes[i].pool); it != poolIndex.end()) {
      poolCount[it->second] += 1;
      poolCapacity[it->second] += in.nodes[i].allocatable;
    }
  }
  for (size_t p = 0; p < in.pods.size(); ++p) {
    const PodInfo& pod = in.pods[p];
    if (!podActive(pod) || podStaysWithNode(pod)) continue;
    if (auto it = byName.find(pod.nodeName); it != byName.end()) podsOn[it->second].push_back(p);
  }

  std::vector<size_t> cands;
  for (size_t i = 0; i < in.nodes.size(); ++i) {
    const NodeInfo& n = in.nodes[i];
    if (!poolIndex.count(n.pool) || n.inFlight || n.unschedulable || n.hourlyPrice <= 0) continue;
    if (opt.capacityType && n.capacityType != *opt.capacityType) continue;
    if (podsOn[i].empty() || nodeRequestedShare(n) >= opt.utilizationThreshold) continue;
    bool movable = std::all_of(podsOn[i].begin(), podsOn[i].end(), [&](size_t p) {
      const PodInfo& pod = in.pods[p];
      return !pod.doNotDisrupt && pod.hasController && !pod.hasLocalStorage && !pod.hasInterPodConstraints();
    });
    if (movable) cands.push_back(i);
  }
  std::sort(cands.begin(), cands.end(), [&](size_t a, size_t b) {
    double ua = nodeRequestedShare(in.nodes[a]), ub = nodeRequestedShare(in.nodes[b]);
    if (ua != ub) return ua < ub;
    return in.nodes[a].name < in.nodes[b].name;
  });

  std::optional<MergeAction> best;
  const size_t maxK = std::min(opt.maxNodes, cands.size());
  for (size_t k = 2; k <= maxK; ++k) {
    std::vector<size_t> group(cands.begin(), cands.begin() + static_cast<std::ptrdiff_t>(k));
    double oldPrice = 0;
    std::vector<int64_t> leaving(in.pools.size(), 0);
    ScaleUpInput su;
    su.pools = in.pools;
    std::vector<size_t> podIndex;
    for (size_t i : group) {
      oldPrice += in.nodes[i].hourlyPrice;
      leaving[poolIndex[in.nodes[i].pool]] += 1;
      for (size_t p : podsOn[i]) {
        PodInfo copy = in.pods[p];
        copy.nodeName.clear();
        copy.phase = PodPhase::Pending;
        su.pods.push_back(std::move(copy));
        podIndex.push_back(p);
      }
    }
    // PodDisruptionBudgets: every pod of the group is evicted.
    bool pdbOk = std::all_of(in.pdbs.begin(), in.pdbs.end(), [&](const PodDisruptionBudget& pdb) {
      int32_t need = 0;
      for (size_t p : podIndex) need += selects(pdb, in.pods[p]) ? 1 : 0;
      return need <= pdb.disruptionsAllowed;
    });
    if (!pdbOk) continue;
    ScaleUpPlan plan = planScaleUp(su);
    if (!plan.unschedulable.empty() || plan.newNodes.size() != 1) continue;
    const PlannedNode& nn = plan.newNodes.front();
    if (nn.hourlyPrice > oldPrice * (1 - opt.minSavingsFraction)) continue;
    auto pi = poolIndex.find(nn.pool);
    if (pi == poolIndex.end()) continue;
    const NodePool& pool = in.pools[pi->second];
    if (pool.maxNodes >= 0 && poolCount[pi->second] + 1 > pool.maxNodes) continue;
    if (!withinLimits(poolCapacity[pi->second] + nn.allocatable, pool.limits)) continue;
    bool minOk = true;
    for (size_t q = 0; q < in.pools.size(); ++q) {
      int64_t after = poolCount[q] - leaving[q] + (q == pi->second ? 1 : 0);
      if (leaving[q] > 0 && after < in.pools[q].minNodes) minOk = false;
    }
    if (!minOk) continue;
    const double saving = oldPrice - nn.hourlyPrice;
    if (best && saving <= best->savingsPerHour) continue;
    MergeAction a;
    for (size_t i : group) a.nodes.push_back(in.nodes[i].name);
    a.pods = podIndex;
    a.pool = nn.pool;
    a.instanceType = nn.instanceType;
    a.capacityType = nn.capacityType;
    a.price = nn.hourlyPrice;
    a.savingsPerHour = saving;
    a.reason = "merge " + std::to_string(k) + " under-used nodes (" + usdPerHour(oldPrice) + ") into one " +
               std::string(toString(nn.capacityType)) + " " + nn.instanceType + " (" + usdPerHour(nn.hourlyPrice) + ")";
    best = std::move(a);
  }
  return best;
}

}  // namespace spotfit::placement

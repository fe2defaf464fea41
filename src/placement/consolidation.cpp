#include "placement/consolidation.hpp"

#include <algorithm>
#include <map>
#include <numeric>
#include <optional>
#include <unordered_map>

#include "placement/fit.hpp"
#include "placement/pool_limits.hpp"
#include "placement/score.hpp"

namespace spotfit::placement {

bool selects(const PodDisruptionBudget& pdb, const PodInfo& pod) {
  if (pdb.namespace_ != pod.namespace_) return false;
  for (const auto& [k, v] : pdb.matchLabels) {
    auto it = pod.labels.find(k);
    if (it == pod.labels.end() || it->second != v) return false;
  }
  return true;
}

std::string_view toString(ConsolidationKind kind) {
  switch (kind) {
    case ConsolidationKind::DeleteEmpty:
      return "delete-empty";
    case ConsolidationKind::DeleteUnderused:
      return "delete-underused";
    case ConsolidationKind::Replace:
      return "replace";
  }
  return "delete-empty";
}

double ConsolidationPlan::savingsPerHour() const {
  double s = 0;
  for (const auto& a : actions) s += a.savingsPerHour;
  return s;
}

namespace {

std::string money(double v) {
  std::string s = std::to_string(v);
  auto dot = s.find('.');
  if (dot != std::string::npos && s.size() > dot + 4) s.resize(dot + 4);
  return "$" + s + "/h";
}

class Planner {
 public:
  Planner(const ConsolidationInput& in, const ConsolidationOptions& opt) : in_(in), opt_(opt) {}

  ConsolidationPlan run() {
    index();
    for (size_t i : emptyCandidates()) tryDeleteEmpty(i);
    for (size_t i : underusedCandidates()) tryDeleteUnderused(i);
    if (opt_.allowReplace) {
      for (size_t i = 0; i < sim_.size(); ++i) tryReplace(i);
    }
    for (size_t i = 0; i < sim_.size(); ++i) {
      if (!removed_[i] && !blockReason_[i].empty()) plan_.blocked.push_back(BlockedNode{sim_[i].name, blockReason_[i]});
    }
    return std::move(plan_);
  }

 private:
  const ConsolidationInput& in_;
  const ConsolidationOptions& opt_;
  std::vector<NodeInfo> sim_;
  std::vector<std::vector<size_t>> podsOn_;  // movable pods per node
  std::vector<Resources> req_;
  std::vector<char> removed_;
  std::vector<char> destination_;
  std::vector<std::string> blockReason_;
  std::vector<int64_t> poolCount_;
  std::vector<Resources> poolCapacity_;
  std::unordered_map<std::string, size_t> poolIndex_;
  std::vector<int32_t> pdbLeft_;
  ConsolidationPlan plan_;

  void index() {
    sim_ = in_.nodes;
    podsOn_.assign(sim_.size(), {});
    removed_.assign(sim_.size(), 0);
    destination_.assign(sim_.size(), 0);
    blockReason_.assign(sim_.size(), "");
    for (size_t i = 0; i < in_.pools.size(); ++i) poolIndex_[in_.pools[i].name] = i;
    poolCount_.assign(in_.pools.size(), 0);
    poolCapacity_.assign(in_.pools.size(), Resources{});
    std::unordered_map<std::string, size_t> byName;
    for (size_t i = 0; i < sim_.size(); ++i) {
      byName[sim_[i].name] = i;
      auto it = poolIndex_.find(sim_[i].pool);
      if (it != poolIndex_.end()) {
        poolCount_[it->second] += 1;
        poolCapacity_[it->second] += sim_[i].allocatable;
      }
    }
    req_.reserve(in_.pods.size());
    for (size_t p = 0; p < in_.pods.size(); ++p) {
      req_.push_back(podRequests(in_.pods[p]));
      const PodInfo& pod = in_.pods[p];
      if (!podActive(pod) || podStaysWithNode(pod)) continue;
      auto it = byName.find(pod.nodeName);
      if (it != byName.end()) podsOn_[it->second].push_back(p);
    }
    for (const auto& pdb : in_.pdbs) pdbLeft_.push_back(pdb.disruptionsAllowed);
  }

  std::optional<size_t> poolOf(size_t i) const {
    auto it = poolIndex_.find(sim_[i].pool);
    if (it == poolIndex_.end()) return std::nullopt;
    return it->second;
  }

  // Rules that keep a node whatever the plan: returns the reason, empty when the node may be disrupted.
  std::string nodeBlock(size_t i) const {
    const NodeInfo& n = sim_[i];
    if (!poolOf(i)) return "not in a spotfit node pool";
    if (n.inFlight) return "node is still starting";
    if (n.unschedulable) return "node is cordoned";
    for (size_t p : podsOn_[i]) {
      const PodInfo& pod = in_.pods[p];
      if (pod.doNotDisrupt) return "pod " + pod.key() + " has spotfit.io/do-not-disrupt";
      if (!pod.hasController) return "pod " + pod.key() + " has no controller";
      if (pod.hasLocalStorage) return "pod " + pod.key() + " uses local storage";
      if (pod.hasInterPodConstraints()) return "pod " + pod.key() + " has inter-pod affinity or topology spread";
    }
    return "";
  }

  // Evicting the node's pods fits within every PDB's remaining allowance; consumes it when `take`.
  std::string pdbBlock(size_t i, bool take) {
    std::vector<int32_t> need(in_.pdbs.size(), 0);
    for (size_t p : podsOn_[i]) {
      for (size_t b = 0; b < in_.pdbs.size(); ++b) {
        if (selects(in_.pdbs[b], in_.pods[p])) need[b] += 1;
      }
    }
    for (size_t b = 0; b < in_.pdbs.size(); ++b) {
      if (need[b] > pdbLeft_[b]) {
        return "PodDisruptionBudget " + in_.pdbs[b].namespace_ + "/" + in_.pdbs[b].name + " allows " +
               std::to_string(pdbLeft_[b]) + " more disruption(s), node needs " + std::to_string(need[b]);
      }
    }
    if (take) {
      for (size_t b = 0; b < in_.pdbs.size(); ++b) pdbLeft_[b] -= need[b];
    }
    return "";
  }

  std::string minBlock(size_t i) const {
    size_t pi = *poolOf(i);
    const NodePool& pool = in_.pools[pi];
    if (poolCount_[pi] - 1 < pool.minNodes) {
      return "node pool " + pool.name + " is at its minimum of " + std::to_string(pool.minNodes) + " nodes";
    }
    return "";
  }

  std::vector<size_t> emptyCandidates() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < sim_.size(); ++i) {
      if (podsOn_[i].empty()) out.push_back(i);
    }
    std::sort(out.begin(), out.end(), [&](size_t a, size_t b) {
      if (sim_[a].hourlyPrice != sim_[b].hourlyPrice) return sim_[a].hourlyPrice > sim_[b].hourlyPrice;
      return sim_[a].name < sim_[b].name;
    });
    return out;
  }

  std::vector<size_t> underusedCandidates() const {
    std::vector<size_t> out;
    for (size_t i = 0; i < sim_.size(); ++i) {
      if (!removed_[i] && !podsOn_[i].empty() && nodeRequestedShare(sim_[i]) < opt_.utilizationThreshold)
        out.push_back(i);
    }
    std::sort(out.begin(), out.end(), [&](size_t a, size_t b) {
      double ua = nodeRequestedShare(sim_[a]);
      double ub = nodeRequestedShare(sim_[b]);
      if (ua != ub) return ua < ub;
      if (sim_[a].hourlyPrice != sim_[b].hourlyPrice) return sim_[a].hourlyPrice > sim_[b].hourlyPrice;
      return sim_[a].name < sim_[b].name;
    });
    return out;
  }

  void remove(size_t i) {
    removed_[i] = 1;
    size_t pi = *poolOf(i);
    poolCount_[pi] -= 1;
    poolCapacity_[pi] -= sim_[i].allocatable;
  }

  void tryDeleteEmpty(size_t i) {
    std::string why = nodeBlock(i);
    if (why.empty()) why = minBlock(i);
    if (!why.empty()) {
      blockReason_[i] = why;
      return;
    }
    remove(i);
    ConsolidationAction a;
    a.kind = ConsolidationKind::DeleteEmpty;
    a.node = sim_[i].name;
    a.savingsPerHour = sim_[i].hourlyPrice;
    a.reason = "node is empty; saves " + money(a.savingsPerHour);
    plan_.actions.push_back(std::move(a));
  }

  void tryDeleteUnderused(size_t i) {
    if (destination_[i]) return;  // it just received pods in this plan
    std::string why = nodeBlock(i);
    if (why.empty()) why = pdbBlock(i, false);
    if (why.empty()) why = minBlock(i);
    if (!why.empty()) {
      blockReason_[i] = why;
      return;
    }
    std::vector<size_t> pods = podsOn_[i];
    std::sort(pods.begin(), pods.end(), [&](size_t a, size_t b) {
      if (req_[a].cpuMilli != req_[b].cpuMilli) return req_[a].cpuMilli > req_[b].cpuMilli;
      if (req_[a].memory != req_[b].memory) return req_[a].memory > req_[b].memory;
      return a < b;
    });
    std::vector<PodMove> moves;
    std::vector<std::pair<size_t, size_t>> applied;  // (pod, destination)
    bool ok = true;
    for (size_t p : pods) {
      size_t best = sim_.size();
      double bestScore = -1;
      for (size_t j = 0; j < sim_.size(); ++j) {
        if (j == i || removed_[j] || sim_[j].inFlight) continue;
        if (!fit(in_.pods[p], req_[p], sim_[j]).fits) continue;
        double s = explainScore(in_.pods[p], req_[p], sim_[j]).total;
        if (s > bestScore || (s == bestScore && sim_[j].name < sim_[best].name)) {
          best = j;
          bestScore = s;
        }
      }
      if (best == sim_.size()) {
        ok = false;
        break;
      }
      sim_[best].requested += req_[p];
      applied.emplace_back(p, best);
      moves.push_back(PodMove{p, sim_[best].name});
    }
    if (!ok) {
      for (auto& [p, j] : applied) sim_[j].requested -= req_[p];
      return;  // maybe a replacement later
    }
    for (auto& [p, j] : applied) destination_[j] = 1;
    (void)pdbBlock(i, true);
    remove(i);
    ConsolidationAction a;
    a.kind = ConsolidationKind::DeleteUnderused;
    a.node = sim_[i].name;
    a.moves = std::move(moves);
    a.savingsPerHour = sim_[i].hourlyPrice;
    a.reason = "node is " + std::to_string(static_cast<int>(nodeRequestedShare(sim_[i]) * 100)) +
               "% used and its pods fit elsewhere; saves " + money(a.savingsPerHour);
    plan_.actions.push_back(std::move(a));
  }

  void tryReplace(size_t i) {
    if (removed_[i] || destination_[i] || podsOn_[i].empty() || !blockReason_[i].empty()) return;
    if (!nodeBlock(i).empty() || !pdbBlock(i, false).empty()) return;
    const NodeInfo& n = sim_[i];
    double limit = n.hourlyPrice * (1 - opt_.minReplaceSavingsFraction);
    struct Best {
      size_t pool = 0;
      const InstanceType* type = nullptr;
      const Offering* offering = nullptr;
    } best;
    for (size_t pi = 0; pi < in_.pools.size(); ++pi) {
      const NodePool& pool = in_.pools[pi];
      // The replacement exists next to the old node until the drain finishes.
      if (pool.maxNodes >= 0 && poolCount_[pi] + 1 > pool.maxNodes) continue;
      for (const InstanceType& t : pool.instanceTypes) {
        for (const Offering& o : t.offerings) {
          if (!o.available || o.hourlyPrice >= limit) continue;
          if (o.capacityType == CapacityType::Spot ? !pool.allowSpot : !pool.allowOnDemand) continue;
          if (best.offering != nullptr) {
            if (o.hourlyPrice > best.offering->hourlyPrice) continue;
            if (o.hourlyPrice == best.offering->hourlyPrice &&
                !(o.capacityType == CapacityType::Spot && best.offering->capacityType != CapacityType::Spot)) {
              continue;
            }
          }
          NodeInfo tmpl = nodeFromOffering(pool, t, o, n.name + "-replacement");
          if (!fits(n.requested, tmpl.allocatable)) continue;
          if (!withinLimits(poolCapacity_[pi] + tmpl.allocatable, pool.limits)) continue;
          bool all = std::all_of(podsOn_[i].begin(), podsOn_[i].end(),
                                 [&](size_t p) { return staticallyCompatible(in_.pods[p], tmpl); });
          if (!all) continue;
          best = Best{pi, &t, &o};
        }
      }
    }
    if (best.offering == nullptr) return;
    size_t oldPool = *poolOf(i);
    if (best.pool != oldPool && !minBlock(i).empty()) return;
    (void)pdbBlock(i, true);
    const InstanceType& t = *best.type;
    remove(i);
    poolCount_[best.pool] += 1;
    poolCapacity_[best.pool] += t.allocatable;
    ConsolidationAction a;
    a.kind = ConsolidationKind::Replace;
    a.node = n.name;
    for (size_t p : podsOn_[i]) a.moves.push_back(PodMove{p, ""});
    a.replacementPool = in_.pools[best.pool].name;
    a.replacementInstanceType = t.name;
    a.replacementCapacityType = best.offering->capacityType;
    a.replacementPrice = best.offering->hourlyPrice;
    a.savingsPerHour = n.hourlyPrice - a.replacementPrice;
    a.reason = "replace " + n.instanceType + " (" + money(n.hourlyPrice) + ") with " +
               std::string(toString(a.replacementCapacityType)) + " " + t.name + " (" + money(a.replacementPrice) + ")";
    plan_.actions.push_back(std::move(a));
  }
};

}  // namespace

ConsolidationPlan planConsolidation(const ConsolidationInput& input, const ConsolidationOptions& options) {
  return Planner(input, options).run();
}

bool podStaysWithNode(const PodInfo& p) {
  return p.ownerKind == "DaemonSet" || p.ownerKind == "Node";
}

bool podActive(const PodInfo& p) {
  return p.phase == PodPhase::Pending || p.phase == PodPhase::Running || p.phase == PodPhase::Unknown;
}

double nodeRequestedShare(const NodeInfo& n) {
  auto ratio = [](int64_t used, int64_t alloc) {
    return alloc > 0 ? static_cast<double>(used) / static_cast<double>(alloc) : 0.0;
  };
  double u =
      std::max(ratio(n.requested.cpuMilli, n.allocatable.cpuMilli), ratio(n.requested.memory, n.allocatable.memory));
  if (n.allocatable.gpus() > 0) u = std::max(u, ratio(n.requested.gpus(), n.allocatable.gpus()));
  return u;
}

}  // namespace spotfit::placement

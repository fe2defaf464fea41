#include "placement/baselines.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <numeric>

#include "placement/fit.hpp"
#include "placement/pool_limits.hpp"

namespace spotfit::placement {
namespace {

struct Template {
  size_t pool = 0;
  NodeInfo node;
};

std::vector<Template> templates(const ScaleUpInput& in) {
  std::vector<Template> out;
  for (size_t pi = 0; pi < in.pools.size(); ++pi) {
    const NodePool& pool = in.pools[pi];
    for (const InstanceType& t : pool.instanceTypes) {
      for (const Offering& o : t.offerings) {
        if (!o.available) continue;
        if (o.capacityType == CapacityType::Spot ? !pool.allowSpot : !pool.allowOnDemand) continue;
        out.push_back(Template{pi, nodeFromOffering(pool, t, o, pool.name + "-template")});
      }
    }
  }
  return out;
}

std::vector<int64_t> poolNodeCounts(const ScaleUpInput& in) {
  std::vector<int64_t> counts(in.pools.size(), 0);
  for (const NodeInfo& n : in.nodes) {
    for (size_t i = 0; i < in.pools.size(); ++i) {
      if (in.pools[i].name == n.pool) counts[i] += 1;
    }
  }
  return counts;
}

std::vector<Resources> poolCapacities(const ScaleUpInput& in) {
  std::vector<Resources> caps(in.pools.size());
  for (const NodeInfo& n : in.nodes) {
    for (size_t i = 0; i < in.pools.size(); ++i) {
      if (in.pools[i].name == n.pool) caps[i] += n.allocatable;
    }
  }
  return caps;
}

// Pods with required pod affinity are not planned (as in the spotfit solver, so costs compare).
std::vector<size_t> dropPodAffinity(const ScaleUpInput& in, std::vector<size_t> order, ScaleUpPlan& plan) {
  std::erase_if(order, [&](size_t pi) {
    if (!in.pods[pi].hasPodAffinity) return false;
    plan.unschedulable.push_back(UnplacedPod{pi, "required pod affinity is not simulated"});
    return true;
  });
  return order;
}

// Both anchors first put pods on existing capacity, first fit in input order.
std::vector<size_t> placeOnExisting(const ScaleUpInput& in, const std::vector<Resources>& req,
                                    const std::vector<size_t>& order, ScaleUpPlan& plan) {
  std::vector<NodeInfo> nodes = in.nodes;
  std::vector<size_t> rest;
  for (size_t pi : order) {
    bool placed = false;
    for (NodeInfo& n : nodes) {
      if (in.pods[pi].hasInterPodConstraints()) break;
      if (fit(in.pods[pi], req[pi], n).fits) {
        n.requested += req[pi];
        plan.onExisting.push_back(PodAssignment{pi, n.name});
        placed = true;
        break;
      }
    }
    if (!placed) rest.push_back(pi);
  }
  return rest;
}

PlannedNode planned(const ScaleUpInput& in, const Template& t, int seq) {
  PlannedNode p;
  p.name = in.pools[t.pool].name + "-" + std::to_string(seq);
  p.pool = in.pools[t.pool].name;
  p.instanceType = t.node.instanceType;
  p.capacityType = t.node.capacityType;
  p.hourlyPrice = t.node.hourlyPrice;
  p.allocatable = t.node.allocatable;
  return p;
}

void finish(ScaleUpPlan& plan) {
  std::sort(plan.onExisting.begin(), plan.onExisting.end(),
            [](const PodAssignment& a, const PodAssignment& b) { return a.pod < b.pod; });
  std::sort(plan.unschedulable.begin(), plan.unschedulable.end(),
            [](const UnplacedPod& a, const UnplacedPod& b) { return a.pod < b.pod; });
  for (auto& n : plan.newNodes) std::sort(n.pods.begin(), n.pods.end());
}

}  // namespace

ScaleUpPlan planLeastWaste(const ScaleUpInput& in) {
  ScaleUpPlan plan;
  std::vector<Resources> req;
  for (const PodInfo& p : in.pods) req.push_back(podRequests(p));
  std::vector<size_t> order(in.pods.size());
  std::iota(order.begin(), order.end(), 0);
  order = dropPodAffinity(in, order, plan);
  std::vector<size_t> rest = placeOnExisting(in, req, order, plan);
  std::vector<Template> tmpl = templates(in);
  std::vector<int64_t> poolNodes = poolNodeCounts(in);
  std::vector<Resources> poolCap = poolCapacities(in);
  int seq = 0;
  while (!rest.empty()) {
    double bestWaste = std::numeric_limits<double>::infinity();
    size_t bestT = tmpl.size();
    std::vector<NodeInfo> bestNodes;
    std::vector<std::vector<size_t>> bestPods;
    for (size_t ti = 0; ti < tmpl.size(); ++ti) {
      const NodeInfo& t = tmpl[ti].node;
      const NodePool& pool = in.pools[tmpl[ti].pool];
      int64_t headroom =
          pool.maxNodes < 0 ? std::numeric_limits<int64_t>::max() : pool.maxNodes - poolNodes[tmpl[ti].pool];
      // CA's binpacking estimator: pods by descending (cpu/nodeCpu + mem/nodeMem), first fit.
      std::vector<size_t> cand;
      for (size_t pi : rest) {
        if (fit(in.pods[pi], req[pi], t, FitOptions{.ignoreUsage = true}).fits) cand.push_back(pi);
      }
      // Resource limits cap the node count too.
      Resources cap = poolCap[tmpl[ti].pool];
      int64_t byLimits = 0;
      while (byLimits < headroom && byLimits < static_cast<int64_t>(cand.size())) {
        cap += t.allocatable;
        if (!withinLimits(cap, pool.limits)) break;
        ++byLimits;
      }
      headroom = std::min(headroom, byLimits);
      if (cand.empty() || headroom <= 0) continue;
      auto score = [&](size_t pi) {
        return static_cast<double>(req[pi].cpuMilli) /
                   static_cast<double>(std::max<int64_t>(t.allocatable.cpuMilli, 1)) +
               static_cast<double>(req[pi].memory) / static_cast<double>(std::max<int64_t>(t.allocatable.memory, 1));
      };
      std::stable_sort(cand.begin(), cand.end(), [&](size_t a, size_t b) { return score(a) > score(b); });
      std::vector<NodeInfo> nodes;
      std::vector<std::vector<size_t>> pods;
      for (size_t pi : cand) {
        bool placed = false;
        // Pods with anti-affinity or topology spread get a node of their own.
        for (size_t k = 0; k < nodes.size() && !in.pods[pi].hasInterPodConstraints(); ++k) {
          if (pods[k].size() == 1 && in.pods[pods[k][0]].hasInterPodConstraints()) continue;
          if (fit(in.pods[pi], req[pi], nodes[k]).fits) {
            nodes[k].requested += req[pi];
            pods[k].push_back(pi);
            placed = true;
            break;
          }
        }
        if (!placed && static_cast<int64_t>(nodes.size()) < headroom) {
          nodes.push_back(t);
          nodes.back().requested += req[pi];
          pods.push_back({pi});
        }
      }
      double availCpu = 0;
      double usedCpu = 0;
      double availMem = 0;
      double usedMem = 0;
      for (const NodeInfo& n : nodes) {
        availCpu += static_cast<double>(n.allocatable.cpuMilli);
        usedCpu += static_cast<double>(n.requested.cpuMilli);
        availMem += static_cast<double>(n.allocatable.memory);
        usedMem += static_cast<double>(n.requested.memory);
      }
      double waste =
          (availCpu > 0 ? (availCpu - usedCpu) / availCpu : 0) + (availMem > 0 ? (availMem - usedMem) / availMem : 0);
      if (waste < bestWaste) {
        bestWaste = waste;
        bestT = ti;
        bestNodes = std::move(nodes);
        bestPods = std::move(pods);
      }
    }
    if (bestT == tmpl.size()) break;
    poolNodes[tmpl[bestT].pool] += static_cast<int64_t>(bestNodes.size());
    for (const NodeInfo& n : bestNodes) poolCap[tmpl[bestT].pool] += n.allocatable;
    std::vector<char> done(in.pods.size(), 0);
    for (size_t k = 0; k < bestNodes.size(); ++k) {
      PlannedNode p = planned(in, tmpl[bestT], seq++);
      p.requested = bestNodes[k].requested;
      p.pods = bestPods[k];
      for (size_t pi : p.pods) done[pi] = 1;
      plan.newNodes.push_back(std::move(p));
    }
    std::erase_if(rest, [&](size_t pi) { return done[pi] != 0; });
  }
  for (size_t pi : rest) plan.unschedulable.push_back(UnplacedPod{pi, "no node group can take the pod"});
  finish(plan);
  return plan;
}

ScaleUpPlan planFirstFitDecreasing(const ScaleUpInput& in) {
  ScaleUpPlan plan;
  std::vector<Resources> req;
  for (const PodInfo& p : in.pods) req.push_back(podRequests(p));
  std::vector<size_t> order(in.pods.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    if (req[a].cpuMilli != req[b].cpuMilli) return req[a].cpuMilli > req[b].cpuMilli;
    return req[a].memory > req[b].memory;
  });
  order = dropPodAffinity(in, order, plan);
  std::vector<size_t> rest = placeOnExisting(in, req, order, plan);
  std::vector<Template> tmpl = templates(in);
  std::vector<int64_t> poolNodes = poolNodeCounts(in);
  std::vector<Resources> poolCap = poolCapacities(in);
  struct Claim {
    size_t pool = 0;
    bool closed = false;  // anti-affinity / spread pod alone
    Resources reserved;   // the largest candidate, held against the pool limits until launch
    Resources requested;
    std::vector<size_t> pods;
    std::vector<size_t> candidates;  // template indices still holding every pod
  };
  std::vector<Claim> claims;
  for (size_t pi : rest) {
    bool placed = false;
    for (Claim& c : claims) {
      if (in.pods[pi].hasInterPodConstraints()) break;
      if (c.closed) continue;
      Resources sum = c.requested + req[pi];
      std::vector<size_t> keep;
      for (size_t ti : c.candidates) {
        NodeInfo n = tmpl[ti].node;
        n.requested = c.requested;
        if (fit(in.pods[pi], req[pi], n).fits) keep.push_back(ti);
      }
      if (keep.empty()) continue;
      c.requested = sum;
      c.pods.push_back(pi);
      c.candidates = std::move(keep);
      placed = true;
      break;
    }
    if (placed) continue;
    // A new NodeClaim in the first pool (input order) that has headroom and a type for the pod.
    for (size_t poolIdx = 0; poolIdx < in.pools.size() && !placed; ++poolIdx) {
      const NodePool& pool = in.pools[poolIdx];
      if (pool.maxNodes >= 0 && poolNodes[poolIdx] >= pool.maxNodes) continue;
      Claim c;
      c.pool = poolIdx;
      for (size_t ti = 0; ti < tmpl.size(); ++ti) {
        if (tmpl[ti].pool != poolIdx || !fit(in.pods[pi], req[pi], tmpl[ti].node).fits) continue;
        if (!withinLimits(poolCap[poolIdx] + tmpl[ti].node.allocatable, pool.limits)) continue;
        c.candidates.push_back(ti);
      }
      if (c.candidates.empty()) continue;
      for (size_t ti : c.candidates) c.reserved = Resources::max(c.reserved, tmpl[ti].node.allocatable);
      if (!withinLimits(poolCap[poolIdx] + c.reserved, pool.limits)) {
        // Karpenter holds the largest option against the limit: keep only what fits under it.
        std::erase_if(c.candidates, [&](size_t ti) {
          return !withinLimits(poolCap[poolIdx] + tmpl[ti].node.allocatable, pool.limits);
        });
        c.reserved = Resources{};
        for (size_t ti : c.candidates) c.reserved = Resources::max(c.reserved, tmpl[ti].node.allocatable);
        if (c.candidates.empty() || !withinLimits(poolCap[poolIdx] + c.reserved, pool.limits)) continue;
      }
      poolCap[poolIdx] += c.reserved;
      c.closed = in.pods[pi].hasInterPodConstraints();
      c.requested = req[pi];
      c.pods.push_back(pi);
      poolNodes[poolIdx] += 1;
      claims.push_back(std::move(c));
      placed = true;
    }
    if (!placed) plan.unschedulable.push_back(UnplacedPod{pi, "no NodePool can take the pod"});
  }
  int seq = 0;
  for (Claim& c : claims) {
    size_t best = c.candidates.front();
    for (size_t ti : c.candidates) {
      if (tmpl[ti].node.hourlyPrice < tmpl[best].node.hourlyPrice) best = ti;
    }
    PlannedNode p = planned(in, tmpl[best], seq++);
    p.requested = c.requested;
    p.pods = std::move(c.pods);
    plan.newNodes.push_back(std::move(p));
  }
  finish(plan);
  return plan;
}

}  // namespace spotfit::placement

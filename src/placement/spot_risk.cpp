#include "placement/spot_risk.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include "placement/move_payoff.hpp"

namespace spotfit::placement {

namespace {

using OfferingId = std::pair<std::string, std::string>;  // pool, instance type

double realPrice(const std::vector<NodePool>& pools, const PlannedNode& n) {
  for (const auto& p : pools) {
    if (p.name != n.pool) continue;
    for (const auto& t : p.instanceTypes) {
      if (t.name != n.instanceType) continue;
      for (const auto& o : t.offerings) {
        if (o.capacityType == n.capacityType) return std::max(o.hourlyPrice, 0.0);
      }
    }
  }
  return n.hourlyPrice;
}

// Spot offerings at their risk-adjusted price; banned spot offerings unavailable.
void adjustPools(std::vector<NodePool>& pools, const SpotRiskInput& risk, double factor,
                 const std::set<OfferingId>& banned) {
  for (auto& pool : pools) {
    for (auto& t : pool.instanceTypes) {
      for (auto& o : t.offerings) {
        if (o.capacityType != CapacityType::Spot) continue;
        if (banned.count({pool.name, t.name})) o.available = false;
        auto it = risk.spotRates.find({pool.name, t.name});
        if (it != risk.spotRates.end()) o.hourlyPrice = riskAdjustedPrice(o.hourlyPrice, it->second, 2 * factor, 1);
      }
    }
  }
}

}  // namespace

double estimatedRate(const RiskHistory& history, const RiskPrior& prior) {
  const double n = std::max(history.interruptions, 0.0), e = std::max(history.exposureHours, 0.0);
  const double w = std::max(prior.weightHours, 0.0), r = std::max(prior.ratePerHour, 0.0);
  if (w + e <= 0) return r;
  return (r * w + n) / (w + e);
}

double riskAdjustedPrice(double price, double ratePerHour, double runtimeHours, double lostFraction) {
  const double extra = std::max(ratePerHour, 0.0) * std::clamp(lostFraction, 0.0, 1.0) * std::max(runtimeHours, 0.0);
  return price * (1 + extra / 2);
}

double meanWorkAtRiskHours(const ScaleUpInput& input, const SpotRiskInput& risk) {
  if (input.pods.empty()) return 0;
  double sum = 0;
  for (size_t i = 0; i < input.pods.size(); ++i) {
    double t = i < risk.runtimeHours.size() ? risk.runtimeHours[i] : 0;
    if (!(t > 0)) t = std::max(risk.defaultRuntimeHours, 0.0);
    const double f = isResumable(input.pods[i]) ? std::clamp(risk.resumableLostWork, 0.0, 1.0) : 1.0;
    sum += f * t / 2;
  }
  return sum / static_cast<double>(input.pods.size());
}

RiskPlan planScaleUpByRisk(const ScaleUpInput& input, const SpotRiskInput& risk, const SolverOptions& options) {
  RiskPlan out;
  out.riskFactor = meanWorkAtRiskHours(input, risk);
  std::set<OfferingId> banned;
  auto plan = [&](ScaleUpInput in) {
    adjustPools(in.pools, risk, out.riskFactor, banned);
    ScaleUpPlan p = planScaleUp(in, options);
    for (auto& n : p.newNodes) n.hourlyPrice = realPrice(input.pools, n);
    return p;
  };
  out.plan = plan(input);  // on a copy: the input's pools keep their real prices
  if (risk.maxOfferingShare >= 1) return out;

  for (size_t round = 0; round < 16; ++round) {
    ScaleUpPlan& cur = out.plan;
    size_t total = 0;
    std::map<OfferingId, size_t> count;
    for (const auto& n : cur.newNodes) {
      if (n.capacityType != CapacityType::Spot) continue;
      total += n.pods.size();
      count[{n.pool, n.instanceType}] += n.pods.size();
    }
    if (total < risk.spreadMinPods) break;
    const size_t cap = std::max<size_t>(
        1, static_cast<size_t>(std::floor(std::max(risk.maxOfferingShare, 0.0) * static_cast<double>(total))));
    OfferingId over;
    size_t worst = cap;
    for (const auto& [id, c] : count) {
      if (c > worst && !banned.count(id)) {
        worst = c;
        over = id;
      }
    }
    if (worst <= cap) break;

    // Keep the capped offering's nodes up to the cap (at least one); re-plan the pods of the others.
    std::vector<PlannedNode> kept;
    std::vector<size_t> excess;
    size_t keptPods = 0;
    double replacedCost = 0;
    bool first = true;
    for (const auto& n : cur.newNodes) {
      const bool capped = n.capacityType == CapacityType::Spot && OfferingId{n.pool, n.instanceType} == over;
      if (capped && !first && keptPods + n.pods.size() > cap) {
        excess.insert(excess.end(), n.pods.begin(), n.pods.end());
        replacedCost += n.hourlyPrice;
        continue;
      }
      if (capped) {
        first = false;
        keptPods += n.pods.size();
      }
      kept.push_back(n);
    }
    ScaleUpInput sub;
    sub.pools = input.pools;
    sub.nodes = input.nodes;
    std::map<std::string, size_t> nodeIndex;
    for (size_t i = 0; i < sub.nodes.size(); ++i) nodeIndex[sub.nodes[i].name] = i;
    for (const auto& a : cur.onExisting) {
      auto it = nodeIndex.find(a.node);
      if (it != nodeIndex.end()) sub.nodes[it->second].requested += podRequests(input.pods[a.pod]);
    }
    // The kept new nodes take part as in-flight nodes: their spare room may take excess pods, except on
    // the capped offering (cordoned there: it still counts toward the pool's max and limits).
    const std::string spreadPrefix = "\x01spread-";
    for (size_t k = 0; k < kept.size(); ++k) {
      NodeInfo ni;
      ni.name = spreadPrefix + std::to_string(k);
      for (const auto& p : input.pools) {
        if (p.name != kept[k].pool) continue;
        for (const auto& t : p.instanceTypes) {
          if (t.name != kept[k].instanceType) continue;
          ni = nodeFromOffering(p, t, {kept[k].capacityType, kept[k].hourlyPrice, true}, ni.name);
        }
      }
      ni.requested = kept[k].requested;
      ni.inFlight = true;
      ni.unschedulable =
          kept[k].capacityType == CapacityType::Spot && OfferingId{kept[k].pool, kept[k].instanceType} == over;
      sub.nodes.push_back(std::move(ni));
    }
    for (size_t i : excess) sub.pods.push_back(input.pods[i]);
    banned.insert(over);
    ScaleUpPlan sp = plan(sub);
    if (!sp.unschedulable.empty()) break;  // spreading would strand pods: keep the plan as it is
    if (sp.newNodesHourlyCost() > replacedCost * (1 + std::max(risk.maxSpreadPremium, 0.0)) + 1e-12) break;

    ScaleUpPlan next;
    next.onExisting = cur.onExisting;
    next.unschedulable = cur.unschedulable;
    for (const auto& a : sp.onExisting) {
      const size_t pod = excess[a.pod];
      if (a.node.rfind(spreadPrefix, 0) == 0) {
        const size_t k = std::stoul(a.node.substr(spreadPrefix.size()));
        kept[k].pods.push_back(pod);
        kept[k].requested += podRequests(input.pods[pod]);
      } else {
        next.onExisting.push_back({pod, a.node});
      }
    }
    next.newNodes = std::move(kept);
    for (auto n : sp.newNodes) {
      for (auto& p : n.pods) p = excess[p];
      n.name += "-s" + std::to_string(round + 1);
      next.newNodes.push_back(std::move(n));
    }
    out.plan = std::move(next);
    ++out.spreadOfferings;
  }
  return out;
}

}  // namespace spotfit::placement

#include "placement/gang.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <set>

namespace spotfit::placement {

std::string offeringZone(const NodePool& pool, const InstanceType& type) {
  if (auto it = type.labels.find(kLabelTopologyZone); it != type.labels.end()) return it->second;
  if (auto it = pool.labels.find(kLabelTopologyZone); it != pool.labels.end()) return it->second;
  return "";
}

namespace {

std::string nodeZone(const NodeInfo& n) {
  auto it = n.labels.find(kLabelTopologyZone);
  return it == n.labels.end() ? std::string() : it->second;
}

struct Candidate {
  std::optional<CapacityType> capacityType;  // nullopt: both
  std::optional<std::string> zone;           // nullopt: any
};

// A copy of the input in which only offerings and existing nodes of the candidate's capacity type and
// zone can take members. Excluded nodes stay in the input (cordoned and full) so that pool maxNodes and
// limits still count them.
ScaleUpInput restrict(const ScaleUpInput& in, const Candidate& c) {
  ScaleUpInput out;
  out.pods = in.pods;
  out.pools = in.pools;
  for (NodePool& pool : out.pools) {
    for (InstanceType& type : pool.instanceTypes) {
      const bool zoneOk = !c.zone || offeringZone(pool, type) == *c.zone;
      for (Offering& o : type.offerings) {
        if (!zoneOk || (c.capacityType && o.capacityType != *c.capacityType)) o.available = false;
      }
    }
  }
  out.nodes = in.nodes;
  for (NodeInfo& n : out.nodes) {
    const bool ok = (!c.capacityType || n.capacityType == *c.capacityType) && (!c.zone || nodeZone(n) == *c.zone);
    if (!ok) {
      n.unschedulable = true;
      n.requested = n.allocatable;
    }
  }
  return out;
}

// The node pools a member could use at all, ignoring capacity type and zone (for gangSameZone).
bool anyPoolWantsSameZone(const ScaleUpInput& in) {
  return std::any_of(in.pools.begin(), in.pools.end(), [](const NodePool& p) { return p.gangSameZone; });
}

std::vector<std::string> candidateZones(const ScaleUpInput& in) {
  std::set<std::string> zones;
  for (const NodePool& pool : in.pools) {
    for (const InstanceType& type : pool.instanceTypes) {
      bool any =
          std::any_of(type.offerings.begin(), type.offerings.end(), [](const Offering& o) { return o.available; });
      if (any) zones.insert(offeringZone(pool, type));
    }
  }
  for (const NodeInfo& n : in.nodes) {
    if (!n.unschedulable) zones.insert(nodeZone(n));
  }
  return {zones.begin(), zones.end()};
}

struct Attempt {
  Candidate candidate;
  ScaleUpPlan plan;
  bool feasible = false;
  double cost = 0;
};

std::string label(const Candidate& c) {
  std::string s = c.capacityType ? std::string(toString(*c.capacityType)) : std::string("mixed capacity");
  if (c.zone) s += " in zone " + (c.zone->empty() ? std::string("(unlabelled)") : *c.zone);
  return s;
}

// The most common unplaced reason of a failed attempt, with how many members it blocks.
std::string failure(const Attempt& a, size_t members) {
  std::map<std::string, size_t> count;
  for (const auto& u : a.plan.unschedulable) count[u.reason] += 1;
  const std::pair<const std::string, size_t>* top = nullptr;
  for (const auto& e : count) {
    if (!top || e.second > top->second) top = &e;
  }
  std::string s = label(a.candidate) + ": " + std::to_string(a.plan.unschedulable.size()) + " of " +
                  std::to_string(members) + " members do not fit";
  if (top) s += " (" + top->first + ")";
  return s;
}

}  // namespace

GangPlan planGang(const ScaleUpInput& input, const GangOptions& options) {
  GangPlan result;
  if (input.pods.empty()) {
    result.feasible = true;
    return result;
  }
  const bool zonal = options.topology == GangTopology::Zone || anyPoolWantsSameZone(input) || options.zone;
  std::vector<std::optional<std::string>> zones;
  if (options.zone) {
    zones.emplace_back(*options.zone);
  } else if (zonal) {
    for (auto& z : candidateZones(input)) zones.emplace_back(std::move(z));
  } else {
    zones.emplace_back(std::nullopt);
  }

  // Runs every candidate of one capacity type (all zones) and returns the cheapest feasible one.
  std::vector<std::string> failures;
  auto best = [&](std::optional<CapacityType> ct) -> std::optional<Attempt> {
    std::optional<Attempt> chosen;
    std::optional<Attempt> closest;  // the failed attempt that placed the most members
    for (const auto& z : zones) {
      Attempt a;
      a.candidate = Candidate{ct, z};
      a.plan = planScaleUp(restrict(input, a.candidate), options.solver);
      a.feasible = a.plan.unschedulable.empty();
      a.cost = a.plan.newNodesHourlyCost();
      if (a.feasible) {
        if (!chosen || a.cost < chosen->cost - 1e-12) chosen = std::move(a);
      } else if (!closest || a.plan.unschedulable.size() < closest->plan.unschedulable.size()) {
        closest = std::move(a);
      }
    }
    if (!chosen) {
      if (closest) {
        failures.push_back(failure(*closest, input.pods.size()));
      } else {
        failures.push_back(label(Candidate{ct, std::nullopt}) + ": no zone has an available offering or free node");
      }
    }
    return chosen;
  };

  std::optional<Attempt> chosen;
  if (options.capacityType) {
    chosen = best(*options.capacityType);
  } else {
    chosen = best(CapacityType::Spot);
    if (!chosen) {
      chosen = best(CapacityType::OnDemand);
      result.fellBackToOnDemand = chosen.has_value();
    }
    if (!chosen && options.allowMixedCapacity) chosen = best(std::nullopt);
  }

  std::string why;
  for (const auto& f : failures) why += (why.empty() ? "" : "; ") + f;
  if (!chosen) {
    result.reason = "gang of " + std::to_string(input.pods.size()) + " gets no capacity (all or nothing): " + why;
    return result;
  }
  result.feasible = true;
  result.plan = std::move(chosen->plan);
  result.capacityType = chosen->candidate.capacityType;
  result.zone = chosen->candidate.zone.value_or("");
  result.reason = why;
  return result;
}

}  // namespace spotfit::placement

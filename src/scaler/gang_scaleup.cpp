// Scale-up of gangs (docs/scaler.md, "Gangs"): pods that are useless unless all of them run are planned
// as one unit through placement::planGang and launched all or nothing. Called from Scaler::scaleUp with
// the pending pods of the pass; the pods it takes out are not planned again by the per-pod path.

#include <algorithm>
#include <map>
#include <set>

#include "placement/gang.hpp"
#include "placement/gang_detect.hpp"
#include "scaler/scaler.hpp"

namespace spotfit::scaler {

namespace {

// Re-plans of one gang in one pass after a launch failed (each failure removes an offering).
constexpr int kMaxGangAttempts = 6;

ObjectRef gangPodRef(const placement::PodInfo& p) {
  return {"Pod", p.namespace_, p.name, p.uid};
}
ObjectRef gangPoolRef(const std::string& n) {
  return {"SpotfitPool", "", n, ""};
}

struct PendingGang {
  std::vector<placement::PodInfo> members;  // pending, to plan
  int64_t size = 0;                         // expected members (largest any member states), 0 unknown
  placement::GangOptions options;
  std::set<CapacityType> boundTypes;  // capacity types and zones of the nodes of members already bound
  std::set<std::string> boundZones;
  size_t bound = 0;
  std::map<std::string, std::string> warnings;  // member uid -> its unusable gang annotations
};

}  // namespace

std::vector<placement::NodePool> Scaler::gangPools(TimePoint now, bool zonal) const {
  std::vector<placement::NodePool> out;
  for (const auto& pp : plannerPools(now)) {
    placement::NodePool p = toPlacementPool(*pp.pool, pp.available);
    // A gang that must stay in one zone needs to know each new node's zone at planning time: a pool
    // with several zones offers each instance type once per zone, available where that zone is.
    if (zonal && pp.pool->zones.size() > 1) {
      std::vector<placement::InstanceType> perZone;
      for (const auto& t : p.instanceTypes) {
        for (const auto& z : pp.pool->zones) {
          placement::InstanceType c = t;
          c.labels[std::string(placement::kLabelTopologyZone)] = z;
          for (auto& o : c.offerings) {
            o.available = o.available && !unavailable_.unavailable({p.name, t.name, o.capacityType, z}, now);
          }
          perZone.push_back(std::move(c));
        }
      }
      p.instanceTypes = std::move(perZone);
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::string Scaler::overCostLimit(const std::vector<placement::PlannedNode>& newNodes,
                                  const std::vector<placement::NodeInfo>& nodes) const {
  std::map<std::string, double> added;
  for (const auto& pn : newNodes) added[pn.pool] += pn.hourlyPrice;
  std::string over;
  for (const auto& [poolName, cost] : added) {
    const PoolState* ps = validPool(poolName);
    if (!ps || ps->pool.limits.costPerHour <= 0) continue;
    double poolCost = 0;
    for (const auto& n : nodes) {
      if (n.pool != poolName) continue;
      const InstanceType* t = ps->pool.instanceType(n.instanceType);
      poolCost += n.hourlyPrice > 0 ? n.hourlyPrice : (t ? t->price(n.capacityType) : 0);
    }
    if (poolCost + cost > ps->pool.limits.costPerHour + 1e-9) {
      over = "pool " + poolName + " would exceed its cost limit of " + std::to_string(ps->pool.limits.costPerHour) +
             " USD/h";
    }
  }
  return over;
}

int Scaler::scaleUpGangs(const ClusterSnapshot& snap, std::vector<placement::PodInfo>& pods,
                         std::vector<placement::NodeInfo>& nodes, TimePoint now) {
  std::map<std::string, PendingGang> gangs;  // bounded by the pending pods of this pass
  std::vector<placement::PodInfo> rest;
  std::set<std::string> planned;
  for (auto& pod : pods) {
    auto ref = placement::detectGang(pod);
    if (!ref) {
      rest.push_back(std::move(pod));
      continue;
    }
    PendingGang& g = gangs[ref->key];
    for (const auto& w : ref->warnings) {
      std::string& text = g.warnings[pod.uid];
      text += (text.empty() ? "" : "; ") + w;
    }
    g.size = std::max(g.size, ref->size);
    if (ref->topology == placement::GangTopology::Zone) g.options.topology = placement::GangTopology::Zone;
    g.options.allowMixedCapacity = g.options.allowMixedCapacity || ref->allowMixedCapacity;
    planned.insert(pod.key());
    g.members.push_back(std::move(pod));
  }
  pods = std::move(rest);
  if (gangs.empty()) return 0;

  // Copied, not pointed at: `nodes` grows as gangs launch below.
  std::map<std::string, std::pair<CapacityType, std::string>> nodeByName;
  for (const auto& n : nodes) {
    auto z = n.labels.find(kLabelZone);
    nodeByName[n.name] = {n.capacityType, z == n.labels.end() ? "" : z->second};
  }
  for (const auto& p : snap.pods) {
    if (p.info.nodeName.empty() || p.deleting || isFinished(p.info) || planned.count(p.info.key())) continue;
    auto ref = placement::detectGang(p.info);
    if (!ref) continue;
    auto g = gangs.find(ref->key);
    if (g == gangs.end()) continue;
    g->second.bound += 1;
    if (auto n = nodeByName.find(p.info.nodeName); n != nodeByName.end()) {
      g->second.boundTypes.insert(n->second.first);
      g->second.boundZones.insert(n->second.second);
    }
  }

  int created = 0;
  for (auto& entry : gangs) {
    const auto& key = entry.first;  // not a structured binding: clang 14 cannot capture those in a lambda
    auto& g = entry.second;
    // One event per member and change of reason (a member's annotation warnings go with it, once).
    auto notify = [&](const std::string& type, const std::string& reason, const std::string& why) {
      for (const auto& m : g.members) {
        auto w = g.warnings.find(m.uid);
        const std::string warning = w == g.warnings.end() ? "" : "gang " + key + ": " + w->second;
        if (podEventReason_[m.uid] == why + warning) continue;
        podEventReason_[m.uid] = why + warning;
        emit(gangPodRef(m), type, reason, why);
        if (!warning.empty()) {
          log("scale-up: pod " + m.key() + " " + warning);
          emit(gangPodRef(m), "Warning", "GangWarning", warning);
        }
      }
    };
    const size_t have = g.members.size() + g.bound;
    if (g.size > 0 && have < static_cast<size_t>(g.size)) {
      const std::string why = "gang " + key + ": " + std::to_string(have) + " of " + std::to_string(g.size) +
                              " members exist; waiting for all of them before scaling up";
      if (!podEventReason_[g.members.front().uid].starts_with(why)) log("scale-up: " + why);
      notify("Normal", "GangWaiting", why);
      continue;
    }
    // Members already on nodes pin the rest to their capacity type (and zone).
    if (g.boundTypes.size() == 1 && !g.options.allowMixedCapacity) g.options.capacityType = *g.boundTypes.begin();
    const bool zonal =
        g.options.topology == placement::GangTopology::Zone ||
        std::any_of(pools_.begin(), pools_.end(), [](const auto& ps) { return ps.second.pool.gangSameZone; });
    if (zonal && g.boundZones.size() == 1) g.options.zone = *g.boundZones.begin();

    bool placed = false;
    std::map<std::string, const placement::PodInfo*> memberByKey;
    for (const auto& m : g.members) memberByKey[m.key()] = &m;
    for (int attempt = 0; attempt < kMaxGangAttempts; ++attempt) {
      placement::ScaleUpInput in;
      in.pods = g.members;
      in.nodes = nodes;
      in.pools = gangPools(now, zonal);
      placement::GangPlan plan = placement::planGang(in, g.options);
      // Pool cost limits (USD/h) are the scaler's, not the solver's: the whole gang or nothing here too.
      if (plan.feasible) {
        const std::string over = overCostLimit(plan.plan.newNodes, nodes);
        if (!over.empty()) {
          plan.feasible = false;
          plan.reason = "gang of " + std::to_string(g.members.size()) + " gets no capacity (all or nothing): " + over;
        }
      }
      if (!plan.feasible) {
        const std::string why = "gang " + key + ": " + plan.reason;
        if (!podEventReason_[g.members.front().uid].starts_with(why)) log("scale-up: " + why);
        metrics_.inc(metric::kScaleUpFailures, {{"pool", ""}, {"reason", "gang_infeasible"}});
        notify("Normal", "NotTriggerScaleUp", why);
        break;
      }
      // Launch every node; the first failure rolls back those already created and re-plans.
      std::vector<InFlightNode> pendingInFlight;
      std::string failure;
      // The extender keeps the gang's members on these nodes' capacity type and zone (gang_detect.hpp).
      const std::string gangLabel = placement::gangLabelValue(key);
      for (const auto& pn : plan.plan.newNodes) {
        LaunchSpec spec{pn.pool, pn.instanceType, pn.capacityType, std::nullopt, nullptr, {}, {}, {}};
        if (zonal) spec.zone = plan.zone;
        spec.labels[std::string(placement::kLabelGangNode)] = gangLabel;
        for (size_t i : pn.pods) {
          spec.podKeys.push_back(in.pods[i].key());
          spec.pods.push_back(&in.pods[i]);
        }
        LaunchResult launched = launch(spec, now);
        if (!launched) {
          if (launched.failure.kind == LaunchFailureKind::ProviderError) {
            metrics_.inc(metric::kScaleUpFailures,
                         {{"pool", pn.pool}, {"reason", toString(launched.failure.providerKind)}});
            emit(gangPoolRef(pn.pool), "Warning", "ScaleUpFailed",
                 launched.offering + ": " + launched.failure.providerMessage);
          }
          failure = launched.failure.message;
          break;
        }
        pendingInFlight.push_back(std::move(*launched.node));
      }
      if (!failure.empty()) {
        for (const auto& f : pendingInFlight) {
          const PoolState* ps = validPool(f.pool);
          NodeProvider* provider = ps ? providerFor(ps->pool) : nullptr;
          if (!provider) continue;  // it created the node a moment ago
          auto st = timedRemove(*provider, ps->pool, {f.name, ps->pool.name, ps->pool.provider.parameters});
          if (!st) log("scale-up: gang " + key + ": could not roll back node " + f.name + ": " + st.error().message);
        }
        log("scale-up: gang " + key + ": " + failure + "; rolled back " + std::to_string(pendingInFlight.size()) +
            " node(s) of the gang, re-planning");
        metrics_.inc(metric::kScaleUpFailures, {{"pool", ""}, {"reason", "gang_rolled_back"}});
        // One event per gang, on its first member.
        emit(gangPodRef(g.members.front()), "Warning", "GangRolledBack",
             "gang " + key + ": " + failure + "; " + std::to_string(pendingInFlight.size()) +
                 " node(s) already created for the gang deleted, re-planning the whole gang");
        continue;
      }
      for (auto& f : pendingInFlight) {
        metrics_.inc(metric::kScaleUps, {{"pool", f.pool}, {"capacity_type", std::string(toString(f.capacityType))}});
        if (auto ps = pools_.find(f.pool); ps != pools_.end()) ps->second.lastScaleUp = now;
        // The rest of this pass sees the room the gang's members will take.
        placement::NodeInfo reserved = f.model;
        for (const auto& k : f.podKeys) {
          if (auto m = memberByKey.find(k); m != memberByKey.end())
            reserved.requested += placement::podRequests(*m->second);
        }
        nodes.push_back(std::move(reserved));
        inFlight_[f.name] = std::move(f);
      }
      created += static_cast<int>(pendingInFlight.size());
      const std::string summary =
          "gang " + key + " (" + std::to_string(g.members.size()) +
          " pending member(s)): " + std::to_string(pendingInFlight.size()) + " node(s) launched together" +
          (plan.capacityType ? ", all " + std::string(toString(*plan.capacityType)) : std::string(", mixed capacity")) +
          (zonal ? ", zone " + (plan.zone.empty() ? std::string("(unlabelled)") : plan.zone) : std::string()) +
          (plan.fellBackToOnDemand ? "; spot could not hold the whole gang: " + plan.reason : std::string());
      placed = true;
      if (!pendingInFlight.empty()) {
        log("scale-up: " + summary);
        notify("Normal", "TriggeredScaleUp", summary);
      } else {
        notify("Normal", "GangFits", "gang " + key + " fits existing and in-flight nodes; no new node");
      }
      break;
    }
    noteGangPlaced(key, placed, g.bound, now);  // gang_partial.cpp
  }
  return created;
}

}  // namespace spotfit::scaler

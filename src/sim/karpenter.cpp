// The `karpenter` strategy: a model of the real Karpenter (sigs.k8s.io/karpenter v1) so that `simulate` can
// put spotfit beside the provisioner users would run instead, and so that the model can be checked against
// the real one on the same workload (bench/peers/, docs/simulate.md "The karpenter strategy").
//
// Provisioning (Karpenter's provisioner and scheduler): unschedulable pods are batched (a batch closes
// after batchIdle with no new pod, or batchMax after it opened); pods that fit existing or in-flight nodes
// wait for them; the rest are packed first-fit in decreasing cpu/memory order onto new NodeClaims, each
// keeping every instance type of one NodePool that still fits all its pods; a NodeClaim launches the
// cheapest offering left (spot when the NodePool allows it and spot is cheaper). An offering without
// capacity is skipped at launch and cached as unavailable for unavailableFor (the insufficient-capacity
// cache); the next cheapest is launched in the same call, as a fleet request would.
//
// Disruption (Karpenter's disruption controller, every disruptionInterval, one command at a time): nodes
// whose last pod event is consolidateAfter old and that run no do-not-disrupt pod are candidates.
// Methods in Karpenter's order: empty nodes are deleted; then multi-node consolidation (the largest prefix
// of up to 100 candidates, cheapest to disrupt first, whose pods fit the other nodes plus at most one
// cheaper replacement); then single-node consolidation (delete, or replace with one cheaper node). A
// command is validated validation later (its candidates unchanged, the simulation still passing), then
// the replacement is launched and the candidates are drained once it is Ready. Running Job pods on a
// drained node lose their work unless they checkpoint. Each NodePool's budget is budgetNodes of its nodes,
// rounded up, minus nodes already being disrupted. Spot nodes are only deleted, never replaced by another
// spot node, unless spotToSpot (Karpenter's SpotToSpotConsolidation feature gate, off by default).
//
// Not modelled: drift, expiry, NodePool weights (pools are tried in file order), topology spread, PDBs
// (the simulator has none), instance-type flexibility minimums.

#include <algorithm>
#include <cmath>
#include <map>

#include "placement/fit.hpp"
#include "sim/cluster.hpp"

namespace spotfit::sim {

namespace pl = spotfit::placement;

namespace {

// Pending pods, each once (the pending FIFO may hold stale and repeated entries).
std::vector<uint32_t> uniquePending(const std::vector<uint32_t>& fifo, const std::vector<Task>& tasks) {
  std::vector<uint32_t> out;
  out.reserve(fifo.size());
  for (uint32_t ti : fifo)
    if (tasks[ti].state == TaskState::Pending && tasks[ti].unschedulableSince >= 0) out.push_back(ti);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

}  // namespace

void Cluster::karpenterTick() {
  karpenterProvision();
  if (now_ >= k_.nextDisruption) {
    k_.nextDisruption = now_ + w_.karpenter.disruptionInterval;
    karpenterDisrupt();
  }
}

bool Cluster::karpenterOfferingUsable(uint32_t offering) const {
  auto it = k_.unavailableUntil.find(offering);
  return it == k_.unavailableUntil.end() || it->second <= now_;
}

bool Cluster::karpenterCompatible(uint32_t cls, uint32_t offering) {
  auto [it, inserted] = k_.compatible.try_emplace({cls, offering}, false);
  if (inserted) it->second = pl::fit(classes_[cls].info, classes_[cls].requests, offerings_[offering].templ).fits;
  return it->second;
}

void Cluster::karpenterProvision() {
  std::vector<uint32_t> pods = uniquePending(pending_, tasks_);
  if (pods.empty()) {
    k_.batchStart = -1;
    return;
  }
  // Largest first (Karpenter's queue order: cpu, then memory, descending; stable by creation).
  std::stable_sort(pods.begin(), pods.end(), [&](uint32_t a, uint32_t b) {
    const pl::Resources& ra = classes_[jobs_[tasks_[a].job].cls].requests;
    const pl::Resources& rb = classes_[jobs_[tasks_[b].job].cls].requests;
    if (ra.cpuMilli != rb.cpuMilli) return ra.cpuMilli > rb.cpuMilli;
    return ra.memory > rb.memory;
  });
  // Existing and in-flight nodes take what fits (the kube-scheduler binds to Ready ones; Karpenter
  // nominates pods to in-flight NodeClaims and does not launch for them again).
  std::vector<uint32_t> existing;
  for (uint32_t i : live_) {
    const Node& n = nodes_[i];
    if (n.draining || n.info.unschedulable) continue;
    if (n.state == NodeState::Ready || n.state == NodeState::Launching) existing.push_back(i);
  }
  std::vector<pl::Resources> room;  // extra requests reserved on `existing` in this pass
  room.resize(existing.size());
  std::vector<uint32_t> remaining;
  for (uint32_t ti : pods) {
    const PodClass& cls = classes_[jobs_[tasks_[ti].job].cls];
    bool placed = false;
    for (size_t k = 0; k < existing.size() && !placed; ++k) {
      pl::NodeInfo& info = nodes_[existing[k]].info;
      pl::Resources used = info.requested;
      used += room[k];
      if (!pl::fits(cls.requests, info.allocatable, used)) continue;
      if (!karpenterCompatible(jobs_[tasks_[ti].job].cls, nodes_[existing[k]].offering)) continue;
      room[k] += cls.requests;
      placed = true;
    }
    if (!placed) remaining.push_back(ti);
  }
  if (remaining.empty()) {
    k_.batchStart = -1;
    return;
  }
  // The batch window.
  if (k_.batchStart < 0) {
    k_.batchStart = now_;
    k_.batchLast = now_;
    k_.batchSeen = remaining.size();
  } else if (remaining.size() > k_.batchSeen) {
    k_.batchLast = now_;
    k_.batchSeen = remaining.size();
  }
  if (now_ - k_.batchLast < w_.karpenter.batchIdle && now_ - k_.batchStart < w_.karpenter.batchMax) return;
  k_.batchStart = -1;

  struct Claim {
    uint32_t pool = 0;
    std::vector<uint32_t> options;  // offerings that still fit every pod of the claim
    pl::Resources requested;
  };
  std::vector<Claim> claims;
  std::vector<int64_t> poolRoom(w_.nodePools.size());
  for (uint32_t p = 0; p < poolRoom.size(); ++p) poolRoom[p] = w_.nodePools[p].maxNodes - poolLive_[p];
  for (uint32_t ti : remaining) {
    const uint32_t ci = jobs_[tasks_[ti].job].cls;
    const pl::Resources& req = classes_[ci].requests;
    bool placed = false;
    for (Claim& c : claims) {
      pl::Resources want = c.requested;
      want += req;
      std::vector<uint32_t> kept;
      for (uint32_t oi : c.options)
        if (karpenterCompatible(ci, oi) && pl::fits(want, offerings_[oi].templ.allocatable, pl::Resources{}))
          kept.push_back(oi);
      if (kept.empty()) continue;
      c.options = std::move(kept);
      c.requested = want;
      placed = true;
      break;
    }
    if (placed) continue;
    // A new NodeClaim from the first NodePool with an offering for the pod and room for a node.
    Claim c;
    bool found = false;
    for (uint32_t p = 0; p < w_.nodePools.size() && !found; ++p) {
      if (poolRoom[p] <= 0) continue;
      for (uint32_t oi = 0; oi < offerings_.size(); ++oi) {
        const Offering& o = offerings_[oi];
        if (o.pool != p || !karpenterOfferingUsable(oi) || !karpenterCompatible(ci, oi)) continue;
        if (!pl::fits(req, o.templ.allocatable, pl::Resources{})) continue;
        c.options.push_back(oi);
      }
      if (!c.options.empty()) {
        c.pool = p;
        found = true;
      }
    }
    if (!found) continue;  // no NodePool can take it now: it stays pending for the next batch
    c.requested = req;
    --poolRoom[c.pool];
    claims.push_back(std::move(c));
  }
  for (const Claim& c : claims) {
    std::vector<uint32_t> byPrice = c.options;
    std::stable_sort(byPrice.begin(), byPrice.end(),
                     [&](uint32_t a, uint32_t b) { return offerings_[a].price < offerings_[b].price; });
    for (uint32_t oi : byPrice) {
      if (!karpenterOfferingUsable(oi)) continue;
      if (marketUnavailable(offerings_[oi], now_)) {
        k_.unavailableUntil[oi] = now_ + w_.karpenter.unavailableFor;
        ++result_.launchFailures;
        continue;
      }
      launchNode(oi, /*forceAvailable=*/true);
      break;
    }
  }
}

bool Cluster::karpenterCandidate(uint32_t i) const {
  const Node& n = nodes_[i];
  if (n.state != NodeState::Ready || n.draining || n.noticed || n.info.unschedulable) return false;
  if (now_ - n.podEventAt < w_.karpenter.consolidateAfter) return false;
  for (uint32_t ti : n.tasks)
    if (classes_[jobs_[tasks_[ti].job].cls].info.doNotDisrupt) return false;
  return true;
}

// Whether the candidates' pods fit the other nodes plus at most one new node cheaper than the candidates.
Cluster::KarpenterPlan Cluster::karpenterSimulate(const std::vector<uint32_t>& candidates,
                                                  const std::vector<uint32_t>& pending) {
  KarpenterPlan plan;
  std::vector<char> isCandidate(nodes_.size(), 0);
  double candidatesPrice = 0;
  bool allSpot = true;
  std::vector<uint32_t> pods;
  for (uint32_t i : candidates) {
    isCandidate[i] = 1;
    candidatesPrice += nodes_[i].price;
    allSpot = allSpot && nodes_[i].spot;
    for (uint32_t ti : nodes_[i].tasks)
      if (tasks_[ti].state == TaskState::Running) pods.push_back(ti);
  }
  std::stable_sort(pods.begin(), pods.end(), [&](uint32_t a, uint32_t b) {
    return classes_[jobs_[tasks_[a].job].cls].requests.cpuMilli > classes_[jobs_[tasks_[b].job].cls].requests.cpuMilli;
  });
  std::vector<uint32_t> targets;
  for (uint32_t i : live_) {
    const Node& n = nodes_[i];
    if (isCandidate[i] || n.draining || n.info.unschedulable) continue;
    if (n.state == NodeState::Ready || n.state == NodeState::Launching) targets.push_back(i);
  }
  std::vector<pl::Resources> extra(targets.size());
  // Pending pods are scheduled in the same simulation and come first (Karpenter's SimulateScheduling solves
  // them together with the candidates' pods): room they take is not there for the candidates' pods. Those
  // that fit nowhere would get their own new nodes and do not block the command.
  for (uint32_t ti : pending) {
    const uint32_t ci = jobs_[tasks_[ti].job].cls;
    const pl::Resources& req = classes_[ci].requests;
    for (size_t k = 0; k < targets.size(); ++k) {
      const Node& m = nodes_[targets[k]];
      pl::Resources used = m.info.requested;
      used += extra[k];
      if (!pl::fits(req, m.info.allocatable, used) || !karpenterCompatible(ci, m.offering)) continue;
      extra[k] += req;
      break;
    }
  }
  std::vector<uint32_t> options;  // the replacement's offerings, once one is needed
  pl::Resources replacement;
  bool needReplacement = false;
  for (uint32_t ti : pods) {
    const uint32_t ci = jobs_[tasks_[ti].job].cls;
    const pl::Resources& req = classes_[ci].requests;
    bool placed = false;
    for (size_t k = 0; k < targets.size() && !placed; ++k) {
      const Node& m = nodes_[targets[k]];
      pl::Resources used = m.info.requested;
      used += extra[k];
      if (!pl::fits(req, m.info.allocatable, used) || !karpenterCompatible(ci, m.offering)) continue;
      extra[k] += req;
      placed = true;
    }
    if (placed) continue;
    pl::Resources want = replacement;
    want += req;
    std::vector<uint32_t> kept;
    if (!needReplacement) {
      for (uint32_t oi = 0; oi < offerings_.size(); ++oi)
        if (karpenterOfferingUsable(oi) && karpenterCompatible(ci, oi) &&
            pl::fits(want, offerings_[oi].templ.allocatable, pl::Resources{}))
          kept.push_back(oi);
    } else {
      for (uint32_t oi : options)
        if (karpenterCompatible(ci, oi) && pl::fits(want, offerings_[oi].templ.allocatable, pl::Resources{}))
          kept.push_back(oi);
    }
    if (kept.empty()) return plan;  // needs more than one new node: not a consolidation
    needReplacement = true;
    options = std::move(kept);
    replacement = want;
  }
  if (!needReplacement) {
    plan.ok = true;
    return plan;
  }
  int32_t best = -1;
  for (uint32_t oi : options) {
    const Offering& o = offerings_[oi];
    if (o.price >= candidatesPrice) continue;                     // a replacement must be cheaper
    if (allSpot && o.spot && !w_.karpenter.spotToSpot) continue;  // spot-to-spot consolidation is gated
    if (best < 0 || o.price < offerings_[static_cast<uint32_t>(best)].price) best = static_cast<int32_t>(oi);
  }
  if (best < 0) return plan;
  plan.ok = true;
  plan.replacement = best;
  return plan;
}

void Cluster::karpenterDisrupt() {
  const std::vector<uint32_t> pending = uniquePending(pending_, tasks_);
  // A command in progress: validate it, then wait for its replacement, then drain.
  if (k_.command) {
    KarpenterCommand& cmd = *k_.command;
    if (!cmd.validated) {
      if (now_ - cmd.decidedAt < w_.karpenter.validation) return;
      bool valid = true;
      for (uint32_t i : cmd.candidates) valid = valid && karpenterCandidate(i) && nodes_[i].podEventAt <= cmd.decidedAt;
      KarpenterPlan again = valid ? karpenterSimulate(cmd.candidates, pending) : KarpenterPlan{};
      if (!valid || !again.ok ||
          (again.replacement >= 0 &&
           (cmd.replacementOffering < 0 || offerings_[static_cast<uint32_t>(again.replacement)].price >
                                               offerings_[static_cast<uint32_t>(cmd.replacementOffering)].price))) {
        k_.command.reset();
        return;
      }
      cmd.validated = true;
      cmd.replacementOffering = again.replacement;
      for (uint32_t i : cmd.candidates) {  // karpenter.sh/disrupted:NoSchedule
        nodes_[i].info.unschedulable = true;
        schedulableDirty_ = true;
      }
      if (cmd.replacementOffering >= 0) {
        const uint32_t oi = static_cast<uint32_t>(cmd.replacementOffering);
        if (marketUnavailable(offerings_[oi], now_)) {
          k_.unavailableUntil[oi] = now_ + w_.karpenter.unavailableFor;
          ++result_.launchFailures;
          for (uint32_t i : cmd.candidates) nodes_[i].info.unschedulable = false;
          k_.command.reset();
          return;
        }
        cmd.replacementNode = static_cast<int32_t>(launchNode(oi, /*forceAvailable=*/true));
      }
    }
    if (cmd.replacementNode >= 0) {
      const Node& r = nodes_[static_cast<uint32_t>(cmd.replacementNode)];
      if (r.state == NodeState::Launching) return;
      if (r.state == NodeState::Gone) {  // the replacement never came: un-taint and start over
        for (uint32_t i : cmd.candidates)
          if (nodes_[i].state != NodeState::Gone) nodes_[i].info.unschedulable = false;
        schedulableDirty_ = true;
        k_.command.reset();
        return;
      }
    }
    std::vector<uint32_t> victims = cmd.candidates;
    k_.command.reset();
    for (uint32_t i : victims) drain(i);
    return;
  }

  // Budgets: per NodePool, budgetNodes of its nodes rounded up, less the nodes being disrupted.
  std::vector<int64_t> budget(w_.nodePools.size(), 0), disrupting(w_.nodePools.size(), 0);
  for (uint32_t i : live_) {
    ++budget[nodes_[i].pool];
    if (nodes_[i].draining) ++disrupting[nodes_[i].pool];
  }
  for (size_t p = 0; p < budget.size(); ++p)
    budget[p] =
        static_cast<int64_t>(std::ceil(w_.karpenter.budgetNodes * static_cast<double>(budget[p]))) - disrupting[p];

  std::vector<uint32_t> empty, busy;
  for (uint32_t i : live_) {
    if (!karpenterCandidate(i)) continue;
    if (poolLive_[nodes_[i].pool] <= w_.nodePools[nodes_[i].pool].minNodes) continue;
    (nodes_[i].tasks.empty() ? empty : busy).push_back(i);
  }
  auto within = [&](std::vector<uint32_t> nodes) {
    std::vector<int64_t> left = budget;
    std::vector<uint32_t> out;
    for (uint32_t i : nodes)
      if (left[nodes_[i].pool] > 0) {
        --left[nodes_[i].pool];
        out.push_back(i);
      }
    return out;
  };
  auto decide = [&](std::vector<uint32_t> candidates, int32_t replacement) {
    KarpenterCommand cmd;
    cmd.candidates = std::move(candidates);
    cmd.replacementOffering = replacement;
    cmd.decidedAt = now_;
    k_.command = std::move(cmd);
  };
  // Emptiness.
  if (std::vector<uint32_t> e = within(empty); !e.empty()) {
    decide(std::move(e), -1);
    return;
  }
  // Cheapest to disrupt first: fewest pods, then the most expensive node.
  std::stable_sort(busy.begin(), busy.end(), [&](uint32_t a, uint32_t b) {
    if (nodes_[a].tasks.size() != nodes_[b].tasks.size()) return nodes_[a].tasks.size() < nodes_[b].tasks.size();
    return nodes_[a].price > nodes_[b].price;
  });
  busy = within(busy);
  if (busy.size() > 100) busy.resize(100);
  // Multi-node: the largest prefix (at least two) that consolidates, by binary search as Karpenter does.
  if (busy.size() >= 2) {
    size_t lo = 2, hi = busy.size();
    KarpenterPlan best;
    size_t bestN = 0;
    while (lo <= hi) {
      size_t mid = (lo + hi) / 2;
      KarpenterPlan p = karpenterSimulate(std::vector<uint32_t>(busy.begin(), busy.begin() + mid), pending);
      if (p.ok) {
        best = p;
        bestN = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    if (bestN >= 2) {
      decide(std::vector<uint32_t>(busy.begin(), busy.begin() + bestN), best.replacement);
      return;
    }
  }
  // Single node.
  for (uint32_t i : busy) {
    KarpenterPlan p = karpenterSimulate({i}, pending);
    if (p.ok) {
      decide({i}, p.replacement);
      return;
    }
  }
}

}  // namespace spotfit::sim

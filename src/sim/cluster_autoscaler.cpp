// The status quo spotfit is compared with: a Cluster-Autoscaler-like loop (REFERENCE.md, "Autoscaling
// behaviour of the anchors"). Every scan (10 s): provisioning timeouts back off their node group;
// unschedulable pods that no upcoming node will take are bin-packed onto templates of every node group
// (CA's binpacking estimator, using the placement core's fit), one group is chosen by the least-waste
// expander (spot groups first when spot is allowed, as a priority expander would) and grown; with no
// scale-up in the last 10 minutes, nodes below 50% utilization whose pods fit elsewhere for 10 minutes
// are drained (empty ones together, at most one busy one per scan).
//
// This models the competitor, not spotfit: spotfit's own scale-up goes through the placement solver
// (spotfit_scaler.cpp).

#include <algorithm>
#include <map>

#include "placement/fit.hpp"
#include "sim/cluster.hpp"

namespace spotfit::sim {

namespace pl = spotfit::placement;

void Cluster::caScan() {
  // Provisioning timeouts: a node that is not Ready after max-node-provision-time is given up and its
  // group backs off.
  const auto& ca = w_.clusterAutoscaler;
  std::vector<uint32_t> timedOut;
  for (uint32_t i : live_) {
    const Node& n = nodes_[i];
    if (n.state == NodeState::Launching && now_ - n.launchedAt >= ca.maxNodeProvisionTime) timedOut.push_back(i);
  }
  for (uint32_t i : timedOut) {
    backoffUntil_[nodes_[i].offering] = now_ + ca.backoff;
    ++result_.launchFailures;
    nodeGone(i, false);
  }
  caScaleUp();
  if (now_ - lastScaleUp_ >= ca.scaleDownDelayAfterAdd) caScaleDown();
}

void Cluster::caScaleUp() {
  std::vector<uint32_t> pods;
  for (uint32_t ti : pending_) {
    const Task& t = tasks_[ti];
    if (t.state == TaskState::Pending && t.unschedulableSince >= 0) pods.push_back(ti);
  }
  if (pods.empty()) return;
  // First-fit decreasing by cpu, then memory (stable by task order).
  std::stable_sort(pods.begin(), pods.end(), [&](uint32_t a, uint32_t b) {
    const pl::Resources& ra = classes_[jobs_[tasks_[a].job].cls].requests;
    const pl::Resources& rb = classes_[jobs_[tasks_[b].job].cls].requests;
    if (ra.cpuMilli != rb.cpuMilli) return ra.cpuMilli > rb.cpuMilli;
    return ra.memory > rb.memory;
  });
  // Pods that fit on a Ready node (the scheduler has not got to them yet) or that an upcoming node will
  // take are already handled (CA's FilterOutSchedulable and upcoming-node simulation).
  std::vector<pl::NodeInfo> upcoming;
  for (uint32_t i : schedulableNodes()) upcoming.push_back(nodes_[i].info);
  for (uint32_t i : live_)
    if (nodes_[i].state == NodeState::Launching) upcoming.push_back(nodes_[i].info);
  std::vector<uint32_t> remaining;
  for (uint32_t ti : pods) {
    const PodClass& cls = classes_[jobs_[tasks_[ti].job].cls];
    bool placed = false;
    for (auto& u : upcoming) {
      if (pl::fit(cls.info, cls.requests, u).fits) {
        u.requested += cls.requests;
        placed = true;
        break;
      }
    }
    if (!placed) remaining.push_back(ti);
  }
  if (remaining.empty()) return;

  struct Option {
    uint32_t offering = 0;
    int64_t nodes = 0, pods = 0;
    double waste = 0;
    int priority = 0;
  };
  std::vector<Option> options;
  for (uint32_t oi = 0; oi < offerings_.size(); ++oi) {
    const Offering& o = offerings_[oi];
    if (auto it = backoffUntil_.find(oi); it != backoffUntil_.end() && it->second > now_) continue;
    int64_t room = w_.nodePools[o.pool].maxNodes - poolLive_[o.pool];
    if (room <= 0) continue;
    std::map<uint32_t, bool> compatible;  // by pod class
    std::vector<pl::Resources> bins;
    Option opt;
    opt.offering = oi;
    pl::Resources used;
    for (uint32_t ti : remaining) {
      uint32_t ci = jobs_[tasks_[ti].job].cls;
      const PodClass& cls = classes_[ci];
      auto [it, inserted] = compatible.try_emplace(ci, false);
      if (inserted) it->second = pl::fit(cls.info, cls.requests, o.templ).fits;
      if (!it->second) continue;
      bool placed = false;
      for (auto& b : bins) {
        if (pl::fits(cls.requests, o.templ.allocatable, b)) {
          b += cls.requests;
          placed = true;
          break;
        }
      }
      if (!placed) {
        if (static_cast<int64_t>(bins.size()) >= room) continue;
        bins.push_back(cls.requests);
      }
      used += cls.requests;
      ++opt.pods;
    }
    if (opt.pods == 0) continue;
    opt.nodes = static_cast<int64_t>(bins.size());
    // least-waste: unused fraction of cpu plus unused fraction of memory on the new nodes.
    double cpuCap = static_cast<double>(o.templ.allocatable.cpuMilli * opt.nodes);
    double memCap = static_cast<double>(o.templ.allocatable.memory * opt.nodes);
    opt.waste =
        (cpuCap - static_cast<double>(used.cpuMilli)) / cpuCap + (memCap - static_cast<double>(used.memory)) / memCap;
    opt.priority = o.spot ? 1 : 0;
    options.push_back(opt);
  }
  if (options.empty()) return;
  const Option* best = &options.front();
  for (const Option& o : options) {
    auto key = [&](const Option& x) { return std::make_tuple(-x.priority, x.waste, -x.pods, x.offering); };
    if (key(o) < key(*best)) best = &o;
  }
  for (int64_t k = 0; k < best->nodes; ++k) launchNode(best->offering, false);
  lastScaleUp_ = now_;
}

void Cluster::caScaleDown() {
  const auto& ca = w_.clusterAutoscaler;
  // Space promised to pods of nodes already found unneeded in this scan.
  std::vector<std::pair<uint32_t, pl::Resources>> reserved;
  std::vector<char> removing(nodes_.size(), 0);
  std::vector<char> receiving(nodes_.size(), 0);  // nodes that take moved pods stay
  std::vector<uint32_t> unneeded;
  // Empty nodes first (CA removes them before looking at busy ones), then in launch order.
  std::vector<uint32_t> candidates(live_.begin(), live_.end());
  std::stable_partition(candidates.begin(), candidates.end(), [&](uint32_t i) { return nodes_[i].tasks.empty(); });
  for (uint32_t i : candidates) {
    Node& n = nodes_[i];
    if (n.state != NodeState::Ready || n.draining) continue;
    if (receiving[i]) {
      n.unneededSince = -1;
      continue;
    }
    const pl::Resources& a = n.info.allocatable;
    auto frac = [](int64_t used, int64_t cap) {
      return cap > 0 ? static_cast<double>(used) / static_cast<double>(cap) : 0.0;
    };
    double util = std::max(frac(n.info.requested.cpuMilli, a.cpuMilli), frac(n.info.requested.memory, a.memory));
    if (a.gpus() > 0) util = frac(n.info.requested.gpus(), a.gpus());
    if (util >= ca.scaleDownUtilization) {
      n.unneededSince = -1;
      continue;
    }
    // Can every pod move to another Ready node? (simulated with the placement fit, reserving the space)
    bool movable = true;
    std::vector<std::pair<uint32_t, pl::Resources>> moves;
    for (uint32_t ti : n.tasks) {
      const PodClass& cls = classes_[jobs_[tasks_[ti].job].cls];
      if (cls.info.doNotDisrupt) {
        movable = false;
        break;
      }
      bool placed = false;
      for (uint32_t j : schedulableNodes()) {
        if (j == i || removing[j]) continue;
        // (a node that takes pods cannot be removed in the same scan)
        Node& m = nodes_[j];
        if (!pl::fits(cls.requests, m.info.allocatable, m.info.requested)) continue;
        if (!pl::fit(cls.info, cls.requests, m.info).fits) continue;
        m.info.requested += cls.requests;  // reserved until the end of the scan
        moves.emplace_back(j, cls.requests);
        placed = true;
        break;
      }
      if (!placed) {
        movable = false;
        break;
      }
    }
    if (!movable) {
      for (auto& [j, r] : moves) nodes_[j].info.requested -= r;
      n.unneededSince = -1;
      continue;
    }
    for (auto& mv : moves) {
      reserved.push_back(mv);
      receiving[mv.first] = 1;
    }
    removing[i] = 1;
    if (n.unneededSince < 0) n.unneededSince = now_;
    unneeded.push_back(i);
  }
  for (auto& [j, r] : reserved) nodes_[j].info.requested -= r;

  bool busyRemoved = false;
  for (uint32_t i : unneeded) {
    Node& n = nodes_[i];
    if (now_ - n.unneededSince < ca.scaleDownUnneededTime) continue;
    if (poolLive_[n.pool] <= w_.nodePools[n.pool].minNodes) continue;
    if (!n.tasks.empty()) {
      if (busyRemoved) continue;
      busyRemoved = true;
    }
    drain(i);
  }
}

}  // namespace spotfit::sim

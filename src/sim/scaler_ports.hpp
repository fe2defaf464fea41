#pragma once
// The simulator's implementations of spotfit's scaler ports (see spotfit_scaler.cpp).

#include <algorithm>
#include <string>
#include <vector>

#include "scaler/actions.hpp"
#include "scaler/planner.hpp"
#include "scaler/provider.hpp"
#include "scaler/scaler.hpp"
#include "sim/cluster.hpp"

namespace spotfit::sim {

// Writes the scaler makes to the cluster, applied to the simulated one: taints, evictions (which run the
// pods' checkpoint hooks), Node deletions.
class SimActions final : public scaler::ClusterActions {
 public:
  explicit SimActions(Cluster& c) : c_(c) {}

  Status taintNode(const std::string& node, const placement::Taint& taint) override {
    Node* n = c_.nodeByName(node);
    if (!n) return makeError("not_found", "node " + node + " not found");
    auto& taints = n->info.taints;
    if (std::none_of(taints.begin(), taints.end(), [&](const placement::Taint& t) { return t.key == taint.key; }))
      taints.push_back(taint);
    c_.schedulableDirty_ = true;
    return {};
  }
  Status untaintNode(const std::string& node, const std::string& key) override {
    Node* n = c_.nodeByName(node);
    if (!n) return makeError("not_found", "node " + node + " not found");
    std::erase_if(n->info.taints, [&](const placement::Taint& t) { return t.key == key; });
    c_.schedulableDirty_ = true;
    c_.queuePass();
    return {};
  }
  scaler::EvictOutcome evictPod(const std::string&, const std::string& name, std::string& message) override {
    auto task = c_.taskByPodName(name);
    if (!task) {
      message = "pod " + name + " not found";
      return scaler::EvictOutcome::Evicted;  // already gone
    }
    const Task& t = c_.tasks_[*task];
    bool interrupted = t.node >= 0 && c_.nodes_[static_cast<size_t>(t.node)].noticed;
    c_.evict(*task, interrupted, /*immediate=*/false);
    return scaler::EvictOutcome::Evicted;
  }
  Status deleteNode(const std::string& node) override {
    Node* n = c_.nodeByName(node);
    if (n && n->state != NodeState::Gone) c_.nodeGone(static_cast<uint32_t>(n - c_.nodes_.data()), /*evictNow=*/true);
    return {};
  }
  void event(const scaler::ObjectRef&, const std::string&, const std::string&, const std::string&) override {}
  Status updateNodePoolStatus(const std::string&, const std::string&) override { return {}; }

 private:
  Cluster& c_;
};

// The cloud: launches simulated nodes, or answers "insufficient capacity" while the workload's spot
// market has none for the offering.
class SimProvider final : public scaler::NodeProvider {
 public:
  explicit SimProvider(Cluster& c) : c_(c) {}

  Result<scaler::ProviderNode> create(const scaler::NodeRequest& r) override {
    auto it = c_.offeringByName_.find({r.pool, r.instanceType, r.capacityType == placement::CapacityType::Spot});
    if (it == c_.offeringByName_.end())
      return makeError(scaler::kErrOther, "no offering " + r.pool + "/" + r.instanceType);
    const Offering& o = c_.offerings_[it->second];
    if (c_.marketUnavailable(o, c_.now_)) {
      ++c_.result_.launchFailures;
      return makeError(scaler::kErrInsufficientCapacity, "insufficient capacity for " + r.instanceType + " (" +
                                                             std::string(placement::toString(r.capacityType)) + ")");
    }
    uint32_t idx = c_.launchNode(it->second, false, r.nodeName);
    Node& n = c_.nodes_[idx];
    // The node carries exactly what the scaler asked for.
    for (const auto& [k, v] : r.labels) n.info.labels[k] = v;
    n.info.taints = r.taints;
    scaler::ProviderNode out;
    out.nodeName = r.nodeName;
    out.providerId = "sim://" + r.nodeName;
    out.pool = r.pool;
    out.instanceType = r.instanceType;
    out.capacityType = r.capacityType;
    out.zone = r.zone;
    out.createdAt = c_.timePoint(c_.now_);
    return out;
  }
  Status remove(const scaler::NodeRef& ref) override {
    Node* n = c_.nodeByName(ref.nodeName);
    if (n && n->state != NodeState::Gone) c_.nodeGone(static_cast<uint32_t>(n - c_.nodes_.data()), /*evictNow=*/true);
    return {};
  }
  Result<std::vector<scaler::ProviderNode>> list() override {
    std::vector<scaler::ProviderNode> out;
    for (uint32_t i : c_.live_) {
      const Node& n = c_.nodes_[i];
      scaler::ProviderNode p;
      p.nodeName = n.info.name;
      p.pool = n.info.pool;
      p.instanceType = n.info.instanceType;
      p.capacityType = n.info.capacityType;
      p.createdAt = c_.timePoint(n.launchedAt);
      out.push_back(std::move(p));
    }
    return out;
  }

 private:
  Cluster& c_;
};

}  // namespace spotfit::sim

// spotfit's scaler decisions in the simulator, made by spotfit's own code: the scaler's PodBatcher
// (Karpenter-like 1 s idle / 10 s max batching), UnavailableOfferings (3-minute insufficient-capacity
// cache, immediate fallback) and InterruptionTracker (on-demand cool-off past a threshold), and the
// placement core's scale-up solver. Interruption notices request replacement capacity at once.

#include <algorithm>
#include <set>

#include "placement/solver.hpp"
#include "sim/cluster.hpp"

namespace spotfit::sim {

namespace pl = spotfit::placement;

namespace {
std::string taskKey(uint32_t taskIndex, uint32_t attempt) {
  return std::to_string(taskIndex) + "/" + std::to_string(attempt);
}
}  // namespace

scaler::TimePoint Cluster::timePoint(Millis t) const { return scaler::TimePoint{} + std::chrono::milliseconds(t); }

void Cluster::setupSpotfitScaler() {
  batcher_.emplace(std::chrono::milliseconds(w_.spotfit.batchIdle), std::chrono::milliseconds(w_.spotfit.batchMax));
  unavailable_.emplace(std::chrono::milliseconds(w_.spotfit.unavailableFor));
  scaler::InterruptionPolicy policy;
  policy.window = std::chrono::milliseconds(w_.spotfit.interruptionWindow);
  policy.threshold = static_cast<int>(w_.spotfit.interruptionThreshold);
  policy.coolOff = std::chrono::milliseconds(w_.spotfit.coolOff);
  interruptionTracker_.emplace(policy);
}

void Cluster::batchAdd(const std::vector<uint32_t>& newlyUnschedulable) {
  for (uint32_t ti : newlyUnschedulable) batcher_->observe(taskKey(ti, tasks_[ti].attempt), timePoint(now_));
  if (!batchCheckQueued_ && batcher_->open()) {
    batchCheckQueued_ = true;
    push(std::max(now_, millisOf(*batcher_->deadline())), EvType::BatchCheck);
  }
}

Millis Cluster::millisOf(scaler::TimePoint t) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - scaler::TimePoint{}).count();
}

void Cluster::batchCheck() {
  batchCheckQueued_ = false;
  if (!batcher_->open()) return;
  if (!batcher_->ready(timePoint(now_))) {
    batchCheckQueued_ = true;
    push(std::max(now_ + 1, millisOf(*batcher_->deadline())), EvType::BatchCheck);
    return;
  }
  batcher_->take();
  spotfitScaleUp(false);
  std::set<std::string> still;
  for (uint32_t ti : pending_)
    if (tasks_[ti].state == TaskState::Pending) still.insert(taskKey(ti, tasks_[ti].attempt));
  batcher_->retain(still);
}

void Cluster::recordInterruption(const Node& n) {
  interruptionTracker_->record(w_.nodePools[n.pool].name, n.info.instanceType, timePoint(now_));
}

// The placement pools with each offering's availability as of now: insufficient capacity seen in the
// last 3 minutes, or spot in a pool cooling off after too many interruptions, is unavailable.
void Cluster::refreshSolverPools() {
  for (uint32_t oi = 0; oi < offerings_.size(); ++oi) {
    const Offering& o = offerings_[oi];
    const std::string& pool = w_.nodePools[o.pool].name;
    scaler::OfferingKey key{pool, w_.nodePools[o.pool].instanceTypes[o.type].name,
                            o.spot ? pl::CapacityType::Spot : pl::CapacityType::OnDemand, ""};
    bool available = !unavailable_->unavailable(key, timePoint(now_));
    if (o.spot && interruptionTracker_->inCoolOff(pool, timePoint(now_))) available = false;
    solverPools_[o.pool].instanceTypes[o.type].offerings[o.solverOffering].available = available;
  }
}

void Cluster::spotfitScaleUp(bool includeTerminating) {
  std::vector<uint32_t> demand;
  for (uint32_t ti : pending_)
    if (tasks_[ti].state == TaskState::Pending) demand.push_back(ti);
  if (includeTerminating) {
    for (uint32_t i : live_) {
      const Node& n = nodes_[i];
      if (!n.noticed) continue;
      for (uint32_t ti : n.tasks)
        if (tasks_[ti].state == TaskState::Terminating) demand.push_back(ti);
    }
  }
  if (demand.empty()) return;
  // Each launch that fails for lack of capacity marks its offering unavailable and the plan is made again
  // at once: nodes launched meanwhile are in flight and keep their pods, the rest falls back.
  for (int attempt = 0; attempt < 8; ++attempt) {
    pl::ScaleUpInput in;
    in.pods.reserve(demand.size());
    for (uint32_t ti : demand) {
      in.pods.push_back(classes_[jobs_[tasks_[ti].job].cls].info);
      in.pods.back().name = "task-" + std::to_string(ti);
    }
    for (uint32_t i : live_) {
      const Node& n = nodes_[i];
      if (n.state == NodeState::Gone || n.info.unschedulable || n.willFail) continue;
      in.nodes.push_back(n.info);
    }
    refreshSolverPools();
    in.pools = solverPools_;
    pl::ScaleUpPlan plan = pl::planScaleUp(in);
    bool refused = false;
    for (const pl::PlannedNode& pn : plan.newNodes) {
      auto it = offeringByName_.find({pn.pool, pn.instanceType, pn.capacityType == pl::CapacityType::Spot});
      if (it == offeringByName_.end()) continue;  // the solver only plans offerings it was given
      const Offering& o = offerings_[it->second];
      if (marketUnavailable(o, now_)) {
        // The cloud answers "insufficient capacity" at once.
        ++result_.launchFailures;
        unavailable_->mark(scaler::OfferingKey{pn.pool, pn.instanceType, pn.capacityType, ""}, timePoint(now_),
                           "insufficient capacity");
        refused = true;
        continue;
      }
      launchNode(it->second, false);
    }
    if (!refused) break;
  }
}

void Cluster::spotfitConsolidate() {
  // Pods that are still waiting and that no batch is holding get a fresh plan (an offering may have come
  // back, or a pool left its cool-off). In-flight nodes are part of the plan, so this never duplicates.
  if (!batcher_->open()) {
    bool waiting = false;
    for (uint32_t ti : pending_) waiting = waiting || (tasks_[ti].state == TaskState::Pending && tasks_[ti].unschedulableSince >= 0);
    if (waiting) spotfitScaleUp(false);
  }
  // Empty nodes are removed once they have been empty for consolidateAfter (pool minimums kept).
  std::vector<uint32_t> empty;
  for (uint32_t i : live_) {
    const Node& n = nodes_[i];
    if (n.state != NodeState::Ready || n.draining || !n.tasks.empty()) continue;
    if (now_ - n.emptySince >= w_.spotfit.consolidateAfter) empty.push_back(i);
  }
  for (uint32_t i : empty) {
    if (poolLive_[nodes_[i].pool] <= w_.nodePools[nodes_[i].pool].minNodes) continue;
    drain(i);
  }
}

}  // namespace spotfit::sim

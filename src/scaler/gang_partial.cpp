// Partly placed gangs (docs/scaler.md, "Gangs"): members bound to nodes while the rest of the gang gets
// no capacity at all (a launch partly failed and what is missing is unavailable, a member's node was
// lost). The gang's nodes are released after scaler.gangPartialTimeout so they do not hold capacity half
// used forever; the members come back pending and are planned again as a whole, all or nothing.

#include "placement/gang_detect.hpp"
#include "scaler/scaler.hpp"

namespace spotfit::scaler {

void Scaler::noteGangPlaced(const std::string& gang, bool placed, size_t bound, TimePoint now) {
  if (placed || bound == 0) {
    gangStuckSince_.erase(gang);
    return;
  }
  if (gangStuckSince_.try_emplace(gang, now).second) {
    log("scale-up: gang " + gang + ": " + std::to_string(bound) +
        " member(s) hold nodes while the rest get no capacity; its nodes are released in " +
        formatDuration(config_.gangPartialTimeout) + " unless the rest is placed");
  }
}

int Scaler::releaseIncompleteGangs(const ClusterSnapshot& snap, const std::map<std::string, const ClusterNode*>& nodes,
                                   TimePoint now, std::optional<TimePoint>& wake) {
  if (gangStuckSince_.empty()) return 0;
  // Gangs that still have pending members, with one of them for the event.
  std::map<std::string, const placement::PodInfo*> pending;
  for (const auto& p : snap.pods) {
    if (!p.info.nodeName.empty() || p.deleting || isFinished(p.info)) continue;
    if (auto ref = placement::detectGang(p.info); ref && gangStuckSince_.count(ref->key)) {
      pending.try_emplace(ref->key, &p.info);
    }
  }
  int started = 0;
  for (auto it = gangStuckSince_.begin(); it != gangStuckSince_.end();) {
    const std::string& key = it->first;
    auto member = pending.find(key);
    if (member == pending.end()) {  // complete (or gone): nothing half any more
      it = gangStuckSince_.erase(it);
      continue;
    }
    const TimePoint deadline = it->second + config_.gangPartialTimeout;
    if (now < deadline) {
      if (!wake || deadline < *wake) wake = deadline;
      ++it;
      continue;
    }
    const std::string label = placement::gangLabelValue(key);
    std::vector<std::string> released;
    for (const auto& [name, node] : nodes) {
      auto l = node->info.labels.find(std::string(placement::kLabelGangNode));
      if (l == node->info.labels.end() || l->second != label || node->deleting || drains_.count(name)) continue;
      const PoolState* ps = validPool(node->info.pool);
      if (startDrain(*node, DrainReason::GangIncomplete, now,
                     ps ? ps->pool.disruption.drainTimeout : std::chrono::minutes(10))) {
        released.push_back(name);
      }
    }
    std::string names;
    for (const auto& n : released) names += (names.empty() ? "" : ", ") + n;
    const std::string why = "gang " + key + ": the missing members got no capacity for " +
                            formatDuration(config_.gangPartialTimeout) + "; released " +
                            std::to_string(released.size()) + " node(s) of the gang" +
                            (names.empty() ? std::string() : " (" + names + ")") + ", the whole gang is planned again";
    log("scale-down: " + why);
    metrics_.inc(metric::kScaleUpFailures, {{"pool", ""}, {"reason", "gang_released"}});
    emit({"Pod", member->second->namespace_, member->second->name, member->second->uid}, "Warning", "GangReleased",
         why);
    started += static_cast<int>(released.size());
    it = gangStuckSince_.erase(it);
  }
  return started;
}

}  // namespace spotfit::scaler

#include "scaler/interruptions.hpp"

#include <algorithm>

namespace spotfit::scaler {

std::vector<std::string> defaultInterruptionTaints() {
  return {"aws-node-termination-handler/spot-itn", "aws-node-termination-handler/scheduled-maintenance",
          "aws-node-termination-handler/asg-lifecycle-termination", "cloud.google.com/impending-node-termination",
          kKwokInterruptionTaint};
}

std::optional<NodeTaint> findInterruptionNotice(const std::vector<NodeTaint>& taints,
                                                const std::vector<std::string>& noticeKeys) {
  for (const auto& t : taints) {
    if (std::find(noticeKeys.begin(), noticeKeys.end(), t.key) != noticeKeys.end()) return t;
  }
  return std::nullopt;
}

void InterruptionTracker::prune(TimePoint now) const {
  for (auto& [pool, q] : events_) {
    while (!q.empty() && now - q.front().at >= policy_.window) q.pop_front();
  }
}

bool InterruptionTracker::record(const std::string& pool, const std::string& instanceType, TimePoint now,
                                 const std::string& node) {
  prune(now);
  auto& q = events_[pool];
  if (!node.empty() && std::any_of(q.begin(), q.end(), [&](const Event& e) { return e.node == node; })) return false;
  q.push_back({now, instanceType, node});
  if (policy_.threshold > 0 && static_cast<int>(events_[pool].size()) >= policy_.threshold) {
    coolOffUntil_[pool] = now + policy_.coolOff;
    return true;
  }
  return false;
}

int InterruptionTracker::count(const std::string& pool, TimePoint now) const {
  prune(now);
  auto it = events_.find(pool);
  return it == events_.end() ? 0 : static_cast<int>(it->second.size());
}

int InterruptionTracker::count(const std::string& pool, const std::string& instanceType, TimePoint now) const {
  prune(now);
  auto it = events_.find(pool);
  if (it == events_.end()) return 0;
  return static_cast<int>(std::count_if(it->second.begin(), it->second.end(),
                                        [&](const Event& e) { return e.instanceType == instanceType; }));
}

double InterruptionTracker::ratePerHour(const std::string& pool, TimePoint now) const {
  double hours = std::chrono::duration<double, std::ratio<3600>>(policy_.window).count();
  return hours > 0 ? count(pool, now) / hours : 0.0;
}

bool InterruptionTracker::inCoolOff(const std::string& pool, TimePoint now) const {
  return coolOffUntil(pool, now).has_value();
}

std::optional<TimePoint> InterruptionTracker::coolOffUntil(const std::string& pool, TimePoint now) const {
  auto it = coolOffUntil_.find(pool);
  if (it == coolOffUntil_.end() || it->second <= now) return std::nullopt;
  return it->second;
}

std::vector<InterruptionRecord> InterruptionTracker::history(TimePoint now) const {
  prune(now);
  std::vector<InterruptionRecord> out;
  for (const auto& [pool, q] : events_) {
    for (const auto& e : q) out.push_back({pool, e.instanceType, e.node, e.at});
  }
  return out;
}

std::map<std::string, TimePoint> InterruptionTracker::coolOffs(TimePoint now) const {
  std::map<std::string, TimePoint> out;
  for (const auto& [pool, until] : coolOffUntil_) {
    if (until > now) out[pool] = until;
  }
  return out;
}

void InterruptionTracker::restore(const InterruptionRecord& r, TimePoint now) {
  if (r.pool.empty() || now - r.at >= policy_.window) return;
  auto& q = events_[r.pool];
  const bool known = std::any_of(q.begin(), q.end(), [&](const Event& e) {
    return r.node.empty() ? (e.at == r.at && e.instanceType == r.instanceType) : e.node == r.node;
  });
  if (known) return;
  // Kept in time order: prune() drops from the front.
  auto pos = std::upper_bound(q.begin(), q.end(), r.at, [](TimePoint t, const Event& e) { return t < e.at; });
  q.insert(pos, Event{r.at, r.instanceType, r.node});
}

void InterruptionTracker::restoreCoolOff(const std::string& pool, TimePoint until) {
  if (pool.empty()) return;
  auto& slot = coolOffUntil_[pool];
  if (slot < until) slot = until;
}

}  // namespace spotfit::scaler

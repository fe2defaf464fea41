#include "scaler/interruptions.hpp"

#include <algorithm>

namespace spotfit::scaler {

std::vector<std::string> defaultInterruptionTaints() {
  return {"aws-node-termination-handler/spot-itn",
          "aws-node-termination-handler/scheduled-maintenance",
          "aws-node-termination-handler/asg-lifecycle-termination",
          "cloud.google.com/impending-node-termination",
          "karpenter.sh/disrupted",
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

bool InterruptionTracker::record(const std::string& pool, const std::string& instanceType, TimePoint now) {
  prune(now);
  events_[pool].push_back({now, instanceType});
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
  return static_cast<int>(
      std::count_if(it->second.begin(), it->second.end(), [&](const Event& e) { return e.instanceType == instanceType; }));
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

}  // namespace spotfit::scaler

#include "scaler/batcher.hpp"

#include <algorithm>

namespace spotfit::scaler {

bool PodBatcher::observe(const std::string& key, TimePoint now) {
  if (!seen_.insert(key).second) return false;
  if (batch_.empty()) first_ = now;
  last_ = now;
  batch_.push_back(key);
  return true;
}

void PodBatcher::retain(const std::set<std::string>& stillPending) {
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = stillPending.count(*it) ? std::next(it) : seen_.erase(it);
  }
}

bool PodBatcher::ready(TimePoint now) const {
  if (batch_.empty()) return false;
  return now - last_ >= idle_ || now - first_ >= max_;
}

std::optional<TimePoint> PodBatcher::deadline() const {
  if (batch_.empty()) return std::nullopt;
  return std::min(last_ + idle_, first_ + max_);
}

std::vector<std::string> PodBatcher::take() {
  std::vector<std::string> out;
  out.swap(batch_);
  return out;
}

}  // namespace spotfit::scaler

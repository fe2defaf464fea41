#include "kube/clock.hpp"

namespace spotfit::kube {

bool SystemClock::sleepFor(Duration d, std::stop_token stop) {
  std::mutex mu;
  std::condition_variable_any cv;
  std::unique_lock lock(mu);
  return !cv.wait_for(lock, stop, d, [] { return false; }) && !stop.stop_requested();
}

SystemClock& SystemClock::instance() {
  static SystemClock clock;
  return clock;
}

Clock::TimePoint ManualClock::now() const {
  std::lock_guard lock(mu_);
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(offset_));
}

std::chrono::system_clock::time_point ManualClock::wallNow() const {
  std::lock_guard lock(mu_);
  // A fixed epoch (2024-05-01T00:00:00Z) plus the manual offset: deterministic timestamps.
  return std::chrono::system_clock::time_point(std::chrono::seconds(1714521600)) +
         std::chrono::duration_cast<std::chrono::system_clock::duration>(offset_);
}

bool ManualClock::sleepFor(Duration d, std::stop_token stop) {
  std::unique_lock lock(mu_);
  if (stop.stop_requested()) return false;
  if (autoAdvance_) {
    if (d > Duration::zero()) {
      offset_ += d;
      slept_ += d;
    }
    cv_.notify_all();
    return true;
  }
  const Duration wake = offset_ + d;
  ++sleepers_;
  bool ok = cv_.wait(lock, stop, [&] { return offset_ >= wake; });
  --sleepers_;
  if (ok) slept_ += d;
  return ok;
}

void ManualClock::advance(Duration d) {
  {
    std::lock_guard lock(mu_);
    offset_ += d;
  }
  cv_.notify_all();
}

int ManualClock::sleepers() const {
  std::lock_guard lock(mu_);
  return sleepers_;
}

ManualClock::Duration ManualClock::slept() const {
  std::lock_guard lock(mu_);
  return slept_;
}

}  // namespace spotfit::kube

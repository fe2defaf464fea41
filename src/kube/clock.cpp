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

ManualClock::ManualClock(WallTimePoint wallStart, bool autoAdvance)
    : wallBase_(wallStart - std::chrono::duration_cast<WallTimePoint::duration>(offset_)), autoAdvance_(autoAdvance) {}

Clock::WallTimePoint ManualClock::wallNow() const {
  std::lock_guard lock(mu_);
  return wallLocked();
}

Clock::WallTimePoint ManualClock::wallLocked() const {
  return wallBase_ + std::chrono::duration_cast<WallTimePoint::duration>(offset_);
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

void ManualClock::advanceLocked(Duration d) {
  if (d > Duration::zero()) offset_ += d;
}

void ManualClock::advance(Duration d) {
  {
    std::lock_guard lock(mu_);
    advanceLocked(d);
  }
  cv_.notify_all();
}

void ManualClock::set(WallTimePoint t) {
  {
    std::lock_guard lock(mu_);
    const WallTimePoint wall = wallLocked();
    if (t >= wall) {
      advanceLocked(std::chrono::duration_cast<Duration>(t - wall));
    } else {
      wallBase_ -= wall - t;
    }
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

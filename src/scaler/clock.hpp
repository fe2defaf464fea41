#pragma once
// Time is injected (house rule 4): every scaler rule takes its "now" from a Clock so the unit tests and the
// simulator advance virtual time instead of sleeping.

#include <chrono>
#include <mutex>

namespace spotfit::scaler {

using TimePoint = std::chrono::system_clock::time_point;
using Duration = std::chrono::milliseconds;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

// A clock that only moves when told to; thread-safe so a test can advance it while a worker reads it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start = TimePoint{} + std::chrono::hours(24 * 365 * 56)) : now_(start) {}
  TimePoint now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  void advance(Duration d) {
    std::lock_guard lock(mu_);
    now_ += d;
  }
  void set(TimePoint t) {
    std::lock_guard lock(mu_);
    now_ = t;
  }

 private:
  mutable std::mutex mu_;
  TimePoint now_;
};

}  // namespace spotfit::scaler

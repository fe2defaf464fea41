#pragma once
// Time is injected (house rule 4). Informers, retries, leader election and event aggregation read and
// wait on a Clock, so tests drive time by hand and never sleep on the wall clock.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace spotfit::kube {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;                            // monotonic, for deadlines and backoff
  virtual std::chrono::system_clock::time_point wallNow() const = 0;  // for timestamps written to the API
  // Waits `d` or until `stop` is requested. Returns false when stopped.
  virtual bool sleepFor(Duration d, std::stop_token stop) = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point wallNow() const override { return std::chrono::system_clock::now(); }
  bool sleepFor(Duration d, std::stop_token stop) override;
  static SystemClock& instance();
};

// A clock that moves only when told to. Sleepers wake when advance() passes their wake-up time.
// With autoAdvance, a sleep moves time forward itself and returns at once (retry/backoff tests).
class ManualClock final : public Clock {
 public:
  explicit ManualClock(bool autoAdvance = false) : autoAdvance_(autoAdvance) {}
  TimePoint now() const override;
  std::chrono::system_clock::time_point wallNow() const override;
  bool sleepFor(Duration d, std::stop_token stop) override;
  void advance(Duration d);
  // Number of threads blocked in sleepFor right now (lets tests wait until a loop is parked).
  int sleepers() const;
  // Total time slept through sleepFor (auto-advance mode accumulates it).
  Duration slept() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  Duration offset_{std::chrono::hours(1)};
  Duration slept_{0};
  int sleepers_ = 0;
  bool autoAdvance_;
};

}  // namespace spotfit::kube

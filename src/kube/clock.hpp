#pragma once
// Time is injected (house rule 4). Everything that reads or waits on time takes this one Clock: the kube
// client (informers, retries, leader election, events), the extender's assumed-pod ledger (steady now()),
// the scaler (wallNow(): its times are persisted and written to the API) and the simulator's virtual time.
// Tests and the simulator drive a ManualClock by hand and never sleep on the wall clock.

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stop_token>

namespace spotfit::kube {

class Clock {
 public:
  using Duration = std::chrono::nanoseconds;
  using TimePoint = std::chrono::steady_clock::time_point;
  using WallTimePoint = std::chrono::system_clock::time_point;
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;          // monotonic, for deadlines, backoff and expiry
  virtual WallTimePoint wallNow() const = 0;  // calendar time, for timestamps written to the API or to disk
  // Waits `d` or until `stop` is requested. Returns false when stopped.
  virtual bool sleepFor(Duration d, std::stop_token stop) = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::steady_clock::now(); }
  WallTimePoint wallNow() const override { return std::chrono::system_clock::now(); }
  bool sleepFor(Duration d, std::stop_token stop) override;
  static SystemClock& instance();
};

// A clock that moves only when told to; thread-safe, so a test can advance it while workers read it or
// sleep on it. Steady and wall time move together. Sleepers wake when time passes their wake-up time.
// With autoAdvance, a sleep moves time forward itself and returns at once (retry/backoff tests).
class ManualClock final : public Clock {
 public:
  // The wall clock starts at 2024-05-01T01:00:00Z: deterministic timestamps.
  explicit ManualClock(bool autoAdvance = false) : autoAdvance_(autoAdvance) {}
  // The wall clock starts at `wallStart` (the simulator's virtual epoch, a test's chosen instant).
  explicit ManualClock(WallTimePoint wallStart, bool autoAdvance = false);
  TimePoint now() const override;
  WallTimePoint wallNow() const override;
  bool sleepFor(Duration d, std::stop_token stop) override;
  void advance(Duration d);
  // Sets the wall time. Moving forward is advance(t - wallNow()); moving back steps only the wall clock,
  // as an NTP step does, because steady time never goes backwards.
  void set(WallTimePoint t);
  // Number of threads blocked in sleepFor right now (lets tests wait until a loop is parked).
  int sleepers() const;
  // Total time slept through sleepFor (auto-advance mode accumulates it).
  Duration slept() const;

 private:
  void advanceLocked(Duration d);
  WallTimePoint wallLocked() const;  // wallBase_ + offset_; mu_ held

  mutable std::mutex mu_;
  std::condition_variable_any cv_;
  Duration offset_{std::chrono::hours(1)};  // steady time is TimePoint(offset_)
  // 2024-05-01T00:00:00Z: wall time is wallBase_ + offset_.
  WallTimePoint wallBase_{std::chrono::seconds(1714521600)};
  Duration slept_{0};
  int sleepers_ = 0;
  bool autoAdvance_;
};

}  // namespace spotfit::kube

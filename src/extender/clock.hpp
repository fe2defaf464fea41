#pragma once
// Time is injected (house rule 4): the assumed-pod ledger expires entries on this clock, so tests move
// time by hand instead of sleeping.

#include <atomic>
#include <chrono>

namespace spotfit::extender {

class Clock {
 public:
  using time_point = std::chrono::steady_clock::time_point;
  virtual ~Clock() = default;
  virtual time_point now() const = 0;
};

class SteadyClock final : public Clock {
 public:
  time_point now() const override { return std::chrono::steady_clock::now(); }
};

// A clock that only moves when told to; safe to read from several threads while a test advances it.
class ManualClock final : public Clock {
 public:
  time_point now() const override { return time_point(std::chrono::nanoseconds(nanos_.load())); }
  void advance(std::chrono::nanoseconds d) { nanos_.fetch_add(d.count()); }

 private:
  std::atomic<std::chrono::nanoseconds::rep> nanos_{std::chrono::nanoseconds(std::chrono::hours(1)).count()};
};

}  // namespace spotfit::extender

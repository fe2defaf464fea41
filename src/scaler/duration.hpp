#pragma once
// The scaler's clock types: wall-clock time points, millisecond durations, and how they are persisted.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/duration.hpp"
#include "base/result.hpp"
#include "kube/clock.hpp"

namespace spotfit::scaler {

// The scaler's times are wall-clock times (kube::Clock::wallNow()): they are persisted (scaler-state.json,
// the cost ledger) and written to the API, so they must keep their meaning across a restart or a failover.
using TimePoint = kube::Clock::WallTimePoint;
using Duration = std::chrono::milliseconds;

// How the ledger and scaler-state.json store a TimePoint: milliseconds since the Unix epoch.
inline int64_t toEpochMs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline TimePoint fromEpochMs(int64_t ms) {
  return TimePoint{} + std::chrono::milliseconds(ms);
}

// The one duration grammar (base/duration.hpp) is the scaler's too.
using base::formatDuration;
using base::parseDuration;

}  // namespace spotfit::scaler

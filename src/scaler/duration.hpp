#pragma once
// Go-style durations as Kubernetes objects write them ("1s", "90s", "10m", "1h30m", "500ms").

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "kube/clock.hpp"
#include "placement/result.hpp"

namespace spotfit::scaler {

// The scaler's times are wall-clock times (kube::Clock::wallNow()): they are persisted (scaler-state.json,
// the cost ledger) and written to the API, so they must keep their meaning across a restart or a failover.
using TimePoint = kube::Clock::WallTimePoint;
using Duration = std::chrono::milliseconds;

// How the ledger and scaler-state.json store a TimePoint: milliseconds since the Unix epoch.
inline int64_t toEpochMs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
inline TimePoint fromEpochMs(int64_t ms) { return TimePoint{} + std::chrono::milliseconds(ms); }

// Parses a non-negative duration: one or more <integer or decimal><unit> terms, units ms, s, m, h.
// "0" alone is accepted. Anything else (empty, negative, unknown unit, overflow) is an "invalid" error.
Result<Duration> parseDuration(std::string_view text);

// Exact spelling that parseDuration reads back: 90000ms -> "1m30s", 1500ms -> "1s500ms", 0 -> "0s".
std::string formatDuration(Duration d);

}  // namespace spotfit::scaler

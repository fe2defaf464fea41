#pragma once
// One duration grammar for every spotfit input (config sections, NodePool parameters, simulate workloads):
// Go's time.ParseDuration, as Kubernetes writes durations ("500ms", "90s", "1h30m", "1.5h"), plus the unit
// "d" (24h) for simulation horizons. A sign, a bare number other than "0" and spaces are refused. The value
// is kept to the millisecond: finer fractions ("1500us", "1.0005s") are truncated toward zero.

#include <chrono>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace spotfit::base {

using Millis = std::chrono::milliseconds;

// Parses a non-negative duration: one or more <integer or decimal><unit> terms, units ns, us, µs, ms, s, m,
// h, d. Anything else (empty, negative, a missing or unknown unit, overflow) is an "invalid" error whose
// message quotes the text.
Result<Millis> parseDuration(std::string_view text);

// The spelling parseDuration reads back: 90000ms -> "1m30s", 1500ms -> "1s500ms", 0 -> "0s". Hours are
// not folded into days, as Go prints them.
std::string formatDuration(Millis d);

}  // namespace spotfit::base

#pragma once
// Kubernetes timestamps: metav1.Time is RFC 3339 with second precision ("2024-05-01T10:00:00Z"),
// metav1.MicroTime adds six fractional digits ("2024-05-01T10:00:00.123456Z"). Both are UTC on the wire;
// offsets ("+02:00") are accepted when reading.

#include <chrono>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace spotfit::base {

using WallTime = std::chrono::system_clock::time_point;

Result<WallTime> parseTime(std::string_view text);
std::string formatTime(WallTime t);       // seconds precision, "Z"
std::string formatMicroTime(WallTime t);  // microseconds precision, "Z"

}  // namespace spotfit::base

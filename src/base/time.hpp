#pragma once
// Kubernetes timestamps: metav1.Time is RFC 3339 with second precision ("2024-05-01T10:00:00Z"),
// metav1.MicroTime adds six fractional digits ("2024-05-01T10:00:00.123456Z"). Both are UTC on the wire;
// offsets ("+02:00") are accepted when reading.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace spotfit::base {

using WallTime = std::chrono::system_clock::time_point;

Result<WallTime> parseTime(std::string_view text);
std::string formatTime(WallTime t);       // seconds precision, "Z"
std::string formatMicroTime(WallTime t);  // microseconds precision, "Z"

// Days since 1970-01-01 of a proleptic Gregorian date (month 1-12, day 1-31), and back (Howard Hinnant's
// algorithms; no calendar tables, any year).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d);
struct CivilDate {
  int64_t y;
  unsigned m, d;
};
CivilDate civilFromDays(int64_t days);

}  // namespace spotfit::base

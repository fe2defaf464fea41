#pragma once
// Time zones without a tz library: GCC 12's libstdc++ has no std::chrono::tzdb, so this reads the
// system's compiled zone files (TZif, RFC 8536, versions 1 to 4; /usr/share/zoneinfo from Debian's
// tzdata) itself. The reader is bounded: a file over kMaxTzifBytes, more than kMaxTzifTransitions
// transitions or kMaxTzifTypes local time types, a bad magic, truncated data, transitions out of order, an
// index out of range, an offset beyond ±26 h or a footer TZ string it cannot read is an "invalid" Error
// naming the zone and what is wrong; it never reads past the buffer.
//
// Zone names: "UTC" (also "Etc/UTC", "Z", "GMT") and fixed offsets "+05:30" / "-03:00" / "UTC+05:30" need
// no file. Other names are IANA names ("America/New_York"): letters, digits, '_', '-', '+', '/', at most
// 64 characters, no "." component, read below the zoneinfo directory and nowhere else.
//
// Times past the last transition follow the file's footer (a POSIX TZ string such as
// "EST5EDT,M3.2.0,M11.1.0", rules in the M, J and plain-day forms); before the first transition the first
// local time type applies (RFC 8536 3.2).

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/time.hpp"

namespace spotfit::base {

inline constexpr size_t kMaxTzifBytes = 256 * 1024;
inline constexpr size_t kMaxTzifTransitions = 5000;
inline constexpr size_t kMaxTzifTypes = 256;
inline constexpr const char* kZoneinfoDir = "/usr/share/zoneinfo";

// A civil (wall clock) time in some zone, as seconds since 1970-01-01T00:00:00 of that wall clock.
using LocalSeconds = std::chrono::time_point<std::chrono::local_t, std::chrono::seconds>;

class TimeZone {
 public:
  static TimeZone utc();
  // A zone whose offset never changes; |offset| <= 26 h.
  static Result<TimeZone> fixed(std::chrono::seconds offset);
  // Parses the bytes of a TZif file; `name` is only used in error messages and name().
  static Result<TimeZone> fromTzif(std::string_view bytes, std::string name);
  // "UTC", a fixed offset, or an IANA name read from `zoneinfoDir` (see above).
  static Result<TimeZone> load(std::string_view name, const std::string& zoneinfoDir = kZoneinfoDir);

  const std::string& name() const { return name_; }
  // The offset from UTC (local = utc + offset) in force at the instant `t`.
  std::chrono::seconds offsetAt(WallTime t) const;
  LocalSeconds toLocal(WallTime t) const;
  // The instant a wall clock reading names. In an overlap (clocks set back) the earlier instant; in a gap
  // (clocks set forward, the reading never shows) the first instant after the gap, which is the instant of
  // the transition: so "the start of the day" of a day that starts at 00:30 local is that 00:30.
  WallTime toUtc(LocalSeconds local) const;

  // A POSIX TZ rule (the footer) as parsed; public for the tests.
  struct PosixRule {
    int kind = 0;  // 'M': month.week.weekday, 'J': Julian day 1..365 without Feb 29, 'D': day 0..365
    int month = 0, week = 0, weekday = 0, day = 0;
    int32_t timeOfDay = 7200;  // seconds after local midnight, may be negative or past 24 h (v3)
  };
  struct PosixTz {
    int32_t stdOffset = 0;  // local = utc + offset (POSIX writes the opposite sign)
    bool hasDst = false;
    int32_t dstOffset = 0;
    PosixRule start, end;
  };
  static Result<PosixTz> parsePosixTz(std::string_view text);

 private:
  int32_t offsetSeconds(int64_t utc) const;
  std::string name_;
  std::vector<int64_t> transitions_;  // UTC seconds, strictly increasing
  std::vector<int32_t> offsets_;      // offset in force from transitions_[i] on
  int32_t initialOffset_ = 0;         // before the first transition
  bool hasFooter_ = false;
  PosixTz footer_;
};

// Loaded time zones by name, at most kMaxZones of them (names come from users: BudgetPolicies, CronJobs).
// Failed loads are not cached (a file may appear with a tzdata upgrade); past the cap, zones load uncached.
class TimeZoneCache {
 public:
  static constexpr size_t kMaxZones = 64;
  explicit TimeZoneCache(std::string zoneinfoDir = kZoneinfoDir) : dir_(std::move(zoneinfoDir)) {}
  Result<TimeZone> get(std::string_view name);
  size_t size() const { return zones_.size(); }

 private:
  std::string dir_;
  std::map<std::string, TimeZone, std::less<>> zones_;
};

}  // namespace spotfit::base

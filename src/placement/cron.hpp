#pragma once
// Kubernetes CronJob schedules: the syntax the API server accepts (robfig/cron v3 ParseStandard plus the
// API server's own refusal of `TZ=`/`CRON_TZ=`) and the next fire time the CronJob controller computes.
//
//   minute hour day-of-month month day-of-week      e.g. "*/15 9-17 * * mon-fri"
//   each field: a comma list of `*`, `?`, N, N-M, with an optional /STEP (`N/STEP` means N-max/STEP);
//   months jan..dec and weekdays sun..sat by (case-insensitive) name; weekdays 0-6 (7 is refused, as
//   robfig refuses it).
//   descriptors: @yearly @annually @monthly @weekly @daily @midnight @hourly, and @every DURATION.
//
// Day rule (robfig, as Kubernetes): when day-of-month or day-of-week is `*` (or `?`, or `*/1`) a day must
// match both; when both are restricted a day matching either fires ("0 0 13 * fri": every 13th and every
// Friday). A schedule no date satisfies ("0 0 30 2 *") parses, as Kubernetes accepts it, but never fires.
//
// Time zones: the schedule reads the wall clock of the CronJob's `timeZone` (base::TimeZone: UTC, or the
// IANA zone from /usr/share/zoneinfo). Across DST, as robfig walks wall-clock hours: a fire time the clocks
// skip (spring forward: 02:30 on the night 02:00 becomes 03:00) does not fire that day, and one they repeat
// (fall back) fires once, at its first occurrence. Pure: std and base only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "base/tz.hpp"

namespace spotfit::placement {

struct CronSchedule {
  // Bit i set: value i allowed. minute 0-59, hour 0-23, dom 1-31, month 1-12, dow 0-6 (Sunday 0).
  uint64_t minute = 0, hour = 0, dom = 0, month = 0, dow = 0;
  bool domStar = false, dowStar = false;  // the field was `*`/`?` (day rule above)
  int64_t everySeconds = 0;               // @every: fires every this many seconds (> 0); then the bits are unused
};

// Parses a CronJob `.spec.schedule`. Errors ("invalid") quote the schedule and say what is wrong. Input is
// bounded: longer than 1024 bytes is refused.
Result<CronSchedule> parseCron(std::string_view spec);

// The first fire time strictly after `afterUnix` (seconds since the epoch, UTC), or nullopt when nothing
// fires within five years (robfig's limit; e.g. February 30th).
std::optional<int64_t> nextFire(const CronSchedule& s, int64_t afterUnix);

// The same on the wall clock of `zone`; the result is seconds since the epoch (UTC).
std::optional<int64_t> nextFire(const CronSchedule& s, int64_t afterUnix, const base::TimeZone& zone);

// The CronJob controller skips a run it could not start within startingDeadlineSeconds of its fire time.
// The latest time a run fired at `fireUnix` may still start: fire + deadline, or nullopt (no deadline).
inline std::optional<int64_t> startDeadline(int64_t fireUnix, std::optional<int64_t> startingDeadlineSeconds) {
  if (!startingDeadlineSeconds) return std::nullopt;
  return fireUnix + *startingDeadlineSeconds;
}

}  // namespace spotfit::placement

#include "placement/cron.hpp"

#include <array>
#include <cctype>
#include <vector>

#include "base/duration.hpp"
#include "base/time.hpp"

namespace spotfit::placement {

namespace {

constexpr size_t kMaxSpec = 1024;

struct Bounds {
  unsigned min, max;
  const char* const* names;  // lower-case, indexed from min; nullptr: no names
};

constexpr const char* kMonthNames[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr const char* kDowNames[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

constexpr Bounds kMinute{0, 59, nullptr};
constexpr Bounds kHour{0, 23, nullptr};
constexpr Bounds kDom{1, 31, nullptr};
constexpr Bounds kMonth{1, 12, kMonthNames};
constexpr Bounds kDow{0, 6, kDowNames};

Error bad(std::string_view spec, const std::string& why) {
  return makeError("invalid", "schedule \"" + std::string(spec) + "\": " + why);
}

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i <= s.size(); ++i) {
    if (i == s.size() || s[i] == sep) {
      out.push_back(s.substr(start, i - start));
      start = i + 1;
    }
  }
  return out;
}

// strconv.Atoi as robfig uses it: optional sign, decimal digits; negative values are refused.
std::optional<unsigned> parseUint(std::string_view s) {
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty() || s.size() > 9) return std::nullopt;
  unsigned v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<unsigned>(c - '0');
  }
  return v;
}

std::optional<unsigned> parseIntOrName(std::string_view s, const Bounds& b) {
  if (b.names != nullptr) {
    std::string lower(s);
    for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    for (unsigned i = 0; i <= b.max - b.min; ++i) {
      if (lower == b.names[i]) return b.min + i;
    }
  }
  return parseUint(s);
}

struct FieldBits {
  uint64_t bits = 0;
  bool star = false;
};

Result<FieldBits> parseRange(std::string_view spec, std::string_view expr, const Bounds& b) {
  const auto rangeAndStep = split(expr, '/');
  const auto lowHigh = split(rangeAndStep[0], '-');
  unsigned start = 0, end = 0, step = 1;
  bool star = false;
  if (lowHigh[0] == "*" || lowHigh[0] == "?") {  // robfig ignores anything after "*-"
    start = b.min;
    end = b.max;
    star = true;
  } else {
    auto s = parseIntOrName(lowHigh[0], b);
    if (!s) return bad(spec, "failed to parse int from " + std::string(lowHigh[0]));
    start = *s;
    if (lowHigh.size() == 1) {
      end = start;
    } else if (lowHigh.size() == 2) {
      auto e = parseIntOrName(lowHigh[1], b);
      if (!e) return bad(spec, "failed to parse int from " + std::string(lowHigh[1]));
      end = *e;
    } else {
      return bad(spec, "too many hyphens: " + std::string(expr));
    }
  }
  if (rangeAndStep.size() == 2) {
    auto st = parseUint(rangeAndStep[1]);
    if (!st) return bad(spec, "failed to parse int from " + std::string(rangeAndStep[1]));
    step = *st;
    if (lowHigh.size() == 1) end = b.max;  // "N/step" means "N-max/step"
    if (step > 1) star = false;
  } else if (rangeAndStep.size() > 2) {
    return bad(spec, "too many slashes: " + std::string(expr));
  }
  if (start < b.min) return bad(spec, "beginning of range below minimum: " + std::string(expr));
  if (end > b.max) return bad(spec, "end of range above maximum: " + std::string(expr));
  if (start > end) return bad(spec, "beginning of range beyond end of range: " + std::string(expr));
  if (step == 0) return bad(spec, "step of range should be a positive number: " + std::string(expr));
  FieldBits f;
  for (unsigned v = start; v <= end; v += step) f.bits |= uint64_t{1} << v;
  f.star = star;
  return f;
}

Result<FieldBits> parseField(std::string_view spec, std::string_view field, const Bounds& b) {
  FieldBits out;
  for (std::string_view part : split(field, ',')) {
    if (part.empty()) continue;  // robfig splits with strings.FieldsFunc: "1,,2" is "1,2"
    auto r = parseRange(spec, part, b);
    if (!r) return r.error();
    out.bits |= r->bits;
    out.star = out.star || r->star;
  }
  return out;
}

uint64_t all(const Bounds& b) {
  uint64_t bits = 0;
  for (unsigned v = b.min; v <= b.max; ++v) bits |= uint64_t{1} << v;
  return bits;
}

CronSchedule fixed(unsigned minuteV, std::optional<unsigned> hourV, std::optional<unsigned> domV,
                   std::optional<unsigned> monthV, std::optional<unsigned> dowV) {
  CronSchedule s;
  s.minute = uint64_t{1} << minuteV;
  s.hour = hourV ? uint64_t{1} << *hourV : all(kHour);
  s.dom = domV ? uint64_t{1} << *domV : all(kDom);
  s.domStar = !domV;
  s.month = monthV ? uint64_t{1} << *monthV : all(kMonth);
  s.dow = dowV ? uint64_t{1} << *dowV : all(kDow);
  s.dowStar = !dowV;
  return s;
}

Result<CronSchedule> parseDescriptor(std::string_view spec) {
  if (spec == "@yearly" || spec == "@annually") return fixed(0, 0, 1, 1, std::nullopt);
  if (spec == "@monthly") return fixed(0, 0, 1, std::nullopt, std::nullopt);
  if (spec == "@weekly") return fixed(0, 0, std::nullopt, std::nullopt, 0);
  if (spec == "@daily" || spec == "@midnight") return fixed(0, 0, std::nullopt, std::nullopt, std::nullopt);
  if (spec == "@hourly") return fixed(0, std::nullopt, std::nullopt, std::nullopt, std::nullopt);
  constexpr std::string_view every = "@every ";
  if (spec.substr(0, every.size()) == every) {
    auto d = base::parseDuration(spec.substr(every.size()));
    if (!d) return bad(spec, "failed to parse duration: " + d.error().message);
    CronSchedule s;
    // robfig rounds the delay down to whole seconds, and at least one second.
    s.everySeconds = std::max<int64_t>(1, d->count() / 1000);
    return s;
  }
  return bad(spec, "unrecognized descriptor");
}

int64_t floorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

bool has(uint64_t bits, unsigned v) {
  return (bits >> v) & 1U;
}

bool dayMatches(const CronSchedule& s, unsigned dom, unsigned dow) {
  const bool domMatch = has(s.dom, dom);
  const bool dowMatch = has(s.dow, dow);
  if (s.domStar || s.dowStar) return domMatch && dowMatch;
  return domMatch || dowMatch;
}

}  // namespace

Result<CronSchedule> parseCron(std::string_view spec) {
  if (spec.empty()) return bad(spec, "empty spec string");
  if (spec.size() > kMaxSpec) {
    return makeError("invalid", "schedule is longer than " + std::to_string(kMaxSpec) + " bytes");
  }
  if (spec.find("TZ") != std::string_view::npos) {
    return bad(spec, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead");
  }
  if (spec[0] == '@') return parseDescriptor(spec);
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < spec.size()) {
    while (i < spec.size() && std::isspace(static_cast<unsigned char>(spec[i]))) ++i;
    size_t j = i;
    while (j < spec.size() && !std::isspace(static_cast<unsigned char>(spec[j]))) ++j;
    if (j > i) fields.push_back(spec.substr(i, j - i));
    i = j;
  }
  if (fields.size() != 5) {
    return bad(spec, "expected exactly 5 fields, found " + std::to_string(fields.size()));
  }
  const std::array<const Bounds*, 5> bounds = {&kMinute, &kHour, &kDom, &kMonth, &kDow};
  std::array<FieldBits, 5> parsed;
  for (size_t k = 0; k < 5; ++k) {
    auto f = parseField(spec, fields[k], *bounds[k]);
    if (!f) return f.error();
    parsed[k] = *f;
  }
  CronSchedule s;
  s.minute = parsed[0].bits;
  s.hour = parsed[1].bits;
  s.dom = parsed[2].bits;
  s.domStar = parsed[2].star;
  s.month = parsed[3].bits;
  s.dow = parsed[4].bits;
  s.dowStar = parsed[4].star;
  return s;
}

namespace {

// A zone's wall clock at an instant, in the fields robfig reads (time.Time's Year, Month, Day, ...).
struct Wall {
  int64_t y;
  unsigned mo, d, h, mi, sec, dow;
};

Wall wallAt(int64_t unix, const base::TimeZone& zone) {
  const int64_t local = unix + zone.offsetAt(base::WallTime(std::chrono::seconds(unix))).count();
  const int64_t days = floorDiv(local, 86400);
  const int64_t sod = local - days * 86400;
  const base::CivilDate c = base::civilFromDays(days);
  return {c.y,
          c.m,
          c.d,
          static_cast<unsigned>(sod / 3600),
          static_cast<unsigned>(sod / 60 % 60),
          static_cast<unsigned>(sod % 60),
          static_cast<unsigned>(((days % 7) + 11) % 7)};
}

// Go's time.Date(y, mo, d, h, mi, sec, 0, zone): out-of-range fields normalize (month 13 is January of the
// next year, day 32 the next month's first); a reading the clocks skip or repeat gets the offset Go picks:
// the one in force at the reading taken as UTC if that instant keeps it, else the one at the instant found.
int64_t goDate(int64_t y, int64_t mo, int64_t d, int64_t h, int64_t mi, int64_t sec, const base::TimeZone& zone) {
  int64_t m0 = mo - 1;
  y += floorDiv(m0, 12);
  m0 -= floorDiv(m0, 12) * 12;
  const int64_t wall =
      (base::daysFromCivil(y, static_cast<unsigned>(m0 + 1), 1) + d - 1) * 86400 + h * 3600 + mi * 60 + sec;
  const auto offsetAt = [&](int64_t unix) { return zone.offsetAt(base::WallTime(std::chrono::seconds(unix))).count(); };
  const int64_t first = offsetAt(wall);
  const int64_t second = offsetAt(wall - first);
  return wall - (second == first ? first : second);
}

}  // namespace

// robfig/cron v3's SpecSchedule.Next step for step, on the zone's wall clock with Go's time arithmetic
// (AddDate and Date normalize local fields, Add moves the instant), so DST edges come out as the
// CronJob controller computes them: a reading the clocks skip does not fire, one they repeat fires at both
// instants, and its own quirks (e.g. a midnight that DST moves) are kept. Checked against robfig's answers
// in tests/placement/testdata/cron_robfig_tz.tsv.
std::optional<int64_t> nextFire(const CronSchedule& s, int64_t afterUnix, const base::TimeZone& zone) {
  if (s.everySeconds > 0) return afterUnix + s.everySeconds;  // @every counts elapsed time, not the clock
  int64_t t = afterUnix + 1;                                  // the upcoming second
  bool added = false;
  Wall w = wallAt(t, zone);
  const int64_t yearLimit = w.y + 5;
  for (int wraps = 0; wraps < 100000; ++wraps) {
    w = wallAt(t, zone);
    if (w.y > yearLimit) return std::nullopt;
    bool wrap = false;
    while (!has(s.month, w.mo)) {
      if (!added) {
        added = true;
        t = goDate(w.y, w.mo, 1, 0, 0, 0, zone);
        w = wallAt(t, zone);
      }
      t = goDate(w.y, w.mo + 1, w.d, w.h, w.mi, w.sec, zone);  // AddDate(0, 1, 0)
      w = wallAt(t, zone);
      if (w.mo == 1) {
        wrap = true;
        break;
      }
    }
    if (wrap) continue;
    while (!dayMatches(s, w.d, w.dow)) {
      if (!added) {
        added = true;
        t = goDate(w.y, w.mo, w.d, 0, 0, 0, zone);
        w = wallAt(t, zone);
      }
      t = goDate(w.y, w.mo, w.d + 1, w.h, w.mi, w.sec, zone);  // AddDate(0, 0, 1)
      w = wallAt(t, zone);
      if (w.h != 0) {  // DST moved midnight: robfig nudges the hour back to 0
        t += w.h > 12 ? (24 - static_cast<int64_t>(w.h)) * 3600 : -static_cast<int64_t>(w.h) * 3600;
        w = wallAt(t, zone);
      }
      if (w.d == 1) {
        wrap = true;
        break;
      }
    }
    if (wrap) continue;
    while (!has(s.hour, w.h)) {
      if (!added) {
        added = true;
        t = goDate(w.y, w.mo, w.d, w.h, 0, 0, zone);
      }
      t += 3600;
      w = wallAt(t, zone);
      if (w.h == 0) {
        wrap = true;
        break;
      }
    }
    if (wrap) continue;
    while (!has(s.minute, w.mi)) {
      if (!added) {
        added = true;
        t -= t - floorDiv(t, 60) * 60;  // Truncate(time.Minute): absolute time
      }
      t += 60;
      w = wallAt(t, zone);
      if (w.mi == 0) {
        wrap = true;
        break;
      }
    }
    if (wrap) continue;
    if (w.sec != 0) {  // standard specs fire at second 0: robfig steps to the next minute and starts over
      added = true;
      t += 60 - static_cast<int64_t>(w.sec);
      continue;
    }
    return t;
  }
  return std::nullopt;
}

std::optional<int64_t> nextFire(const CronSchedule& s, int64_t afterUnix) {
  return nextFire(s, afterUnix, base::TimeZone::utc());
}

}  // namespace spotfit::placement

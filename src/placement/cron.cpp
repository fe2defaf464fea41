#include "placement/cron.hpp"

#include <array>
#include <cctype>
#include <vector>

#include "base/duration.hpp"

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

// Civil date <-> days since 1970-01-01 (Howard Hinnant's algorithms), proleptic Gregorian.
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t y;
  unsigned m, d;
};

Civil civilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return Civil{y + (m <= 2), m, d};
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

std::optional<int64_t> nextFire(const CronSchedule& s, int64_t afterUnix) {
  if (s.everySeconds > 0) return afterUnix + s.everySeconds;
  // The first whole minute strictly after `afterUnix`, then skip forward field by field (largest first),
  // as robfig's SpecSchedule.Next does, giving up five years on.
  int64_t days = floorDiv(afterUnix, 86400);
  int64_t minuteOfDay = floorDiv(afterUnix - days * 86400, 60) + 1;
  if (minuteOfDay == 1440) {
    minuteOfDay = 0;
    ++days;
  }
  const int64_t yearLimit = civilFromDays(days).y + 5;
  for (;;) {
    const Civil c = civilFromDays(days);
    if (c.y > yearLimit) return std::nullopt;
    if (!has(s.month, c.m)) {  // first day of the next month
      days = c.m == 12 ? daysFromCivil(c.y + 1, 1, 1) : daysFromCivil(c.y, c.m + 1, 1);
      minuteOfDay = 0;
      continue;
    }
    const auto dow = static_cast<unsigned>(((days % 7) + 11) % 7);  // 1970-01-01 was a Thursday (4)
    if (!dayMatches(s, c.d, dow)) {
      ++days;
      minuteOfDay = 0;
      continue;
    }
    const auto hour = static_cast<unsigned>(minuteOfDay / 60);
    if (!has(s.hour, hour)) {
      minuteOfDay = (hour + 1) * 60;
      if (minuteOfDay >= 1440) {
        ++days;
        minuteOfDay = 0;
      }
      continue;
    }
    if (!has(s.minute, static_cast<unsigned>(minuteOfDay % 60))) {
      ++minuteOfDay;
      if (minuteOfDay >= 1440) {
        ++days;
        minuteOfDay = 0;
      }
      continue;
    }
    return days * 86400 + minuteOfDay * 60;
  }
}

Status checkTimeZone(std::string_view timeZone) {
  if (timeZone.empty() || timeZone == "UTC" || timeZone == "Etc/UTC") return {};
  std::string shown(timeZone.substr(0, 128));
  for (char& c : shown) {
    if (!std::isprint(static_cast<unsigned char>(c))) c = '?';
  }
  return makeError("unsupported", "time zone " + shown + " not supported (only UTC and Etc/UTC)");
}

}  // namespace spotfit::placement

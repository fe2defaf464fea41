#include "base/tz.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <optional>

namespace spotfit::base {
namespace {

constexpr int32_t kMaxOffset = 26 * 3600;

Error tzError(std::string_view zone, const std::string& what) {
  return makeError("invalid", "time zone \"" + std::string(zone.substr(0, 64)) + "\": " + what);
}

// A bounds-checked big-endian reader over the file's bytes.
class Reader {
 public:
  explicit Reader(std::string_view b) : b_(b) {}
  bool has(size_t n) const { return n <= b_.size() - pos_; }
  size_t pos() const { return pos_; }
  void skip(size_t n) { pos_ += n; }
  std::string_view take(size_t n) {
    auto s = b_.substr(pos_, n);
    pos_ += n;
    return s;
  }
  uint64_t be(size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v = (v << 8) | static_cast<unsigned char>(b_[pos_ + i]);
    pos_ += n;
    return v;
  }
  std::string_view rest() const { return b_.substr(pos_); }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

struct Header {
  char version = 0;
  uint64_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;
};

std::optional<Header> readHeader(Reader& r) {
  if (!r.has(44)) return std::nullopt;
  if (r.take(4) != "TZif") return std::nullopt;
  Header h;
  h.version = r.take(1)[0];
  r.skip(15);
  h.isutcnt = r.be(4);
  h.isstdcnt = r.be(4);
  h.leapcnt = r.be(4);
  h.timecnt = r.be(4);
  h.typecnt = r.be(4);
  h.charcnt = r.be(4);
  return h;
}

bool isLeap(int y) {
  return std::chrono::year{y}.is_leap();
}

// Days since the epoch of the date a POSIX rule names in year y.
int64_t ruleDay(const TimeZone::PosixRule& r, int y) {
  using namespace std::chrono;
  if (r.kind == 'J') return daysFromCivil(y, 1, 1) + r.day - 1 + ((isLeap(y) && r.day >= 60) ? 1 : 0);
  if (r.kind == 'D') return daysFromCivil(y, 1, 1) + r.day;
  const int64_t first = daysFromCivil(y, static_cast<unsigned>(r.month), 1);
  const int firstWd = static_cast<int>(weekday{sys_days{days{first}}}.c_encoding());
  int dom = 1 + (r.weekday - firstWd + 7) % 7 + 7 * (r.week - 1);
  const int mdays =
      static_cast<int>(static_cast<unsigned>((year{y} / month{static_cast<unsigned>(r.month)} / last).day()));
  while (dom > mdays) dom -= 7;
  return first + dom - 1;
}

// [+-]hh[:mm[:ss]] with hh <= maxHours; returns seconds (sign as written).
std::optional<int32_t> parseHms(std::string_view& s, int maxHours) {
  int sign = 1;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    if (s[0] == '-') sign = -1;
    s.remove_prefix(1);
  }
  auto num = [&](int maxDigits) -> std::optional<int> {
    int v = 0, n = 0;
    while (!s.empty() && s[0] >= '0' && s[0] <= '9' && n < maxDigits) {
      v = v * 10 + (s[0] - '0');
      s.remove_prefix(1);
      ++n;
    }
    if (n == 0) return std::nullopt;
    return v;
  };
  auto h = num(3);
  if (!h || *h > maxHours) return std::nullopt;
  int32_t total = *h * 3600;
  for (int part = 0; part < 2 && !s.empty() && s[0] == ':'; ++part) {
    s.remove_prefix(1);
    auto v = num(2);
    if (!v || *v > 59) return std::nullopt;
    total += *v * (part == 0 ? 60 : 1);
  }
  return sign * total;
}

bool parseAbbrev(std::string_view& s) {
  if (!s.empty() && s[0] == '<') {
    auto close = s.find('>');
    if (close == std::string_view::npos || close < 4) return false;
    s.remove_prefix(close + 1);
    return true;
  }
  size_t n = 0;
  while (n < s.size() && ((s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= 'a' && s[n] <= 'z'))) ++n;
  if (n < 3) return false;
  s.remove_prefix(n);
  return true;
}

std::optional<TimeZone::PosixRule> parseRule(std::string_view& s) {
  TimeZone::PosixRule r;
  auto num = [&](int lo, int hi) -> std::optional<int> {
    int v = 0, n = 0;
    while (!s.empty() && s[0] >= '0' && s[0] <= '9' && n < 3) {
      v = v * 10 + (s[0] - '0');
      s.remove_prefix(1);
      ++n;
    }
    if (n == 0 || v < lo || v > hi) return std::nullopt;
    return v;
  };
  if (!s.empty() && s[0] == 'M') {
    s.remove_prefix(1);
    r.kind = 'M';
    auto m = num(1, 12);
    if (!m || s.empty() || s[0] != '.') return std::nullopt;
    s.remove_prefix(1);
    auto w = num(1, 5);
    if (!w || s.empty() || s[0] != '.') return std::nullopt;
    s.remove_prefix(1);
    auto d = num(0, 6);
    if (!d) return std::nullopt;
    r.month = *m;
    r.week = *w;
    r.weekday = *d;
  } else if (!s.empty() && s[0] == 'J') {
    s.remove_prefix(1);
    r.kind = 'J';
    auto d = num(1, 365);
    if (!d) return std::nullopt;
    r.day = *d;
  } else {
    r.kind = 'D';
    auto d = num(0, 365);
    if (!d) return std::nullopt;
    r.day = *d;
  }
  if (!s.empty() && s[0] == '/') {
    s.remove_prefix(1);
    auto t = parseHms(s, 167);  // RFC 8536 3.3.1: -167..167 hours
    if (!t) return std::nullopt;
    r.timeOfDay = *t;
  }
  return r;
}

bool validName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name.front() == '/' || name.back() == '/') return false;
  for (char c : name) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
                    c == '-' || c == '+' || c == '/';
    if (!ok) return false;  // no '.', so no ".." component either
  }
  return name.find("//") == std::string_view::npos;
}

}  // namespace

TimeZone TimeZone::utc() {
  TimeZone z;
  z.name_ = "UTC";
  return z;
}

Result<TimeZone> TimeZone::fixed(std::chrono::seconds offset) {
  if (offset.count() > kMaxOffset || offset.count() < -kMaxOffset) {
    return makeError("invalid", "fixed UTC offset of " + std::to_string(offset.count()) + "s is beyond ±26h");
  }
  TimeZone z;
  const auto s = offset.count();
  const auto a = s < 0 ? -s : s;
  char buf[32];
  std::snprintf(buf, sizeof buf, "%c%02d:%02d", s < 0 ? '-' : '+', static_cast<int>(a / 3600),
                static_cast<int>(a % 3600 / 60));
  z.name_ = buf;
  z.initialOffset_ = static_cast<int32_t>(s);
  return z;
}

Result<TimeZone::PosixTz> TimeZone::parsePosixTz(std::string_view text) {
  const std::string quoted = "footer TZ string \"" + std::string(text.substr(0, 64)) + "\" is invalid";
  std::string_view s = text;
  PosixTz tz;
  if (!parseAbbrev(s)) return makeError("invalid", quoted + " (standard time name)");
  auto off = parseHms(s, 24);
  if (!off) return makeError("invalid", quoted + " (standard offset)");
  tz.stdOffset = -*off;
  if (s.empty()) return tz;
  if (!parseAbbrev(s)) return makeError("invalid", quoted + " (daylight time name)");
  tz.hasDst = true;
  tz.dstOffset = tz.stdOffset + 3600;
  if (!s.empty() && s[0] != ',') {
    auto d = parseHms(s, 24);
    if (!d) return makeError("invalid", quoted + " (daylight offset)");
    tz.dstOffset = -*d;
  }
  if (s.empty() || s[0] != ',') return makeError("invalid", quoted + " (no daylight time rules)");
  s.remove_prefix(1);
  auto start = parseRule(s);
  if (!start || s.empty() || s[0] != ',') return makeError("invalid", quoted + " (daylight time start rule)");
  s.remove_prefix(1);
  auto end = parseRule(s);
  if (!end || !s.empty()) return makeError("invalid", quoted + " (daylight time end rule)");
  tz.start = *start;
  tz.end = *end;
  if (tz.stdOffset > kMaxOffset || tz.stdOffset < -kMaxOffset || tz.dstOffset > kMaxOffset ||
      tz.dstOffset < -kMaxOffset) {
    return makeError("invalid", quoted + " (offset beyond ±26h)");
  }
  return tz;
}

Result<TimeZone> TimeZone::fromTzif(std::string_view bytes, std::string name) {
  if (bytes.size() > kMaxTzifBytes) {
    return tzError(
        name, "file is " + std::to_string(bytes.size()) + " bytes, over the limit of " + std::to_string(kMaxTzifBytes));
  }
  Reader r(bytes);
  auto h1 = readHeader(r);
  if (!h1) return tzError(name, "not a TZif file (bad magic or shorter than its header)");
  auto checkCounts = [&](const Header& h) -> std::optional<Error> {
    if (h.timecnt > kMaxTzifTransitions) {
      return tzError(
          name, std::to_string(h.timecnt) + " transitions, over the limit of " + std::to_string(kMaxTzifTransitions));
    }
    if (h.typecnt == 0 || h.typecnt > kMaxTzifTypes) {
      return tzError(
          name, std::to_string(h.typecnt) + " local time types (must be 1.." + std::to_string(kMaxTzifTypes) + ")");
    }
    if (h.charcnt == 0 || h.charcnt > 4096 || h.leapcnt > 1000 || (h.isutcnt != 0 && h.isutcnt != h.typecnt) ||
        (h.isstdcnt != 0 && h.isstdcnt != h.typecnt)) {
      return tzError(name, "header counts are inconsistent");
    }
    return std::nullopt;
  };
  if (auto e = checkCounts(*h1)) return *e;
  Header h = *h1;
  size_t timeSize = 4;
  if (h1->version != 0) {
    if (h1->version < '2' || h1->version > '4') return tzError(name, "unknown TZif version");
    // Skip the 32-bit block; the 64-bit block after the second header is the one to read.
    const size_t v1 = h1->timecnt * 5 + h1->typecnt * 6 + h1->charcnt + h1->leapcnt * 8 + h1->isstdcnt + h1->isutcnt;
    if (!r.has(v1)) return tzError(name, "truncated (version 1 data block)");
    r.skip(v1);
    auto h2 = readHeader(r);
    if (!h2) return tzError(name, "truncated or bad magic in the second header");
    if (auto e = checkCounts(*h2)) return *e;
    h = *h2;
    timeSize = 8;
  }
  const size_t block =
      h.timecnt * (timeSize + 1) + h.typecnt * 6 + h.charcnt + h.leapcnt * (timeSize + 4) + h.isstdcnt + h.isutcnt;
  if (!r.has(block)) return tzError(name, "truncated (data block)");
  TimeZone z;
  z.name_ = std::move(name);
  std::vector<int64_t> times(h.timecnt);
  for (auto& t : times) {
    const uint64_t raw = r.be(timeSize);
    t = timeSize == 8 ? static_cast<int64_t>(raw) : static_cast<int64_t>(static_cast<int32_t>(raw));
  }
  std::vector<uint8_t> idx(h.timecnt);
  for (auto& i : idx) i = static_cast<uint8_t>(r.be(1));
  std::vector<int32_t> typeOffsets(h.typecnt);
  for (auto& o : typeOffsets) {
    o = static_cast<int32_t>(static_cast<uint32_t>(r.be(4)));
    r.skip(2);  // isdst, abbreviation index
    if (o > kMaxOffset || o < -kMaxOffset) return tzError(z.name_, "a local time type's offset is beyond ±26h");
  }
  r.skip(h.charcnt + h.leapcnt * (timeSize + 4) + h.isstdcnt + h.isutcnt);
  for (size_t i = 0; i < times.size(); ++i) {
    if (i > 0 && times[i] <= times[i - 1]) return tzError(z.name_, "transition times are not increasing");
    if (idx[i] >= h.typecnt) return tzError(z.name_, "a transition names a local time type out of range");
  }
  z.transitions_ = std::move(times);
  z.offsets_.reserve(idx.size());
  for (auto i : idx) z.offsets_.push_back(typeOffsets[i]);
  z.initialOffset_ = typeOffsets[0];
  if (timeSize == 8) {
    auto rest = r.rest();
    if (rest.size() < 2 || rest[0] != '\n') return tzError(z.name_, "missing footer");
    auto nl = rest.find('\n', 1);
    if (nl == std::string_view::npos) return tzError(z.name_, "unterminated footer");
    auto footer = rest.substr(1, nl - 1);
    if (!footer.empty()) {
      auto p = parsePosixTz(footer);
      if (!p) return tzError(z.name_, p.error().message);
      z.hasFooter_ = true;
      z.footer_ = *p;
    }
  }
  return z;
}

Result<TimeZone> TimeZone::load(std::string_view name, const std::string& zoneinfoDir) {
  if (name == "UTC" || name == "Etc/UTC" || name == "Z" || name == "GMT" || name == "Etc/GMT") return utc();
  std::string_view off = name;
  if (off.substr(0, 3) == "UTC" && off.size() > 3) off.remove_prefix(3);
  if (!off.empty() && (off[0] == '+' || off[0] == '-')) {
    std::string_view rest = off;
    auto s = parseHms(rest, 26);
    if (!s || !rest.empty() || off.size() < 3) {
      return tzError(name, "not a fixed offset of the form +HH:MM or -HH:MM");
    }
    return fixed(std::chrono::seconds(*s));
  }
  if (!validName(name)) {
    return tzError(name,
                   "not a valid zone name (IANA names such as Europe/Berlin: letters, digits, _ - + /, "
                   "at most 64 characters)");
  }
  const std::string path = zoneinfoDir + "/" + std::string(name);
  std::ifstream in(path, std::ios::binary);
  if (!in) return makeError("not_found", "time zone \"" + std::string(name) + "\" is not in " + zoneinfoDir);
  std::string bytes(kMaxTzifBytes + 1, '\0');
  in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  bytes.resize(static_cast<size_t>(in.gcount()));
  return fromTzif(bytes, std::string(name));
}

int32_t TimeZone::offsetSeconds(int64_t t) const {
  if (!transitions_.empty() && t < transitions_.front()) return initialOffset_;
  if (!hasFooter_ || (!transitions_.empty() && t < transitions_.back())) {
    if (transitions_.empty()) return initialOffset_;
    auto it = std::upper_bound(transitions_.begin(), transitions_.end(), t);
    return offsets_[static_cast<size_t>(it - transitions_.begin()) - 1];
  }
  const PosixTz& f = footer_;
  if (!f.hasDst) return f.stdOffset;
  const int64_t localStd = t + f.stdOffset;
  const int64_t dayNo = localStd >= 0 ? localStd / 86400 : (localStd - 86399) / 86400;
  const int y = static_cast<int>(std::chrono::year_month_day{std::chrono::sys_days{std::chrono::days{dayNo}}}.year());
  const int64_t start = ruleDay(f.start, y) * 86400 + f.start.timeOfDay - f.stdOffset;
  const int64_t end = ruleDay(f.end, y) * 86400 + f.end.timeOfDay - f.dstOffset;
  const bool dst = start < end ? (t >= start && t < end) : !(t >= end && t < start);
  return dst ? f.dstOffset : f.stdOffset;
}

std::chrono::seconds TimeZone::offsetAt(WallTime t) const {
  const auto s = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  return std::chrono::seconds(offsetSeconds(s));
}

LocalSeconds TimeZone::toLocal(WallTime t) const {
  const auto s = std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count();
  return LocalSeconds(std::chrono::seconds(s + offsetSeconds(s)));
}

WallTime TimeZone::toUtc(LocalSeconds local) const {
  const int64_t l = local.time_since_epoch().count();
  // The offsets in force around the reading: a zone changes offset at most once within two days.
  const int32_t before = offsetSeconds(l - 86400 - kMaxOffset);
  const int32_t after = offsetSeconds(l + 86400 + kMaxOffset);
  std::optional<int64_t> best;
  for (int32_t o : {before, after}) {
    const int64_t u = l - o;
    if (offsetSeconds(u) == o && (!best || u < *best)) best = u;
  }
  if (!best) {
    // A gap: the first instant whose wall clock reads at or after `local`. Wall time is monotonic across
    // a gap, so bisect between the two candidate instants.
    int64_t lo = l - std::max(before, after), hi = l - std::min(before, after);
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      if (mid + offsetSeconds(mid) >= l) {
        hi = mid;
      } else {
        lo = mid + 1;
      }
    }
    best = lo;
  }
  return WallTime(std::chrono::duration_cast<WallTime::duration>(std::chrono::seconds(*best)));
}

Result<TimeZone> TimeZoneCache::get(std::string_view name) {
  if (auto it = zones_.find(name); it != zones_.end()) return it->second;
  auto z = TimeZone::load(name, dir_);
  if (z && zones_.size() < kMaxZones) zones_.emplace(std::string(name), *z);
  return z;
}

}  // namespace spotfit::base

#include "base/duration.hpp"

#include <cstdint>
#include <limits>

namespace spotfit::base {

namespace {
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isUnitChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || static_cast<unsigned char>(c) >= 0x80;
}

// Nanoseconds per unit, as Go's time package spells them ("µs" in UTF-8 and the Greek mu both mean us).
int64_t unitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1'000;
  if (unit == "ms") return 1'000'000;
  if (unit == "s") return 1'000'000'000;
  if (unit == "m") return 60LL * 1'000'000'000;
  if (unit == "h") return 3'600LL * 1'000'000'000;
  if (unit == "d") return 86'400LL * 1'000'000'000;
  return 0;
}
}  // namespace

Result<Millis> parseDuration(std::string_view text) {
  auto bad = [&](const char* why) {
    return makeError("invalid",
                     "invalid duration \"" + std::string(text) + "\": " + why + " (use e.g. 500ms, 90s, 1h30m)");
  };
  if (text.empty()) return bad("empty");
  if (text == "0") return Millis{0};
  // Whole milliseconds plus a nanosecond remainder, so "1500us" + "500us" adds up to 2ms exactly.
  constexpr int64_t kMaxMs = std::numeric_limits<int64_t>::max() / 4;
  int64_t totalMs = 0, totalNs = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!isDigit(text[i]) && text[i] != '.') return bad("expected a number");
    int64_t whole = 0;
    bool digits = false;
    while (i < text.size() && isDigit(text[i])) {
      const int digit = text[i] - '0';
      if (whole > (kMaxMs - digit) / 10) return bad("too large");
      whole = whole * 10 + digit;
      digits = true;
      ++i;
    }
    int64_t frac = 0, fracScale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && isDigit(text[i])) {
        if (fracScale < 1'000'000'000) {  // digits past the nanosecond cannot change the result
          frac = frac * 10 + (text[i] - '0');
          fracScale *= 10;
        }
        digits = true;
        ++i;
      }
    }
    if (!digits) return bad("expected a number");
    const size_t unitStart = i;
    while (i < text.size() && isUnitChar(text[i])) ++i;
    std::string_view unit = text.substr(unitStart, i - unitStart);
    if (unit.empty()) return bad("missing unit (ns, us, ms, s, m, h or d)");
    const int64_t ns = unitNanos(unit);
    if (ns == 0) return bad("unknown unit");
    // whole * unit, split into ms and ns so neither can overflow: ms, s, m, h and d are whole
    // milliseconds; ns and us divide one.
    if (ns >= 1'000'000) {
      const int64_t unitMs = ns / 1'000'000;
      if (whole > kMaxMs / unitMs) return bad("too large");
      totalMs += whole * unitMs;
    } else {
      const int64_t perMs = 1'000'000 / ns;
      totalMs += whole / perMs;
      totalNs += whole % perMs * ns;
    }
    // frac / fracScale of a unit, in nanoseconds (fracScale <= 1e9, unit <= 8.64e13 ns: use long double).
    const long double fracNs = static_cast<long double>(frac) * static_cast<long double>(ns) / fracScale;
    totalNs += static_cast<int64_t>(fracNs);
    totalMs += totalNs / 1'000'000;
    totalNs %= 1'000'000;
    if (totalMs > kMaxMs) return bad("too large");
  }
  return Millis{totalMs};
}

std::string formatDuration(Millis d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  const int64_t h = ms / 3'600'000, m = ms / 60'000 % 60, s = ms / 1000 % 60, rest = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s) out += std::to_string(s) + "s";
  if (rest) out += std::to_string(rest) + "ms";
  return out;
}

}  // namespace spotfit::base

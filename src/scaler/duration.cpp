#include "scaler/duration.hpp"

#include <cctype>
#include <cstdint>
#include <limits>

namespace spotfit::scaler {

Result<Duration> parseDuration(std::string_view text) {
  auto bad = [&](const char* why) {
    return makeError("invalid", "invalid duration \"" + std::string(text) + "\": " + why);
  };
  if (text.empty()) return bad("empty");
  if (text == "0") return Duration{0};
  // Work in microseconds-free integer millis; fractions are kept to millisecond precision.
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max() / 4;
  int64_t totalMs = 0;
  size_t i = 0;
  while (i < text.size()) {
    if (!std::isdigit(static_cast<unsigned char>(text[i])) && text[i] != '.') return bad("expected a number");
    int64_t whole = 0;
    bool digits = false;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
      const int digit = text[i] - '0';
      if (whole > (kMax - digit) / 10) return bad("too large");
      whole = whole * 10 + digit;
      digits = true;
      ++i;
    }
    int64_t frac = 0, fracScale = 1;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) {
        if (fracScale < 1000000) {
          frac = frac * 10 + (text[i] - '0');
          fracScale *= 10;
        }
        digits = true;
        ++i;
      }
    }
    if (!digits) return bad("expected a number");
    size_t unitStart = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unitStart, i - unitStart);
    int64_t unitMs = 0;
    if (unit == "ms") unitMs = 1;
    else if (unit == "s") unitMs = 1000;
    else if (unit == "m") unitMs = 60 * 1000;
    else if (unit == "h") unitMs = 3600 * 1000;
    else if (unit.empty()) return bad("missing unit (ms, s, m or h)");
    else return bad("unknown unit");
    if (whole > kMax / unitMs) return bad("too large");
    totalMs += whole * unitMs + frac * unitMs / fracScale;
    if (totalMs > kMax) return bad("too large");
  }
  return Duration{totalMs};
}

std::string formatDuration(Duration d) {
  int64_t ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  if (ms < 0) {
    out = "-";
    ms = -ms;
  }
  int64_t h = ms / 3600000, m = ms / 60000 % 60, s = ms / 1000 % 60, rest = ms % 1000;
  if (h) out += std::to_string(h) + "h";
  if (m) out += std::to_string(m) + "m";
  if (s) out += std::to_string(s) + "s";
  if (rest) out += std::to_string(rest) + "ms";
  return out;
}

}  // namespace spotfit::scaler

#include "placement/quantity.hpp"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace spotfit::placement {
namespace {

constexpr size_t kMaxQuantityLength = 256;  // longer input is garbage, not a quantity

struct Parts {
  bool negative = false;
  std::string_view intDigits;
  std::string_view fracDigits;
  int64_t exponent10 = 0;  // decimal exponent from the suffix
  int binaryExponent = 0;  // power of two from Ki..Ei
  QuantityFormat format = QuantityFormat::DecimalSI;
};

bool isDigit(char c) {
  return c >= '0' && c <= '9';
}

// Built with append: GCC 12 at -O3 reports a false -Wrestrict on "literal" + std::string.
std::string quoted(std::string_view text) {
  std::string s = "quantity \"";
  s.append(text.substr(0, 64));
  s += '"';
  return s;
}

Error invalid(std::string_view text, std::string_view why) {
  std::string m = quoted(text);
  m += ": ";
  m.append(why);
  return makeError("invalid", std::move(m));
}

// Mirrors parseQuantityString + the suffixer of quantity.go.
Result<Parts> split(std::string_view text) {
  if (text.empty()) return invalid(text, "empty");
  if (text.size() > kMaxQuantityLength) return invalid(text, "too long");
  Parts p;
  size_t pos = 0;
  if (text[0] == '-' || text[0] == '+') {
    p.negative = text[0] == '-';
    ++pos;
  }
  size_t start = pos;
  while (pos < text.size() && isDigit(text[pos])) ++pos;
  p.intDigits = text.substr(start, pos - start);
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t fs = pos;
    while (pos < text.size() && isDigit(text[pos])) ++pos;
    p.fracDigits = text.substr(fs, pos - fs);
  }
  if (p.intDigits.empty() && p.fracDigits.empty()) return invalid(text, "no digits");
  std::string_view suffix = text.substr(pos);
  if (suffix.empty()) return p;
  if (suffix.size() == 1) {
    switch (suffix[0]) {
      case 'n':
        p.exponent10 = -9;
        return p;
      case 'u':
        p.exponent10 = -6;
        return p;
      case 'm':
        p.exponent10 = -3;
        return p;
      case 'k':
        p.exponent10 = 3;
        return p;
      case 'M':
        p.exponent10 = 6;
        return p;
      case 'G':
        p.exponent10 = 9;
        return p;
      case 'T':
        p.exponent10 = 12;
        return p;
      case 'P':
        p.exponent10 = 15;
        return p;
      case 'E':
        p.exponent10 = 18;
        return p;
      default:
        return invalid(text, "unknown suffix");
    }
  }
  if (suffix.size() == 2 && suffix[1] == 'i') {
    p.format = QuantityFormat::BinarySI;
    switch (suffix[0]) {
      case 'K':
        p.binaryExponent = 10;
        return p;
      case 'M':
        p.binaryExponent = 20;
        return p;
      case 'G':
        p.binaryExponent = 30;
        return p;
      case 'T':
        p.binaryExponent = 40;
        return p;
      case 'P':
        p.binaryExponent = 50;
        return p;
      case 'E':
        p.binaryExponent = 60;
        return p;
      default:
        return invalid(text, "unknown suffix");
    }
  }
  if (suffix[0] == 'e' || suffix[0] == 'E') {
    size_t i = 1;
    bool negExp = false;
    if (suffix[i] == '+' || suffix[i] == '-') {
      negExp = suffix[i] == '-';
      ++i;
    }
    if (i >= suffix.size()) return invalid(text, "exponent has no digits");
    int64_t e = 0;
    for (; i < suffix.size(); ++i) {
      if (!isDigit(suffix[i])) return invalid(text, "unknown suffix");
      // Saturate: anything beyond a million orders of magnitude is overflow or rounds to the minimum.
      if (e < 1000000) e = e * 10 + (suffix[i] - '0');
    }
    p.exponent10 = negExp ? -e : e;
    p.format = QuantityFormat::DecimalExponent;
    return p;
  }
  return invalid(text, "unknown suffix");
}

// Minimal unsigned big integer: little-endian base 2^32 limbs. Enough for exact ceil(x · 10^s).
class BigUint {
 public:
  bool isZero() const { return limbs_.empty(); }
  void mulAdd(uint32_t mul, uint32_t add) {
    uint64_t carry = add;
    for (auto& limb : limbs_) {
      uint64_t v = uint64_t{limb} * mul + carry;
      limb = static_cast<uint32_t>(v);
      carry = v >> 32;
    }
    if (carry != 0) limbs_.push_back(static_cast<uint32_t>(carry));
  }
  // Divides in place, returns the remainder.
  uint32_t div(uint32_t d) {
    uint64_t rem = 0;
    for (size_t i = limbs_.size(); i-- > 0;) {
      uint64_t cur = (rem << 32) | limbs_[i];
      limbs_[i] = static_cast<uint32_t>(cur / d);
      rem = cur % d;
    }
    while (!limbs_.empty() && limbs_.back() == 0) limbs_.pop_back();
    return static_cast<uint32_t>(rem);
  }
  size_t limbCount() const { return limbs_.size(); }
  uint64_t low64() const {
    uint64_t v = 0;
    if (!limbs_.empty()) v = limbs_[0];
    if (limbs_.size() > 1) v |= uint64_t{limbs_[1]} << 32;
    return v;
  }

 private:
  std::vector<uint32_t> limbs_;
};

// ceil-away-from-zero of value × 10^extraScale, as int64.
Result<int64_t> scaled(std::string_view text, const Parts& p, int extraScale) {
  BigUint n;
  size_t significant = 0;
  for (std::string_view digits : {p.intDigits, p.fracDigits}) {
    for (char c : digits) {
      if (n.isZero() && c == '0') continue;
      n.mulAdd(10, static_cast<uint32_t>(c - '0'));
      ++significant;
    }
  }
  if (n.isZero()) return int64_t{0};
  int64_t k = p.exponent10 - static_cast<int64_t>(p.fracDigits.size()) + extraScale;
  auto overflow = [&] {
    std::string m = quoted(text);
    m += " does not fit in 64 bits";
    return makeError("overflow", std::move(m));
  };
  if (k > 0 && k + static_cast<int64_t>(significant) > 40) return overflow();
  for (int i = 0; i < p.binaryExponent; ++i) n.mulAdd(2, 0);
  bool inexact = false;
  if (k > 0) {
    for (int64_t i = 0; i < k; ++i) n.mulAdd(10, 0);
  } else if (k < 0) {
    // n < 10^significant · 2^60 < 10^(significant+19): dividing by more than that leaves a fraction of 1.
    if (-k > static_cast<int64_t>(significant) + 19) return p.negative ? int64_t{-1} : int64_t{1};
    for (int64_t i = 0; i < -k; ++i) inexact = n.div(10) != 0 || inexact;
  }
  if (n.limbCount() > 2) return overflow();
  uint64_t mag = n.low64();
  if (inexact) {
    if (mag == std::numeric_limits<uint64_t>::max()) return overflow();
    ++mag;  // round away from zero, as Quantity.MilliValue/Value do
  }
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (p.negative) {
    if (mag > kMax + 1) return overflow();
    if (mag == kMax + 1) return std::numeric_limits<int64_t>::min();
    return -static_cast<int64_t>(mag);
  }
  if (mag > kMax) return overflow();
  return static_cast<int64_t>(mag);
}

// (value · 10^9 rounded up) mod 10^9, for a value scaled() accepted.
int64_t nanoFraction(const Parts& p) {
  BigUint n;
  size_t significant = 0;
  for (std::string_view digits : {p.intDigits, p.fracDigits}) {
    for (char c : digits) {
      if (n.isZero() && c == '0') continue;
      n.mulAdd(10, static_cast<uint32_t>(c - '0'));
      ++significant;
    }
  }
  if (n.isZero()) return 0;
  const int64_t k = p.exponent10 - static_cast<int64_t>(p.fracDigits.size()) + 9;
  for (int i = 0; i < p.binaryExponent; ++i) n.mulAdd(2, 0);
  bool inexact = false;
  if (k >= 0) {
    for (int64_t i = 0; i < k; ++i) n.mulAdd(10, 0);
  } else if (-k > static_cast<int64_t>(significant) + 19) {
    return 1;  // far below a nano: rounds up to one
  } else {
    for (int64_t i = 0; i < -k; ++i) inexact = n.div(10) != 0 || inexact;
  }
  uint32_t frac = n.div(1'000'000'000);
  if (inexact) frac = (frac + 1) % 1'000'000'000;
  return frac;
}

// Kubernetes AsCanonicalBytes: strip factors of ten, then bring the exponent down to a multiple of 3.
void canonicalDecimal(int64_t mantissa, int exponent, int64_t& outMantissa, int& outExponent) {
  if (mantissa == 0) {
    outMantissa = 0;
    outExponent = 0;
    return;
  }
  while (mantissa % 10 == 0) {
    mantissa /= 10;
    ++exponent;
  }
  int r = ((exponent % 3) + 3) % 3;
  for (int i = 0; i < r; ++i) mantissa *= 10;  // never overflows: we only restore stripped zeros
  outMantissa = mantissa;
  outExponent = exponent - r;
}

std::string decimalSuffix(int exponent, QuantityFormat format) {
  if (exponent == 0) return "";
  if (format == QuantityFormat::DecimalSI) {
    switch (exponent) {
      case -9:
        return "n";
      case -6:
        return "u";
      case -3:
        return "m";
      case 3:
        return "k";
      case 6:
        return "M";
      case 9:
        return "G";
      case 12:
        return "T";
      case 15:
        return "P";
      case 18:
        return "E";
      default:
        break;
    }
  }
  std::string s = "e";
  s += std::to_string(exponent);
  return s;
}

std::string formatScaled(int64_t mantissa, int exponent, QuantityFormat format) {
  int64_t m = 0;
  int e = 0;
  canonicalDecimal(mantissa, exponent, m, e);
  std::string s = std::to_string(m);
  s += decimalSuffix(e, format);
  return s;
}

}  // namespace

Result<ParsedQuantity> parseQuantity(std::string_view text) {
  auto parts = split(text);
  if (!parts) return parts.error();
  auto milli = scaled(text, *parts, 3);
  if (!milli) return milli.error();
  return ParsedQuantity{*milli, parts->format};
}

Result<int64_t> parseMilli(std::string_view text) {
  auto parts = split(text);
  if (!parts) return parts.error();
  return scaled(text, *parts, 3);
}

Result<int64_t> parseNanoFraction(std::string_view text) {
  auto parts = split(text);
  if (!parts) return parts.error();
  if (auto milli = scaled(text, *parts, 3); !milli) return milli.error();
  return nanoFraction(*parts);
}

Result<int64_t> parseValue(std::string_view text) {
  auto parts = split(text);
  if (!parts) return parts.error();
  return scaled(text, *parts, 0);
}

std::string formatMilliCpu(int64_t milli) {
  return formatScaled(milli, -3, QuantityFormat::DecimalSI);
}

std::string formatDecimal(int64_t value) {
  return formatScaled(value, 0, QuantityFormat::DecimalSI);
}

std::string formatExponent(int64_t value) {
  return formatScaled(value, 0, QuantityFormat::DecimalExponent);
}

std::string formatBytes(int64_t bytes) {
  if (bytes > -1024 && bytes < 1024) return formatDecimal(bytes);
  int64_t m = bytes;
  int e = 0;
  static constexpr const char* kSuffix[] = {"", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"};
  while (e < 6 && m % 1024 == 0) {
    m /= 1024;
    ++e;
  }
  std::string s = std::to_string(m);
  s += kSuffix[e];
  return s;
}

std::string formatQuantity(const ParsedQuantity& q) {
  switch (q.format) {
    case QuantityFormat::BinarySI:
      // Kubernetes falls back to DecimalSI when the value is not a whole number (no precision loss).
      if (q.milli % 1000 == 0) return formatBytes(q.milli / 1000);
      return formatMilliCpu(q.milli);
    case QuantityFormat::DecimalExponent:
      return formatScaled(q.milli, -3, QuantityFormat::DecimalExponent);
    case QuantityFormat::DecimalSI:
      break;
  }
  return formatMilliCpu(q.milli);
}

Result<std::string> canonicalize(std::string_view text) {
  auto q = parseQuantity(text);
  if (!q) return q.error();
  return formatQuantity(*q);
}

}  // namespace spotfit::placement

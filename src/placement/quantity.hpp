#pragma once
// Kubernetes resource.Quantity (k8s.io/apimachinery/pkg/api/resource) parsed and formatted exactly.
//
// Grammar (as quantity.go): [+-] digits [. digits] suffix, suffix one of
//   ""  n u m k M G T P E        (decimal SI)
//   Ki Mi Gi Ti Pi Ei            (binary SI)
//   e<int> | E<int>              (decimal exponent, e.g. 1e3, 5E-2)
// Values are exact (no floating point). Where Kubernetes would silently clamp a value above 2^63-1,
// spotfit returns an Error instead: an absurd request is a bug to report, not a number to invent.

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace spotfit::placement {

// The three Kubernetes formats; the suffix of the input decides which one a quantity keeps.
enum class QuantityFormat { DecimalSI, BinarySI, DecimalExponent };

struct ParsedQuantity {
  int64_t milli = 0;  // value × 1000, rounded away from zero (Quantity.MilliValue)
  QuantityFormat format = QuantityFormat::DecimalSI;
};

// Value × 1000 rounded up (away from zero) like Quantity.MilliValue(): "100m" → 100, "1.5" → 1500,
// "1n" → 1. Error (code "invalid") on bad syntax, (code "overflow") when it does not fit in int64.
Result<int64_t> parseMilli(std::string_view text);

// Value rounded up (away from zero) like Quantity.Value(): "1Ki" → 1024, "100m" → 1, "1.5Gi" → 1610612736.
Result<int64_t> parseValue(std::string_view text);

// The fractional part of the value in billionths, after rounding up to 1e-9 as Kubernetes does when it
// parses a quantity: "1.5" → 500000000, "100m" → 100000000, "1n" → 1, "2" → 0, "1Ki" → 0.
// Errors as parseMilli.
Result<int64_t> parseNanoFraction(std::string_view text);

// Milli value plus the format implied by the suffix (needed to canonicalize like Kubernetes does).
Result<ParsedQuantity> parseQuantity(std::string_view text);

// Canonical Kubernetes strings (Quantity.String()).
// DecimalSI from a milli value: 1500 → "1500m", 2000 → "2", 2000000 → "2k", 0 → "0".
std::string formatMilliCpu(int64_t milli);
// DecimalSI from a whole value: 1000 → "1k", 1500 → "1500", 110 → "110".
std::string formatDecimal(int64_t value);
// BinarySI from bytes: 1073741824 → "1Gi", 1536·2^20 → "1536Mi", 1000 → "1k" (|v| < 1024 is shown as
// DecimalSI, as Kubernetes does), 1500 → "1500".
std::string formatBytes(int64_t bytes);
// DecimalExponent from a whole value: 1000 → "1e3", 1500 → "1500".
std::string formatExponent(int64_t value);

// A parsed quantity printed the way Kubernetes prints a Quantity of that value and format
// (resource.NewMilliQuantity(milli, format).String()).
std::string formatQuantity(const ParsedQuantity& q);

// Re-render any quantity the way Kubernetes would print it ("1.5Gi" → "1536Mi", "0.1" → "100m",
// "1000Mi" → "1000Mi", "1e3" → "1e3"). Precision below one milli is rounded up to one milli.
Result<std::string> canonicalize(std::string_view text);

}  // namespace spotfit::placement

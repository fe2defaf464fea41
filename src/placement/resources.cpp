#include "placement/resources.hpp"

#include <algorithm>
#include <limits>

#include "placement/quantity.hpp"

namespace spotfit::placement {
namespace {

using Extended = std::vector<std::pair<std::string, int64_t>>;

// Merges b into a with op, keeping the sorted, no-zero invariant.
template <typename Op>
void mergeExtended(Extended& a, const Extended& b, Op op) {
  if (b.empty()) return;
  Extended out;
  out.reserve(a.size() + b.size());
  size_t i = 0;
  size_t j = 0;
  while (i < a.size() || j < b.size()) {
    if (j == b.size() || (i < a.size() && a[i].first < b[j].first)) {
      out.push_back(std::move(a[i++]));
    } else if (i == a.size() || b[j].first < a[i].first) {
      int64_t v = op(0, b[j].second);
      if (v != 0) out.emplace_back(b[j].first, v);
      ++j;
    } else {
      int64_t v = op(a[i].second, b[j].second);
      if (v != 0) out.emplace_back(std::move(a[i].first), v);
      ++i;
      ++j;
    }
  }
  a = std::move(out);
}

}  // namespace

bool isGpuResource(std::string_view name) {
  return name == "nvidia.com/gpu" || name == "amd.com/gpu" || name.starts_with("nvidia.com/gpu.") ||
         name.starts_with("nvidia.com/mig-");
}

Result<Resources> Resources::fromMap(const std::map<std::string, std::string>& list) {
  Resources r;
  for (const auto& [name, text] : list) {
    if (name.empty()) return makeError("invalid", "resource with an empty name");
    Result<int64_t> v = name == kResourceCpu ? parseMilli(text) : parseValue(text);
    if (!v) return makeError(v.error().code, "resource " + name + ": " + v.error().message);
    if (*v < 0) return makeError("invalid", "resource " + name + ": negative quantity \"" + text + "\"");
    r.set(name, *v);
  }
  return r;
}

Result<Resources> Resources::roundingFromMap(const std::map<std::string, std::string>& list) {
  Resources r;
  for (const auto& [name, text] : list) {
    // Only a decimal point, an exponent or a sub-unit suffix (m, u, n) can make a quantity fractional:
    // "2", "500Mi", "1k" skip the second parse (callers pass lists fromMap accepted).
    if (text.find_first_of(".eEmun") == std::string::npos) continue;
    auto nanos = parseNanoFraction(text);  // the fraction of a unit, rounded up to 1e-9
    if (!nanos) return makeError(nanos.error().code, "resource " + name + ": " + nanos.error().message);
    // cpu is counted in millicores: the fraction of a millicore is nanos mod 10^6, in units of 10^-6.
    const int64_t frac = name == kResourceCpu ? *nanos % 1'000'000 * 1000 : *nanos;
    if (frac != 0) r.set(name, 1'000'000'000 - frac);
  }
  return r;
}

std::map<std::string, std::string> Resources::toMap() const {
  std::map<std::string, std::string> m;
  if (cpuMilli != 0) m["cpu"] = formatMilliCpu(cpuMilli);
  if (memory != 0) m["memory"] = formatBytes(memory);
  if (ephemeralStorage != 0) m["ephemeral-storage"] = formatBytes(ephemeralStorage);
  if (pods != 0) m["pods"] = formatDecimal(pods);
  for (const auto& [name, v] : extended) {
    m[name] = name.starts_with("hugepages-") ? formatBytes(v) : formatDecimal(v);
  }
  return m;
}

int64_t Resources::get(std::string_view name) const {
  if (name == kResourceCpu) return cpuMilli;
  if (name == kResourceMemory) return memory;
  if (name == kResourceEphemeralStorage) return ephemeralStorage;
  if (name == kResourcePods) return pods;
  auto it = std::lower_bound(extended.begin(), extended.end(), name,
                             [](const auto& e, std::string_view n) { return e.first < n; });
  return it != extended.end() && it->first == name ? it->second : 0;
}

void Resources::set(std::string_view name, int64_t amount) {
  if (name == kResourceCpu) {
    cpuMilli = amount;
  } else if (name == kResourceMemory) {
    memory = amount;
  } else if (name == kResourceEphemeralStorage) {
    ephemeralStorage = amount;
  } else if (name == kResourcePods) {
    pods = amount;
  } else {
    auto it = std::lower_bound(extended.begin(), extended.end(), name,
                               [](const auto& e, std::string_view n) { return e.first < n; });
    if (it != extended.end() && it->first == name) {
      if (amount == 0) {
        extended.erase(it);
      } else {
        it->second = amount;
      }
    } else if (amount != 0) {
      extended.emplace(it, std::string(name), amount);
    }
  }
}

int64_t Resources::gpus() const {
  int64_t n = 0;
  for (const auto& [name, v] : extended) {
    if (isGpuResource(name)) n += v;
  }
  return n;
}

bool Resources::isZero() const {
  return cpuMilli == 0 && memory == 0 && ephemeralStorage == 0 && pods == 0 && extended.empty();
}

namespace {

// Sums saturate instead of overflowing: quantities come from untrusted objects (a pod may ask for
// "9E" of memory), and a wrapped sum would turn an impossible request into a tiny one.
int64_t saturatingAdd(int64_t a, int64_t b) {
  int64_t r = 0;
  if (!__builtin_add_overflow(a, b, &r)) return r;
  return b > 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

int64_t saturatingSub(int64_t a, int64_t b) {
  int64_t r = 0;
  if (!__builtin_sub_overflow(a, b, &r)) return r;
  return b < 0 ? std::numeric_limits<int64_t>::max() : std::numeric_limits<int64_t>::min();
}

}  // namespace

Resources& Resources::operator+=(const Resources& o) {
  cpuMilli = saturatingAdd(cpuMilli, o.cpuMilli);
  memory = saturatingAdd(memory, o.memory);
  ephemeralStorage = saturatingAdd(ephemeralStorage, o.ephemeralStorage);
  pods = saturatingAdd(pods, o.pods);
  mergeExtended(extended, o.extended, saturatingAdd);
  return *this;
}

Resources& Resources::operator-=(const Resources& o) {
  cpuMilli = saturatingSub(cpuMilli, o.cpuMilli);
  memory = saturatingSub(memory, o.memory);
  ephemeralStorage = saturatingSub(ephemeralStorage, o.ephemeralStorage);
  pods = saturatingSub(pods, o.pods);
  mergeExtended(extended, o.extended, saturatingSub);
  return *this;
}

Resources Resources::max(const Resources& a, const Resources& b) {
  Resources r = a;
  r.cpuMilli = std::max(a.cpuMilli, b.cpuMilli);
  r.memory = std::max(a.memory, b.memory);
  r.ephemeralStorage = std::max(a.ephemeralStorage, b.ephemeralStorage);
  r.pods = std::max(a.pods, b.pods);
  mergeExtended(r.extended, b.extended, [](int64_t x, int64_t y) { return std::max(x, y); });
  return r;
}

bool lessOrEqual(const Resources& a, const Resources& b) {
  if (a.cpuMilli > b.cpuMilli || a.memory > b.memory || a.ephemeralStorage > b.ephemeralStorage || a.pods > b.pods) {
    return false;
  }
  for (const auto& [name, v] : a.extended) {
    if (v > b.get(name)) return false;
  }
  // Entries only in b: a has 0 there, so b must not be negative.
  for (const auto& [name, v] : b.extended) {
    if (v < 0 && a.get(name) > v) return false;
  }
  return true;
}

bool fits(const Resources& req, const Resources& free) {
  if (req.cpuMilli > 0 && req.cpuMilli > free.cpuMilli) return false;
  if (req.memory > 0 && req.memory > free.memory) return false;
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > free.ephemeralStorage) return false;
  if (req.pods > 0 && req.pods > free.pods) return false;
  for (const auto& [name, v] : req.extended) {
    if (v > 0 && v > free.get(name)) return false;
  }
  return true;
}

bool fits(const Resources& req, const Resources& alloc, const Resources& used) {
  if (req.cpuMilli > 0 && req.cpuMilli > alloc.cpuMilli - used.cpuMilli) return false;
  if (req.memory > 0 && req.memory > alloc.memory - used.memory) return false;
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > alloc.ephemeralStorage - used.ephemeralStorage) return false;
  if (req.pods > 0 && req.pods > alloc.pods - used.pods) return false;
  for (const auto& [name, v] : req.extended) {
    if (v > 0 && v > alloc.get(name) - used.get(name)) return false;
  }
  return true;
}

std::vector<std::string> insufficient(const Resources& req, const Resources& alloc, const Resources& used) {
  return insufficient(req, alloc - used);
}

std::vector<std::string> insufficient(const Resources& req, const Resources& free) {
  std::vector<std::string> out;
  if (req.cpuMilli > 0 && req.cpuMilli > free.cpuMilli) out.emplace_back(kResourceCpu);
  if (req.memory > 0 && req.memory > free.memory) out.emplace_back(kResourceMemory);
  if (req.ephemeralStorage > 0 && req.ephemeralStorage > free.ephemeralStorage) {
    out.emplace_back(kResourceEphemeralStorage);
  }
  if (req.pods > 0 && req.pods > free.pods) out.emplace_back(kResourcePods);
  for (const auto& [name, v] : req.extended) {
    if (v > 0 && v > free.get(name)) out.push_back(name);
  }
  return out;
}

std::string toString(const Resources& r) {
  std::string s;
  for (const auto& [name, v] : r.toMap()) {
    if (!s.empty()) s += ", ";
    s += name + "=" + v;
  }
  return s.empty() ? "none" : s;
}

}  // namespace spotfit::placement

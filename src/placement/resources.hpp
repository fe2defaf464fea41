#pragma once
// A resource vector: the four built-in Kubernetes resources as fields, everything else (extended
// resources such as nvidia.com/gpu, MIG profiles nvidia.com/mig-1g.5gb, hugepages-2Mi, vendor/x) by name.

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

namespace spotfit::placement {

inline constexpr std::string_view kResourceCpu = "cpu";
inline constexpr std::string_view kResourceMemory = "memory";
inline constexpr std::string_view kResourceEphemeralStorage = "ephemeral-storage";
inline constexpr std::string_view kResourcePods = "pods";
inline constexpr std::string_view kResourceNvidiaGpu = "nvidia.com/gpu";

// Whole GPUs or GPU slices: nvidia.com/gpu, nvidia.com/gpu.* (time-sliced), amd.com/gpu, nvidia.com/mig-*. Used for
// scarce-resource avoidance and GPU bin-packing.
bool isGpuResource(std::string_view name);

struct Resources {
  int64_t cpuMilli = 0;          // "cpu" in millicores
  int64_t memory = 0;            // bytes
  int64_t ephemeralStorage = 0;  // bytes
  int64_t pods = 0;              // pod slots
  // Extended resources, sorted by name, no zero entries (the invariant all operations keep).
  std::vector<std::pair<std::string, int64_t>> extended;

  // Builds from a Kubernetes ResourceList ({"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"}).
  // cpu is read with MilliValue, everything else with Value (both round up, as Kubernetes does).
  // Negative values and unparsable quantities are errors naming the resource.
  static Result<Resources> fromMap(const std::map<std::string, std::string>& list);
  // What fromMap's rounding up adds to each resource, in billionths of its unit (millicores for cpu, whole
  // units otherwise): "100.5m" cpu → 500000000, "0.1Gi" memory → 600000000, whole quantities → 0.
  static Result<Resources> roundingFromMap(const std::map<std::string, std::string>& list);
  // The inverse: canonical Kubernetes quantity strings, zero entries omitted.
  std::map<std::string, std::string> toMap() const;

  // Amount by resource name (cpu in millicores). Unknown names are 0.
  int64_t get(std::string_view name) const;
  void set(std::string_view name, int64_t amount);
  int64_t gpus() const;  // sum over isGpuResource names

  bool isZero() const;

  Resources& operator+=(const Resources& other);
  Resources& operator-=(const Resources& other);
  friend Resources operator+(Resources a, const Resources& b) { return a += b; }
  friend Resources operator-(Resources a, const Resources& b) { return a -= b; }
  // Per-resource max (init containers, "largest of" rules).
  static Resources max(const Resources& a, const Resources& b);

  friend bool operator==(const Resources& a, const Resources& b) = default;
};

// Every resource of a is ≤ the same resource of b (missing entries are 0).
bool lessOrEqual(const Resources& a, const Resources& b);

// kube-scheduler NodeResourcesFit: every resource the request asks for (> 0) is available in free.
bool fits(const Resources& request, const Resources& free);

// Same as fits(request, allocatable - used) without building the difference (the hot path of fit()).
bool fits(const Resources& request, const Resources& allocatable, const Resources& used);

// Names of the resources that do not fit (request > 0 and request > free), in a stable order
// (cpu, memory, ephemeral-storage, pods, then extended by name). Empty when fits() is true.
std::vector<std::string> insufficient(const Resources& request, const Resources& free);
std::vector<std::string> insufficient(const Resources& request, const Resources& allocatable, const Resources& used);

// "cpu=500m, memory=1Gi, nvidia.com/gpu=1" for messages and logs.
std::string toString(const Resources& r);

}  // namespace spotfit::placement

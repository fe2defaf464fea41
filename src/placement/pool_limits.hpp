#pragma once
// Internal to src/placement: what NodePool::limits means. The scale-up solver, the baseline planners and
// consolidation all ask it, so they agree on when a pool is full. Inline because the solver asks it for
// every node it considers opening.

#include <optional>
#include <string_view>

#include "placement/resources.hpp"

namespace spotfit::placement {

// The first resource whose usage goes over its limit, in the order cpu, memory, ephemeral-storage, pods,
// then extended resources by name; nullopt when none does. A zero limit means unlimited. The view points
// at a literal or at a name inside `limits`.
inline std::optional<std::string_view> exceededLimit(const Resources& usage, const Resources& limits) {
  if (limits.cpuMilli > 0 && usage.cpuMilli > limits.cpuMilli) return kResourceCpu;
  if (limits.memory > 0 && usage.memory > limits.memory) return kResourceMemory;
  if (limits.ephemeralStorage > 0 && usage.ephemeralStorage > limits.ephemeralStorage) return kResourceEphemeralStorage;
  if (limits.pods > 0 && usage.pods > limits.pods) return kResourcePods;
  for (const auto& [name, v] : limits.extended) {
    if (v > 0 && usage.get(name) > v) return std::string_view(name);
  }
  return std::nullopt;
}

inline bool withinLimits(const Resources& usage, const Resources& limits) {
  return !exceededLimit(usage, limits).has_value();
}

}  // namespace spotfit::placement

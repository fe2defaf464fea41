#pragma once
// Test workloads are one YAML text and its variants: `edited` names the edit instead of counting characters
// for std::string::replace, and fails the test if the text to replace is not there.

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "sim/engine.hpp"
#include "sim/workload.hpp"

namespace spotfit::sim::testing {

// yaml with its first `from` replaced by `to`.
inline std::string edited(std::string yaml, std::string_view from, std::string_view to) {
  size_t at = yaml.find(from);
  if (at == std::string::npos) {
    ADD_FAILURE() << "test workload has no '" << from << "' to replace";
    return yaml;
  }
  return yaml.replace(at, from.size(), to);
}

// yaml with `text` inserted before the first `before`.
inline std::string insertedBefore(const std::string& yaml, std::string_view before, std::string_view text) {
  return edited(yaml, before, std::string(text) + std::string(before));
}

// One strategy over a workload (parsed from `yaml`), checking that both parse.
inline StrategyResult run(const Workload& w, const std::string& strategy, uint64_t seed = 1) {
  auto s = strategyByName(strategy);
  EXPECT_TRUE(s.ok()) << strategy;
  return simulate(w, *s, SimulationOptions{seed});
}

inline StrategyResult run(const std::string& yaml, const std::string& strategy, uint64_t seed = 1) {
  auto w = parseWorkload(yaml, "test.yaml");
  EXPECT_TRUE(w.ok()) << (w.ok() ? "" : w.error().message);
  if (!w.ok()) return {};
  return run(*w, strategy, seed);
}

}  // namespace spotfit::sim::testing

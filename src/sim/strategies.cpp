#include <algorithm>

#include "sim/engine.hpp"

namespace spotfit::sim {

const std::vector<StrategyConfig>& builtinStrategies() {
  static const std::vector<StrategyConfig> s = {
      // name            spot   hooks  right  pack   scaler
      {"baseline", false, false, false, false, false},
      {"spot-only", true, true, false, false, false},
      {"binpack-only", false, false, false, true, true},
      {"rightsize-only", false, false, true, false, false},
      {"spotfit", true, true, true, true, true},
      {"spotfit-moves", true, true, true, true, true, true},
      {"spotfit-risk", true, true, true, true, true, false, true},
      // name           spot   hooks  right  pack   scaler moves  risk   karpenter do-not-disrupt
      {"karpenter", false, false, false, false, false, false, false, true, false},
      {"karpenter-dnd", false, false, false, false, false, false, false, true, true},
  };
  return s;
}

Result<StrategyConfig> strategyByName(const std::string& name) {
  for (const auto& s : builtinStrategies())
    if (s.name == name) return s;
  std::string list;
  for (const auto& s : builtinStrategies()) list += (list.empty() ? "" : ", ") + s.name;
  return makeError("invalid", "unknown strategy '" + name + "' (known: " + list + ")");
}

}  // namespace spotfit::sim

#pragma once
// Multi-node consolidation: several under-used nodes replaced by one new node through the scale-up solver
// (planScaleUp, the same code that plans new capacity), when the new node is cheaper than the nodes it
// replaces by at least minSavingsFraction. The caller creates the replacement first and drains the old
// nodes only once it is Ready.
//
// Candidates are the nodes planConsolidation could disrupt (in a known pool, not in flight or cordoned, no
// pod with do-not-disrupt, without a controller, with local storage or inter-pod constraints), of the
// requested capacity type, below utilizationThreshold (max of cpu, memory, GPU requested share), least used
// first. For k = 2 .. maxNodes the k least used are planned together on an empty cluster; the k with the
// largest saving whose pods all fit on a single new node wins. PodDisruptionBudgets must allow evicting all
// their pods, no pool may drop below minNodes, and the replacement's pool must have room under maxNodes
// and its limits (the old nodes still count until drained).

#include <optional>
#include <string>
#include <vector>

#include "placement/consolidation.hpp"

namespace spotfit::placement {

struct MergeOptions {
  double utilizationThreshold = 0.5;
  double minSavingsFraction = 0.1;           // the new node costs at most (1 - this) × the old nodes' sum
  size_t maxNodes = 8;                       // at most this many nodes merged at once
  std::optional<CapacityType> capacityType;  // only nodes of this capacity type (and the pools' offerings as given)
};

struct MergeAction {
  std::vector<std::string> nodes;  // the nodes to drain once the replacement is Ready
  std::vector<size_t> pods;        // indices into ConsolidationInput::pods: the pods that move
  std::string pool;
  std::string instanceType;
  CapacityType capacityType = CapacityType::OnDemand;
  double price = 0;           // of the replacement, USD/h
  double savingsPerHour = 0;  // the old nodes' prices minus the replacement's
  std::string reason;
};

std::optional<MergeAction> planMerge(const ConsolidationInput& input, const MergeOptions& options = {});

}  // namespace spotfit::placement

#pragma once
// Consolidation planning: which spotfit-managed nodes to remove or replace with a cheaper offering.
// Order (Karpenter's): empty nodes first, then under-used nodes whose pods all fit on the remaining
// capacity, then single-node replacement with a cheaper offering that holds all of the node's pods.
//
// Safety rules (a node is left alone, with the reason in `blocked`, when any applies):
//   - a pod on it has spotfit.io/do-not-disrupt (PodInfo::doNotDisrupt);
//   - a pod on it has no controller (nothing would recreate it), or local storage;
//   - a pod on it has inter-pod (anti-)affinity or topology spread (not simulated here);
//   - evicting its pods would exceed a PodDisruptionBudget's disruptionsAllowed (counted over the plan);
//   - removing it would take its pool below minNodes;
//   - the node is in flight, cordoned, or in no known pool.
// DaemonSet pods (ownerKind "DaemonSet") and mirror pods (ownerKind "Node") neither block nor move.

#include <string>
#include <vector>

#include "placement/model.hpp"
#include "placement/solver.hpp"

namespace spotfit::placement {

struct PodDisruptionBudget {
  std::string namespace_;
  std::string name;
  Labels matchLabels;              // empty: every pod of the namespace (policy/v1)
  int32_t disruptionsAllowed = 0;  // status.disruptionsAllowed
};

bool selects(const PodDisruptionBudget& pdb, const PodInfo& pod);

struct ConsolidationOptions {
  double utilizationThreshold = 0.5;       // max(cpu, memory, gpu) requested / allocatable below this is under-used
  double minReplaceSavingsFraction = 0.1;  // replace only when the new offering is this much cheaper
  bool allowReplace = true;
};

struct ConsolidationInput {
  std::vector<NodeInfo> nodes;  // with requested = sum of their pods' requests
  std::vector<PodInfo> pods;    // bound pods (nodeName set)
  std::vector<NodePool> pools;
  std::vector<PodDisruptionBudget> pdbs;
};

struct PodMove {
  size_t pod = 0;  // index into ConsolidationInput::pods
  std::string to;  // destination node; empty for a Replace action (the pods go to the replacement)
};

enum class ConsolidationKind { DeleteEmpty, DeleteUnderused, Replace };
std::string_view toString(ConsolidationKind kind);

struct ConsolidationAction {
  ConsolidationKind kind = ConsolidationKind::DeleteEmpty;
  std::string node;
  std::vector<PodMove> moves;
  // Replace only: the offering to create before draining `node`.
  std::string replacementPool;
  std::string replacementInstanceType;
  CapacityType replacementCapacityType = CapacityType::OnDemand;
  double replacementPrice = 0;
  double savingsPerHour = 0;
  std::string reason;  // one line for Events and logs
};

struct BlockedNode {
  std::string node;
  std::string reason;
};

struct ConsolidationPlan {
  std::vector<ConsolidationAction> actions;
  std::vector<BlockedNode> blocked;
  double savingsPerHour() const;
};

ConsolidationPlan planConsolidation(const ConsolidationInput& input, const ConsolidationOptions& options = {});

// Shared by consolidation and multi-node merges (merge.hpp).
bool podStaysWithNode(const PodInfo& p);       // DaemonSet and mirror pods go with the node
bool podActive(const PodInfo& p);              // Pending, Running or Unknown
double nodeRequestedShare(const NodeInfo& n);  // max of requested/allocatable over cpu, memory, GPUs

}  // namespace spotfit::placement

#pragma once
// How good a node is for a pod, 0..10 (the extender scale, MaxExtenderPriority = 10). Pure and
// deterministic: the same pod and node always give the same score.
//
// The score is a weighted mean of components, each 0..10, over the components that apply:
//   binPacking          MostAllocated over cpu, memory and GPUs after placing the pod
//                       (Σ w·min(used+req, alloc)/alloc / Σ w; a resource the node lacks is skipped)
//   gpuBestFit          GPU pods only: GPUs in use after placing / GPUs on the node (fill partly used
//                       GPU nodes first, keep whole GPU nodes free for big jobs)
//   scarceAvoidance     pods without GPUs only: 10 on a node without GPUs, 0 on a GPU node
//   price               nodes with a price only: 10·clamp(1 − price/listPrice/2, 0, 1), listPrice from the
//                       OpenCost on-demand weights (a list-priced node scores 5, a 70%-off spot node 8.5)
//   capacityPreference  pods with a preferred capacity type (or spot-preferred policy): 10 on that type

#include <cstddef>
#include <vector>

#include "placement/cost.hpp"
#include "placement/fit.hpp"
#include "placement/model.hpp"

namespace spotfit::placement {

struct ScoreWeights {
  // Resource weights inside bin-packing.
  double cpu = 1;
  double memory = 1;
  double gpu = 1;
  // Component weights.
  double binPacking = 4;
  double gpuBestFit = 3;
  double scarceAvoidance = 3;
  double price = 2;
  double capacityPreference = 1;
};

struct ScoreOptions {
  ScoreWeights weights;
  CostWeights referencePrices = kOnDemandCostWeights;  // listPrice for the price component
};

struct ScoreBreakdown {
  double binPacking = 0;
  double gpuBestFit = -1;          // -1: not applicable
  double scarceAvoidance = -1;     // -1: not applicable
  double price = -1;               // -1: not applicable
  double capacityPreference = -1;  // -1: not applicable
  double total = 0;                // weighted mean, 0..10
  int score = 0;                   // total rounded half up, 0..10
};

// Score of a node that fits (no fit check here). requests = podRequests(pod).
int score(const PodInfo& pod, const Resources& requests, const NodeInfo& node, const ScoreOptions& options = {});
ScoreBreakdown explainScore(const PodInfo& pod, const Resources& requests, const NodeInfo& node,
                            const ScoreOptions& options = {});

struct RankedNode {
  size_t index = 0;  // into the input vector
  int score = 0;
  double total = 0;
};

// Fit + score of one pod against many nodes: the nodes that fit, best first (total desc, then node
// name asc — stable and deterministic). Nodes that do not fit are left out.
std::vector<RankedNode> rankNodes(const PodInfo& pod, const std::vector<NodeInfo>& nodes,
                                  const ScoreOptions& options = {});

}  // namespace spotfit::placement

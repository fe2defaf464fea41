#pragma once
// Cost model (the OpenCost method): a node's hourly price is split into per-resource rates with
// relative weights, a pod costs its requests times those rates, idle is what no pod pays for.
//   ramRate = price / (gpus·gpuW/ramW + cores·cpuW/ramW + ramGiB), cpuRate = ramRate·cpuW/ramW,
//   gpuRate = ramRate·gpuW/ramW.

#include "placement/model.hpp"
#include "placement/resources.hpp"

namespace spotfit::placement {

// Relative prices (USD/hour): OpenCost's defaults. They double as list prices for nodes of unknown cost.
struct CostWeights {
  double cpuPerCoreHour = 0.031611;
  double ramPerGiBHour = 0.004237;
  double gpuPerHour = 0.95;
};
inline constexpr CostWeights kOnDemandCostWeights{0.031611, 0.004237, 0.95};
inline constexpr CostWeights kSpotCostWeights{0.006655, 0.000892, 0.95};

inline constexpr double kBytesPerGiB = 1024.0 * 1024.0 * 1024.0;

struct ResourceRates {
  double cpuPerCoreHour = 0;
  double ramPerGiBHour = 0;
  double gpuPerHour = 0;
};

// Splits hourlyPrice over capacity (cpu, memory, GPUs by Resources::gpus()). A node with no capacity or
// no price gets zero rates.
ResourceRates splitNodePrice(double hourlyPrice, const Resources& capacity, const CostWeights& weights = {});

// USD/hour a pod with these requests pays at these rates.
double costRate(const Resources& requests, const ResourceRates& rates);

// USD for a pod over `hours`: Σ max(request, usage) × rate × hours.
double podCost(const Resources& requests, const Resources& usage, const ResourceRates& rates, double hours);

// What the weights say a node with this capacity should cost per hour (the price-efficiency reference).
double listPrice(const Resources& capacity, const CostWeights& weights = kOnDemandCostWeights);

struct NodeCostSplit {
  double podsPerHour = 0;  // sum of the pods' cost rates (capped at the node price)
  double idlePerHour = 0;  // node price − pods
};
// How a node's price divides between its requested resources and idle capacity.
NodeCostSplit splitNodeCost(const NodeInfo& node, const CostWeights& weights = {});

// The hourly rate of one pod on a node (requests × that node's OpenCost rates).
double podCostRateOnNode(const Resources& podRequests, const NodeInfo& node, const CostWeights& weights = {});

}  // namespace spotfit::placement

#include "placement/cost.hpp"

#include <algorithm>

namespace spotfit::placement {

ResourceRates splitNodePrice(double hourlyPrice, const Resources& capacity, const CostWeights& w) {
  double cores = static_cast<double>(capacity.cpuMilli) / 1000.0;
  double gib = static_cast<double>(capacity.memory) / kBytesPerGiB;
  double gpus = static_cast<double>(capacity.gpus());
  if (hourlyPrice <= 0 || w.ramPerGiBHour <= 0) return {};
  double denom = gpus * w.gpuPerHour / w.ramPerGiBHour + cores * w.cpuPerCoreHour / w.ramPerGiBHour + gib;
  if (denom <= 0) return {};
  double ram = hourlyPrice / denom;
  return ResourceRates{ram * w.cpuPerCoreHour / w.ramPerGiBHour, ram, ram * w.gpuPerHour / w.ramPerGiBHour};
}

double costRate(const Resources& r, const ResourceRates& rates) {
  return static_cast<double>(r.cpuMilli) / 1000.0 * rates.cpuPerCoreHour +
         static_cast<double>(r.memory) / kBytesPerGiB * rates.ramPerGiBHour +
         static_cast<double>(r.gpus()) * rates.gpuPerHour;
}

double podCost(const Resources& requests, const Resources& usage, const ResourceRates& rates, double hours) {
  Resources charged = Resources::max(requests, usage);
  return costRate(charged, rates) * hours;
}

double listPrice(const Resources& capacity, const CostWeights& w) {
  return static_cast<double>(capacity.cpuMilli) / 1000.0 * w.cpuPerCoreHour +
         static_cast<double>(capacity.memory) / kBytesPerGiB * w.ramPerGiBHour +
         static_cast<double>(capacity.gpus()) * w.gpuPerHour;
}

NodeCostSplit splitNodeCost(const NodeInfo& node, const CostWeights& w) {
  ResourceRates rates = splitNodePrice(node.hourlyPrice, node.allocatable, w);
  double pods = std::min(costRate(node.requested, rates), std::max(node.hourlyPrice, 0.0));
  return NodeCostSplit{pods, std::max(node.hourlyPrice, 0.0) - pods};
}

double podCostRateOnNode(const Resources& podRequests, const NodeInfo& node, const CostWeights& w) {
  return costRate(podRequests, splitNodePrice(node.hourlyPrice, node.allocatable, w));
}

}  // namespace spotfit::placement

#include "placement/score.hpp"

#include <algorithm>
#include <cmath>

namespace spotfit::placement {
namespace {

double mostAllocated(int64_t used, int64_t req, int64_t alloc) {
  if (alloc <= 0) return 0;
  int64_t after = std::min(used + req, alloc);
  if (after < 0) after = 0;
  return 10.0 * static_cast<double>(after) / static_cast<double>(alloc);
}

}  // namespace

ScoreBreakdown explainScore(const PodInfo& pod, const Resources& req, const NodeInfo& node,
                            const ScoreOptions& options) {
  const ScoreWeights& w = options.weights;
  ScoreBreakdown b;
  const int64_t nodeGpus = node.allocatable.gpus();
  const int64_t podGpus = req.gpus();

  double sum = 0;
  double weight = 0;
  if (w.cpu > 0 && node.allocatable.cpuMilli > 0) {
    sum += w.cpu * mostAllocated(node.requested.cpuMilli, req.cpuMilli, node.allocatable.cpuMilli);
    weight += w.cpu;
  }
  if (w.memory > 0 && node.allocatable.memory > 0) {
    sum += w.memory * mostAllocated(node.requested.memory, req.memory, node.allocatable.memory);
    weight += w.memory;
  }
  if (w.gpu > 0 && nodeGpus > 0) {
    sum += w.gpu * mostAllocated(node.requested.gpus(), podGpus, nodeGpus);
    weight += w.gpu;
  }
  b.binPacking = weight > 0 ? sum / weight : 0;

  double total = w.binPacking * b.binPacking;
  double totalWeight = w.binPacking;
  auto add = [&](double& slot, double value, double componentWeight) {
    slot = value;
    total += componentWeight * value;
    totalWeight += componentWeight;
  };
  if (podGpus > 0 && nodeGpus > 0) {
    add(b.gpuBestFit, mostAllocated(node.requested.gpus(), podGpus, nodeGpus), w.gpuBestFit);
  }
  if (podGpus == 0) add(b.scarceAvoidance, nodeGpus > 0 ? 0.0 : 10.0, w.scarceAvoidance);
  if (node.hourlyPrice > 0) {
    double list = listPrice(node.allocatable, options.referencePrices);
    if (list > 0) {
      double index = node.hourlyPrice / list;
      add(b.price, 10.0 * std::clamp(1.0 - index / 2.0, 0.0, 1.0), w.price);
    }
  }
  std::optional<CapacityType> preferred = pod.preferredCapacityType;
  if (!preferred && pod.capacityPolicy == CapacityPolicy::SpotPreferred) preferred = CapacityType::Spot;
  if (preferred) add(b.capacityPreference, node.capacityType == *preferred ? 10.0 : 0.0, w.capacityPreference);

  b.total = totalWeight > 0 ? std::clamp(total / totalWeight, 0.0, 10.0) : 0.0;
  b.score = static_cast<int>(std::floor(b.total + 0.5));
  return b;
}

int score(const PodInfo& pod, const Resources& req, const NodeInfo& node, const ScoreOptions& options) {
  return explainScore(pod, req, node, options).score;
}

std::vector<RankedNode> rankNodes(const PodInfo& pod, const std::vector<NodeInfo>& nodes, const ScoreOptions& options) {
  const Resources req = podRequests(pod);
  std::vector<RankedNode> out;
  out.reserve(nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!fit(pod, req, nodes[i], {}).fits) continue;
    ScoreBreakdown b = explainScore(pod, req, nodes[i], options);
    out.push_back(RankedNode{i, b.score, b.total});
  }
  std::sort(out.begin(), out.end(), [&](const RankedNode& a, const RankedNode& b) {
    if (a.total != b.total) return a.total > b.total;
    return nodes[a.index].name < nodes[b.index].name;
  });
  return out;
}

}  // namespace spotfit::placement

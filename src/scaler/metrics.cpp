#include "scaler/metrics.hpp"

namespace spotfit::scaler {

std::vector<std::string> allMetricNames() {
  using namespace metric;
  return {kNodes,
          kDesiredNodes,
          kUnschedulablePods,
          kOldestUnschedulable,
          kPoolUtilization,
          kSpotCoolOff,
          kInFlightNodes,
          kDrains,
          kWorkflowCost,
          kWorkflowBudget,
          kNamespaceCost,
          kCostPerHour,
          kSpotSavings,
          kScaleUps,
          kScaleUpFailures,
          kScaleDowns,
          kScaleDownFailures,
          kInterruptions,
          kProviderRequests,
          kEvictions,
          kProviderLatency,
          kOwnerCost,
          kBudgetPolicySpent,
          kBudgetPolicyLimit,
          kUnpricedNodes,
          kPrewarmNodes};
}

void ScalerMetrics::observeLatency(MetricLabels labels, double seconds) {
  if (latencies_.size() >= 10000) latencies_.pop_front();  // bounded if nobody exports
  latencies_.push_back({std::move(labels), seconds});
}

std::vector<LatencyObservation> ScalerMetrics::takeLatencies() {
  std::vector<LatencyObservation> out(latencies_.begin(), latencies_.end());
  latencies_.clear();
  return out;
}

double ScalerMetrics::counter(const std::string& name, const MetricLabels& labels) const {
  auto f = counters_.find(name);
  if (f == counters_.end()) return 0;
  auto s = f->second.find(labels);
  return s == f->second.end() ? 0 : s->second;
}

double ScalerMetrics::gauge(const std::string& name, const MetricLabels& labels) const {
  auto f = gauges_.find(name);
  if (f == gauges_.end()) return 0;
  auto s = f->second.find(labels);
  return s == f->second.end() ? 0 : s->second;
}

double ScalerMetrics::counterSum(const std::string& name) const {
  auto f = counters_.find(name);
  double total = 0;
  if (f != counters_.end()) {
    for (const auto& [l, v] : f->second) total += v;
  }
  return total;
}

}  // namespace spotfit::scaler

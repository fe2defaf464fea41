#pragma once
// The scaler's metrics as plain values: scaler/ does not link prometheus-cpp (DESIGN: placement + kube
// only), so the serve wiring copies these into the registry after every reconcile. Names are the
// Prometheus names used by manifests/monitoring.

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace spotfit::scaler {

namespace metric {
// Gauges.
inline constexpr const char* kNodes = "spotfit_scaler_nodes";                 // pool, state, capacity_type
inline constexpr const char* kDesiredNodes = "spotfit_scaler_desired_nodes";  // pool
inline constexpr const char* kUnschedulablePods = "spotfit_scaler_unschedulable_pods";
inline constexpr const char* kOldestUnschedulable = "spotfit_scaler_oldest_unschedulable_pod_seconds";
inline constexpr const char* kPoolUtilization = "spotfit_scaler_pool_utilization";  // pool, resource
inline constexpr const char* kSpotCoolOff = "spotfit_scaler_spot_cooloff";          // pool (0/1)
inline constexpr const char* kInFlightNodes = "spotfit_scaler_inflight_nodes";
inline constexpr const char* kDrains = "spotfit_scaler_drains_in_progress";
inline constexpr const char* kWorkflowCost = "spotfit_workflow_cost_usd";      // namespace, workflow
inline constexpr const char* kWorkflowBudget = "spotfit_workflow_budget_usd";  // namespace, workflow
inline constexpr const char* kNamespaceCost = "spotfit_namespace_cost_usd";    // namespace
inline constexpr const char* kOwnerCost = "spotfit_owner_cost_usd";            // namespace, owner
// BudgetPolicies (docs/budgets.md), per valid policy: namespace, policy.
inline constexpr const char* kBudgetPolicySpent = "spotfit_budget_policy_spent_usd";
inline constexpr const char* kBudgetPolicyLimit = "spotfit_budget_policy_limit_usd";
inline constexpr const char* kUnpricedNodes = "spotfit_scaler_unpriced_nodes";
inline constexpr const char* kCostPerHour = "spotfit_cost_per_hour_usd";
inline constexpr const char* kSpotSavings = "spotfit_spot_savings_usd";
// Counters.
inline constexpr const char* kScaleUps = "spotfit_scaler_scale_ups_total";                     // pool, capacity_type
inline constexpr const char* kScaleUpFailures = "spotfit_scaler_scale_up_failures_total";      // pool, reason
inline constexpr const char* kScaleDowns = "spotfit_scaler_scale_downs_total";                 // pool, reason
inline constexpr const char* kScaleDownFailures = "spotfit_scaler_scale_down_failures_total";  // pool, reason
inline constexpr const char* kInterruptions = "spotfit_scaler_interruptions_total";            // pool, instance_type
inline constexpr const char* kProviderRequests = "spotfit_scaler_provider_requests_total";     // provider, op, result
inline constexpr const char* kEvictions = "spotfit_scaler_evictions_total";                    // result
inline constexpr const char* kPrewarmNodes =
    "spotfit_scaler_prewarm_nodes_total";  // pool, result: launched|used|expired
// Histogram (observations handed over through ScalerMetrics::takeLatencies).
inline constexpr const char* kProviderLatency = "spotfit_scaler_provider_request_duration_seconds";  // provider, op
}  // namespace metric

// Every metric name above, for the exporter and the manifest consistency test.
std::vector<std::string> allMetricNames();

using MetricLabels = std::vector<std::pair<std::string, std::string>>;

struct LatencyObservation {
  MetricLabels labels;
  double seconds = 0;
};

class ScalerMetrics {
 public:
  void inc(const std::string& name, const MetricLabels& labels, double by = 1) { counters_[name][labels] += by; }
  void set(const std::string& name, const MetricLabels& labels, double v) { gauges_[name][labels] = v; }
  // Gauges are rebuilt every reconcile: series that disappeared (a deleted pool) must go.
  void clearGauges() { gauges_.clear(); }
  void observeLatency(MetricLabels labels, double seconds);
  std::vector<LatencyObservation> takeLatencies();

  double counter(const std::string& name, const MetricLabels& labels) const;
  double gauge(const std::string& name, const MetricLabels& labels) const;
  double counterSum(const std::string& name) const;

  const std::map<std::string, std::map<MetricLabels, double>>& counters() const { return counters_; }
  const std::map<std::string, std::map<MetricLabels, double>>& gauges() const { return gauges_; }

 private:
  std::map<std::string, std::map<MetricLabels, double>> counters_, gauges_;
  std::deque<LatencyObservation> latencies_;
};

}  // namespace spotfit::scaler

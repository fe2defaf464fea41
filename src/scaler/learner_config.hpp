#pragma once
// The `scaler.profiles` config section: how the leader-elected scaler learns workflow profiles from the
// cluster (scaler/kube_learner.hpp, docs/profiles.md).

#include <cstddef>
#include <string>

#include "scaler/duration.hpp"

namespace spotfit::scaler {

// scaler.profiles (docs/profiles.md).
struct LearnerConfig {
  bool learn = true;                                    // feed profiles from the cluster (leader only)
  Duration metricsInterval = std::chrono::seconds(15);  // PodMetrics poll period; 0: no usage polling
  Duration metricsTimeout = std::chrono::seconds(5);    // per PodMetrics request
  Duration saveInterval = std::chrono::seconds(60);     // profiles.json written at most this often when changed
  // Where PodMetrics are read: empty, the Kubernetes API (metrics.k8s.io through the aggregation layer,
  // as metrics-server registers it); else the base URL of a server that serves the same path
  // (/apis/metrics.k8s.io/v1beta1/pods) directly, read without credentials (e.g. a metrics-server
  // reached by its Service, or a test's fake).
  std::string metricsServer;
  size_t maxQueued = 20000;   // observations waiting for the leader's loop
  size_t maxSamples = 50000;  // container usage samples per poll
};

}  // namespace spotfit::scaler

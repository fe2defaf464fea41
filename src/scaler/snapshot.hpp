#pragma once
// What the scaler sees of the cluster at one instant: the placement model of every node and pod plus the
// few facts only the scaler needs (readiness, unschedulable condition, times). The serve wiring fills it
// from the informers' stores; tests and the simulator build it directly.

#include <string>
#include <vector>

#include "base/vocabulary.hpp"
#include "placement/consolidation.hpp"
#include "placement/model.hpp"
#include "scaler/duration.hpp"
#include "scaler/prewarm.hpp"

namespace spotfit::scaler {

using vocab::kAnnotationBudget;
using vocab::kAnnotationBudgetAction;
using vocab::kAnnotationCheckpoint;
inline constexpr const char* kAnnotationMirror = "kubernetes.io/config.mirror";

struct ClusterNode {
  placement::NodeInfo info;  // labels, taints, allocatable, requested, pool, instance type, capacity type
  bool ready = false;
  TimePoint created{};
  bool deleting = false;  // deletionTimestamp set
};

struct ClusterPod {
  placement::PodInfo info;
  bool unschedulable = false;  // PodScheduled=False, reason Unschedulable (extender rejections included)
  TimePoint unschedulableSince{};
  TimePoint boundAt{};  // PodScheduled=True transition (or first sight bound)
  bool deleting = false;
  TimePoint finishedAt{};  // for Succeeded/Failed pods: when the last container stopped (0: unknown)
};

struct ClusterSnapshot {
  std::vector<ClusterNode> nodes;
  std::vector<ClusterPod> pods;
  // PodDisruptionBudgets with status.disruptionsAllowed; consolidation replaces no node whose evictions
  // they would refuse (evictions themselves still go through the Eviction API and its PDB check).
  std::vector<placement::PodDisruptionBudget> pdbs;
  // CronJobs, for pre-warmed capacity (scaler/prewarm.hpp).
  std::vector<CronJobInfo> cronJobs;
};

// DaemonSet and mirror (static) pods stay on a node being drained and never block removal.
bool isNodeBound(const placement::PodInfo& pod);  // DaemonSet or mirror pod
bool isFinished(const placement::PodInfo& pod);   // Succeeded or Failed
// The workload pods that must leave a node before it can be removed (bound, not finished, not node-bound).
bool needsEviction(const ClusterPod& pod);

}  // namespace spotfit::scaler

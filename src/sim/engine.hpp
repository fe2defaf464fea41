#pragma once
// The discrete-event cluster simulator. One call runs one strategy over a workload on a virtual clock
// (no sleeping, no threads, no wall time): the same workload and seed give the same result, bit for bit.
//
// What is simulated: workflow arrivals, Jobs (parallelism, completions, dependencies) and their pods,
// a kube-scheduler (filter with the placement core's fit, score by the strategy), node provisioning with
// a delay, spot interruptions with a notice, spot capacity outages, checkpoints, and one autoscaler:
//   - Cluster-Autoscaler-like (baseline and the ablations without spotfit's scaler): 10 s scan, binpacking
//     estimate per node group, least-waste expander, 15 min provisioning timeout with back-off, scale-down
//     of nodes under 50% for 10 min whose pods fit elsewhere;
//   - spotfit's own scaler (scaler::Scaler::reconcile with the placement solver as its planner) driven
//     through simulator implementations of its ports (spotfit_scaler.cpp, scaler_ports.hpp).

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "sim/workload.hpp"

namespace spotfit::sim {

// Which parts of spotfit a strategy uses. "baseline" uses none, "spotfit" all.
struct StrategyConfig {
  std::string name;
  bool spot = false;             // spot capacity allowed (webhook capacity-type affinity and tolerations)
  bool checkpointHooks = false;  // webhook preStop checkpoint hooks
  bool rightSize = false;        // webhook VPA-sized requests (from the workload's usage)
  bool packScheduler = false;    // spotfit extender scores (bin-packing, price) instead of LeastAllocated
  bool spotfitScaler = false;    // spotfit's scaler (placement solver, consolidation, interruptions) instead of CA
  // Consolidation may move running resumable Job pods when the saving over their expected remaining runtime
  // (from the Job's history) beats checkpoint and restart (disruption.disruptCheckpointedJobs).
  bool checkpointMoves = false;
  // Spot offerings chosen by interruption risk (the pools' spotRisk; scaler/offering_risk.hpp).
  bool spotRisk = false;
  // The real Karpenter's provisioner and consolidation instead of CA or spotfit's scaler (sim/karpenter.cpp):
  // pods as written (spot allowed, as a NodePool over both capacity types does), the default kube-scheduler.
  bool karpenter = false;
  // ... with karpenter.sh/do-not-disrupt on every Job pod (what careful users do today).
  bool karpenterDoNotDisrupt = false;
};

// baseline, spot-only, binpack-only, rightsize-only, spotfit, spotfit-moves, spotfit-risk, karpenter,
// karpenter-dnd.
const std::vector<StrategyConfig>& builtinStrategies();
Result<StrategyConfig> strategyByName(const std::string& name);

struct Percentiles {
  double mean = 0, p50 = 0, p95 = 0;
};

// Time series sampled every workload.sampleInterval: one row per sample, columns as named.
struct TimeSeries {
  std::vector<std::string> columns;  // "time_s" first
  std::vector<std::vector<double>> rows;
};

struct WorkflowCost {
  int64_t runs = 0;
  int64_t completed = 0;
  double attributedUsd = 0;  // OpenCost split: the pods' requested share of their nodes' prices
  // Pods of jobs right-sized from a learned profile (spotfit.io/right-size: profile, sim/profiles.hpp):
  // summed requests and usage of those created before the profile had its runs (as written) and after.
  struct RequestUsage {
    int64_t pods = 0;
    double requestCpuMilli = 0, usageCpuMilli = 0, requestMemoryBytes = 0, usageMemoryBytes = 0;
    double cpuRatio() const { return usageCpuMilli > 0 ? requestCpuMilli / usageCpuMilli : 0; }
    double memoryRatio() const { return usageMemoryBytes > 0 ? requestMemoryBytes / usageMemoryBytes : 0; }
  };
  RequestUsage asWritten, learned;
  Percentiles pendingSeconds;  // pod created -> bound, over every pod of the workflow
  double prewarmUsd = 0;       // the scaler's ledger line "<workflow> (prewarm)": idle pre-warmed nodes
};

struct StrategyResult {
  std::string strategy;
  Millis simulatedUntil = 0;

  // Cost.
  double totalCostUsd = 0;
  double spotCostUsd = 0;
  double idleCostUsd = 0;         // node cost no pod paid for
  double costPerWorkflowUsd = 0;  // total cost / workflows that arrived
  double spotShare = 0;           // share of vCPU-hours on spot nodes
  double nodeHours = 0;
  std::map<std::string, WorkflowCost> byWorkflow;

  // Utilization over Ready node-hours (fractions 0..1).
  Percentiles cpuAllocation, memoryAllocation;  // requests / allocatable
  Percentiles cpuUsage, memoryUsage;            // actual usage / allocatable
  double cpuAllocatedAtLeast85 = 0;             // share of Ready node-hours with >= 85% of cpu requested
  double memoryAllocatedAtLeast85 = 0;

  // Work.
  int64_t workflows = 0, workflowsCompleted = 0;
  int64_t tasks = 0, tasksCompleted = 0, tasksLost = 0;
  int64_t duplicateCompletions = 0;      // invariant: always 0
  std::vector<std::string> lostReasons;  // one line per lost task group, for the report
  Percentiles workflowCompletion;        // seconds, arrival -> last task done
  double makespanSeconds = 0;            // first arrival -> last workflow done
  int64_t podsInterrupted = 0;           // pod evictions by spot interruptions
  int64_t podsEvicted = 0;               // pod evictions by scale-down / consolidation
  double workLostHours = 0;              // task progress thrown away by evictions

  // Scaling.
  Percentiles scaleUpLatency;  // seconds, pod first unschedulable -> bound
  int64_t nodesLaunched = 0;
  int64_t launchFailures = 0;  // creations refused or timed out for lack of capacity
  int64_t spotInterruptions = 0;
  int64_t peakNodes = 0;

  // Gangs (jobs with spotfit.io/gang: "true"; their pods start only when all members run).
  int64_t gangs = 0;
  double gangIdleMemberHours = 0;    // members bound to a node while waiting for the rest
  Percentiles gangTimeToAllRunning;  // seconds, job start -> every member running

  TimeSeries series;
};

struct SimulationOptions {
  uint64_t seed = 1;
};

StrategyResult simulate(const Workload& workload, const StrategyConfig& strategy, const SimulationOptions& options);

// Every job's pods, as admitted under the strategy, fit an empty node of some offering the strategy may
// launch. Otherwise an error "FILE:LINE: workflows[i].jobs[k]: ... (the first pool's reason)".
Status checkPlaceable(const Workload& workload, const StrategyConfig& strategy);

}  // namespace spotfit::sim

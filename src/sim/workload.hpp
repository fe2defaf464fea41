#pragma once
// The simulator's input: a workload file (documented in docs/simulate.md) parsed strictly. Unknown keys,
// wrong types and impossible values are rejected with "FILE:LINE: key.path: what is wrong".

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace spotfit::sim {

using Millis = int64_t;  // virtual time and durations, milliseconds

inline constexpr Millis kSecond = 1000;
inline constexpr Millis kMinute = 60 * kSecond;
inline constexpr Millis kHour = 60 * kMinute;

// "90s", "15m", "2h", "1h30m", "250ms", or a bare number of seconds.
std::string formatDuration(Millis ms);

// Resource amounts in the units the placement core counts in: cpu in millicores, memory in bytes,
// extended resources (GPUs, MIG slices) in whole units.
struct ResourceAmounts {
  int64_t cpuMilli = 0;
  int64_t memoryBytes = 0;
  std::map<std::string, int64_t> extended;  // e.g. "nvidia.com/gpu" -> 4

  int64_t gpus() const {
    auto it = extended.find("nvidia.com/gpu");
    return it == extended.end() ? 0 : it->second;
  }
};

struct Taint {
  std::string key, value, effect;  // effect: NoSchedule | PreferNoSchedule | NoExecute
};

struct Toleration {
  std::string key, op = "Equal", value, effect;  // op: Equal | Exists; empty effect matches all
};

struct InstanceTypeSpec {
  std::string name;
  int64_t cpuMilli = 0;
  int64_t memoryBytes = 0;
  int64_t gpus = 0;
  std::string gpuProduct;  // nvidia.com/gpu.product
  int64_t maxPods = 110;
  double onDemandPrice = 0;                 // USD per hour
  std::optional<double> spotPrice;          // absent: no spot offering
  std::map<std::string, int64_t> extended;  // other extended resources, e.g. MIG slices
};

struct NodePoolSpec {
  std::string name;
  bool spot = true;  // capacity types this pool may launch
  bool onDemand = true;
  int64_t minNodes = 0;
  int64_t maxNodes = 1000;
  std::map<std::string, std::string> labels;
  std::vector<Taint> taints;
  std::vector<InstanceTypeSpec> instanceTypes;
};

struct UnavailableWindow {
  std::string instanceType = "*";  // "*" = every instance type
  std::string capacityType = "spot";
  Millis from = 0, to = 0;
};

struct SpotMarketSpec {
  double defaultInterruptionsPerHour = 0.0;            // per spot node
  std::map<std::string, double> interruptionsPerHour;  // by instance type
  Millis notice = 2 * kMinute;
  std::vector<UnavailableWindow> unavailable;
};

struct CheckpointSpec {
  Millis saveTime = 10 * kSecond;      // time the preStop checkpoint takes (must fit in the notice)
  double lostWithCheckpoint = 0.0;     // fraction of a task's progress lost when interrupted, checkpointed
  double lostWithoutCheckpoint = 1.0;  // ... and without a checkpoint (1.0: start over)
};

struct DurationDist {
  enum class Kind { Fixed, Uniform, LogNormal, Exponential };
  Kind kind = Kind::Fixed;
  Millis a = 0;  // fixed value | uniform min | mean
  Millis b = 0;  // uniform max | lognormal stddev
};

struct JobSpec {
  std::string name;
  int64_t parallelism = 1;
  int64_t completions = 1;
  std::vector<std::string> after;  // jobs of the same workflow that must finish first
  DurationDist duration;
  ResourceAmounts requests;
  std::optional<ResourceAmounts> usage;  // what the pod really uses (what right-sizing learns)
  std::map<std::string, std::string> annotations;
  std::map<std::string, std::string> labels;  // pod labels (e.g. spark-role: driver, a coordinator)
  std::map<std::string, std::string> nodeSelector;
  std::vector<Toleration> tolerations;
  bool resumable = false;  // the program can resume from a checkpoint
  int line = 0;
};

struct ArrivalSpec {
  std::vector<Millis> at;  // explicit arrival times
  // every: periodic arrivals from `start` while < `until` (default: the horizon)
  std::optional<Millis> every;
  Millis everyStart = 0;
  std::optional<Millis> everyUntil;
  // diurnal: Poisson arrivals with rate perHour * (1 + amplitude * cos(2π (h - peakHour) / 24))
  std::optional<double> diurnalPerHour;
  double diurnalPeakHour = 14;
  double diurnalAmplitude = 0.6;
  // cron: a Kubernetes CronJob schedule (placement/cron.hpp), evaluated in UTC from virtual time 0 =
  // 1970-01-01T00:00:00Z (a Thursday). Such a workflow is a CronJob to the scaler: with the annotation
  // spotfit.io/prewarm its runs get pre-warmed capacity.
  std::optional<std::string> cron;
};

// Arrival times of a cron schedule in [0, horizon], at most `cap` of them (sim/cron_arrivals.cpp).
std::vector<Millis> cronArrivals(const std::string& schedule, Millis horizon, size_t cap);

struct WorkflowSpec {
  std::string name;
  ArrivalSpec arrival;
  std::map<std::string, std::string> annotations;  // copied to every job (job annotations win)
  std::vector<JobSpec> jobs;
};

struct ProvisioningSpec {
  Millis delay = 90 * kSecond;      // create -> Ready
  Millis jitter = 30 * kSecond;     // uniform extra in [0, jitter]
  Millis podStartup = 5 * kSecond;  // bind -> running (image pull, start)
};

struct ClusterAutoscalerSpec {
  Millis scanInterval = 10 * kSecond;
  Millis maxNodeProvisionTime = 15 * kMinute;
  double scaleDownUtilization = 0.5;
  Millis scaleDownUnneededTime = 10 * kMinute;
  Millis scaleDownDelayAfterAdd = 10 * kMinute;
  Millis backoff = 5 * kMinute;
};

struct SpotfitSpec {
  Millis batchIdle = 1 * kSecond;
  Millis batchMax = 10 * kSecond;
  Millis unavailableFor = 3 * kMinute;
  Millis consolidateAfter = 60 * kSecond;
  Millis consolidationInterval = 10 * kSecond;
  Millis scaleDownCooldown = 5 * kMinute;  // no scale-down in a pool this long after it scaled up
  int64_t interruptionThreshold = 3;       // interruptions of one pool+type within the window ...
  Millis interruptionWindow = 1 * kHour;
  Millis coolOff = 30 * kMinute;  // ... send that pool's new capacity on-demand for this long
  double rightSizeMargin = 0.15;  // VPA-like target: usage * (1 + margin)
  // The pools' spotRisk under the spotfit-risk strategy (scaler/nodepool.hpp SpotRiskSettings); a
  // resumable pod loses checkpoint.lostWithCheckpoint of its progress, as the simulation charges.
  double riskPriorPerHour = 0;
  Millis riskPriorWeight = 10 * kHour;
  Millis riskDefaultRuntime = 1 * kHour;
  double riskMaxOfferingShare = 0.5;
  double riskMaxSpreadPremium = 0.1;
};

// The `karpenter` strategy's provisioner and disruption controller (sim/karpenter.cpp), with the real
// Karpenter's defaults (sigs.k8s.io/karpenter v1: BATCH_IDLE_DURATION 1s, BATCH_MAX_DURATION 10s, disruption
// polling 10s, 15s consolidation validation, NodePool budget `nodes: 10%` rounded up, ICE cache 3m).
struct KarpenterSpec {
  Millis batchIdle = 1 * kSecond;
  Millis batchMax = 10 * kSecond;
  Millis consolidateAfter = 0;  // NodePool spec.disruption.consolidateAfter (Karpenter's default: 0s)
  Millis disruptionInterval = 10 * kSecond;
  Millis validation = 15 * kSecond;
  double budgetNodes = 0.10;  // share of a NodePool's nodes disrupted at once
  Millis unavailableFor = 3 * kMinute;
  bool spotToSpot = false;  // feature gate SpotToSpotConsolidation (off by default)
};

struct Workload {
  std::string source;  // file name for messages
  Millis horizon = 24 * kHour;
  Millis drainLimit = 24 * kHour;  // after the horizon, how long unfinished work may still run
  Millis sampleInterval = 1 * kMinute;
  uint64_t seed = 1;
  ProvisioningSpec provisioning;
  std::vector<NodePoolSpec> nodePools;
  SpotMarketSpec spotMarket;
  CheckpointSpec checkpoint;
  ClusterAutoscalerSpec clusterAutoscaler;
  SpotfitSpec spotfit;
  KarpenterSpec karpenter;
  std::vector<WorkflowSpec> workflows;
};

// Work bounds, checked up front so a workload is refused with a clear error instead of running out of
// memory or time (each strategy keeps its own copy of both):
//   time-series rows = (horizon + drainLimit) / sampleInterval  <= kMaxSamples   (~16 doubles a row)
//   tasks            = Σ over workflows of arrivals × Σ completions of its jobs  <= kMaxTasks
// For diurnal arrivals the count is the expected number at the peak rate, perHour × (1 + amplitude) ×
// horizon hours. 366 days at 1 m samples, or a day at 1 s, stay within kMaxSamples.
inline constexpr int64_t kMaxSamples = 600'000;
inline constexpr int64_t kMaxTasks = 2'000'000;

// Parses and validates a workload. `source` names the file in error messages.
Result<Workload> parseWorkload(const std::string& yamlText, const std::string& source);
Result<Workload> loadWorkload(const std::string& path);

}  // namespace spotfit::sim

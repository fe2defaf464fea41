#pragma once
// NodePool: the nodes the scaler may create and remove, from the `spotfitpools.spotfit.io/v1alpha1` CRD or
// from `scaler.nodePools` in the config file (same fields). Parsing is strict: unknown keys, wrong types
// and bad values are reported with their key path and line, never thrown past this module.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "scaler/duration.hpp"
#include "scaler/interruptions.hpp"
#include "scaler/learner_config.hpp"
#include "scaler/prewarm.hpp"
#include "scaler/price_table.hpp"
#include "scaler/provider.hpp"

namespace YAML {
class Node;
}

namespace spotfit::scaler {

// Labels every scaler-created node carries (GPU labels follow NVIDIA GPU feature discovery).
inline constexpr std::string_view kLabelNodePool = placement::kLabelNodePool;  // spotfit.io/node-pool
inline constexpr std::string_view kLabelCapacityType = placement::kLabelKarpenterCapacityType;
inline constexpr std::string_view kLabelSpotfitCapacityType = placement::kLabelCapacityType;
inline constexpr std::string_view kLabelInstanceType = placement::kLabelInstanceType;
inline constexpr const char* kLabelZone = "topology.kubernetes.io/zone";
inline constexpr const char* kLabelGpuProduct = "nvidia.com/gpu.product";
inline constexpr const char* kLabelGpuCount = "nvidia.com/gpu.count";
inline constexpr const char* kLabelGpuMemory = "nvidia.com/gpu.memory";
inline constexpr const char* kResourceGpu = "nvidia.com/gpu";

struct InstanceType {
  std::string name;
  int64_t cpuMilli = 0;
  int64_t memoryBytes = 0;
  int64_t gpus = 0;
  std::string gpuProduct;
  int64_t gpuMemoryMiB = 0;
  std::map<std::string, int64_t> extended;  // other extended resources, e.g. nvidia.com/mig-1g.5gb -> 7
  int64_t maxPods = 110;
  double onDemandPrice = 0;  // USD per hour
  double spotPrice = 0;      // USD per hour; 0 = not offered as spot
  double price(CapacityType t) const { return t == CapacityType::Spot ? spotPrice : onDemandPrice; }
  bool offers(CapacityType t) const { return t == CapacityType::OnDemand || spotPrice > 0; }
};

struct PoolLimits {  // 0 = unlimited
  int64_t cpuMilli = 0;
  int64_t memoryBytes = 0;
  int64_t gpus = 0;
  double costPerHour = 0;
};

struct DisruptionSettings {
  Duration consolidateAfter = std::chrono::seconds(60);  // empty nodes go after this
  double utilizationThreshold = 0.5;                     // underused below this share of allocatable ...
  Duration unneededTime = std::chrono::minutes(10);      // ... for this long
  bool consolidateUnderused = true;
  bool disruptCheckpointedJobs = false;  // may running Job pods with a checkpoint preStop be evicted
  // ... only when the saving over their expected remaining runtime beats the restarts by moveMargin (USD):
  Duration checkpointRestartTime = std::chrono::seconds(60);  // checkpoint save + reschedule + restore
  double checkpointLostWork = 0;                              // share of a pod's elapsed runtime a move loses
  double moveMargin = 0.01;                                   // USD
  // Replace several under-used nodes of the pool with one cheaper new node (placement::planMerge).
  bool consolidateMultiNode = false;
  Duration drainTimeout = std::chrono::minutes(10);  // PDB refusals are retried until this deadline
};

// Spot offerings chosen by interruption risk (scaler/offering_risk.hpp, placement/spot_risk.hpp).
struct SpotRiskSettings {
  bool enabled = false;                             // plan spot on expected cost, not price alone
  double priorInterruptionsPerHour = 0;             // per node, before the pool has history
  Duration priorWeight = std::chrono::hours(10);    // node-hours of history the prior is worth
  double resumableLostWork = 0.1;                   // share of a resumable pod's progress an interruption loses
  Duration defaultRuntime = std::chrono::hours(1);  // pods with no expected-duration and no Job history
  double maxOfferingShare = 1;                      // at most this share of a plan's spot pods on one offering
  double maxSpreadPremium = 0.1;                    // ... unless spreading costs more than this share extra
};

struct ProviderSettings {
  std::string type;                                 // kwok | clusterapi | memory
  Duration readyTimeout = std::chrono::minutes(5);  // a node not Ready by then marks its offering unavailable
  std::map<std::string, std::string> parameters;    // provider-specific (kwok readyDelay, clusterapi ...)
};

struct NodePool {
  std::string name;
  int64_t generation = 0;
  std::vector<CapacityType> capacityTypes;  // in order of preference
  std::vector<InstanceType> instanceTypes;
  std::vector<std::string> zones;
  bool gangSameZone = false;  // gangTopology: zone — gangs using the pool get one zone (placement/gang.hpp)
  std::map<std::string, std::string> labels;
  std::vector<NodeTaint> taints;
  int64_t minNodes = 0;
  int64_t maxNodes = 100;
  PoolLimits limits;
  DisruptionSettings disruption;
  SpotRiskSettings spotRisk;
  ProviderSettings provider;

  bool allows(CapacityType t) const;
  const InstanceType* instanceType(std::string_view name) const;
};

struct ConfigIssue {
  std::string path;  // "scaler.nodePools[0].instanceTypes[1].cpu"
  int line = 0;      // 1-based, 0 when unknown
  std::string message;
  std::string str() const;  // "scaler.nodePools[0].cpu (line 12): invalid quantity \"4x\""
};

struct ParsedNodePool {
  NodePool pool;
  std::vector<ConfigIssue> issues;  // empty = valid
  bool valid() const { return issues.empty(); }
  std::string summary() const;  // issues joined with "; " (for conditions and events)
};

// A NodePool object as the API server returns it (JSON). Invalid specs come back with issues, not errors;
// an error is returned only when the text is not a NodePool object at all.
Result<ParsedNodePool> parseNodePoolObject(std::string_view json);

struct ScalerConfig {
  std::string namespaceName = "spotfit-system";  // spotfit's own namespace (ledger, leases, events)
  Duration batchIdle = std::chrono::seconds(1);
  Duration batchMax = std::chrono::seconds(10);
  Duration offeringUnavailableFor = std::chrono::minutes(3);
  Duration scaleDownCooldown = std::chrono::minutes(5);  // no scale-down in a pool this long after a scale-up
  // A gang whose bound members hold nodes while the rest get no capacity this long has its nodes released.
  Duration gangPartialTimeout = std::chrono::minutes(10);
  int maxParallelDrains = 3;
  Duration evictionRetry = std::chrono::seconds(5);  // between retries of a PDB-refused eviction
  Duration drainFailureBackoff = std::chrono::minutes(5);
  std::vector<std::string> interruptionTaints = defaultInterruptionTaints();
  InterruptionPolicy interruption;
  std::string ledgerConfigMap = "spotfit-cost-ledger";
  Duration ledgerFlushInterval = std::chrono::seconds(30);
  // How long the ledger keeps daily windows and the totals of workflows with no running pod, and how many
  // such workflow totals it keeps at most (scaler/ledger.hpp, LedgerLimits).
  Duration ledgerRetention = std::chrono::hours(24 * 31);
  int ledgerMaxClosedWorkflows = 500;
  std::string ledgerLabel;  // pod label whose values the daily cost windows also sum by (e.g. team); empty: none
  // Bounded cost series (docs/scaler.md, Observability): spotfit_workflow_cost_usd for at most
  // costSeriesTopWorkflows workflows, the most expensive of those running or stopped less than
  // costSeriesGrace ago; spotfit_owner_cost_usd for the costSeriesTopOwners most expensive (namespace,
  // owner) pairs of the retained daily windows, the rest summed per namespace under owner "(other)".
  int costSeriesTopWorkflows = 200;
  int costSeriesTopOwners = 200;
  Duration costSeriesGrace = std::chrono::minutes(10);
  // false: no workflow, owner or namespace cost series at all. Building them reads every workflow the
  // ledger holds, on every reconcile: the simulator, which reconciles on pod events and reads no metrics,
  // turns this off (it made `spotfit simulate` quadratic in workflows).
  bool publishCostSeries = true;
  // Prices of nodes no pool prices (instance type × capacity type × zone; scaler/price_table.hpp).
  std::vector<PriceEntry> priceTable;
  bool watchNodePoolObjects = true;  // also use NodePool CRD objects
  // ProvisioningRequests (autoscaling.x-k8s.io/v1, scaler/provreq.hpp): watched when the CRD is installed;
  // capacity stays booked for a Provisioned request this long (Cluster Autoscaler's default, 10 minutes).
  bool watchProvisioningRequests = true;
  // BudgetPolicy objects (docs/budgets.md): the leader writes their status and threshold Events. A missing
  // CRD means no policies.
  bool watchBudgetPolicies = true;
  Duration provisioningRequestBookingTime = std::chrono::minutes(10);
  PrewarmConfig prewarm;   // pre-warmed capacity for CronJobs (scaler.prewarm)
  LearnerConfig profiles;  // learning workflow profiles from the cluster (scaler.profiles)
  std::vector<NodePool> nodePools;
};

// Reads the `scaler:` section of spotfit's YAML config (other top-level keys belong to other roles and are
// ignored). A file without the section yields the defaults. Any issue fails with every problem listed.
Result<ScalerConfig> parseScalerConfig(std::string_view yaml);
// The same for an already parsed `scaler:` node (spotfit serve hands each role its section).
Result<ScalerConfig> parseScalerSection(const YAML::Node& section);

// Semantic checks shared by both sources (min <= max, prices, duplicate instance types, provider params).
std::vector<ConfigIssue> validateNodePool(const NodePool& pool, const std::string& path);

}  // namespace spotfit::scaler

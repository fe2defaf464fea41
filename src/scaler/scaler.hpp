#pragma once
// The scaler's reconcile loop: one call looks at a cluster snapshot and acts through injected ports
// (NodeProvider, ClusterActions, ScaleUpPlanner, LedgerStore, Clock). It is single-threaded: the serve
// wiring calls reconcile() from one thread while it holds the leader Lease; tests call it with a
// ManualClock and read back what the fakes recorded.
//
// Order inside reconcile: providers' background work, in-flight nodes (initialized / timed out),
// interruption notices, scale-up (batched), scale-down candidates, drains, cost ledger, status, metrics.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scaler/actions.hpp"
#include "scaler/batcher.hpp"
#include "scaler/booking.hpp"
#include "scaler/checkpoint_moves.hpp"
#include "scaler/interruptions.hpp"
#include "scaler/launch.hpp"
#include "scaler/ledger.hpp"
#include "scaler/metrics.hpp"
#include "scaler/nodepool.hpp"
#include "scaler/offering_risk.hpp"
#include "scaler/offerings.hpp"
#include "scaler/planner.hpp"
#include "scaler/prewarm.hpp"
#include "scaler/provider.hpp"
#include "scaler/scaler_state.hpp"
#include "scaler/snapshot.hpp"

namespace spotfit::scaler {

enum class DrainReason { Empty, Underused, Replaced, Interrupted, GangIncomplete };
const char* toString(DrainReason r);

struct InFlightNode {
  std::string name, pool, instanceType, zone;
  CapacityType capacityType = CapacityType::OnDemand;
  TimePoint createdAt{};
  placement::NodeInfo model;                // the node as it will be once initialized
  std::set<std::string> extendedRequested;  // extended resources its pods asked for; must be advertised
  std::vector<std::string> podKeys;
  bool providerNamed = false;  // the provider picks the Node name: claim the first new node of the pool
};

// Scaler::launch's answer: the node in flight (not yet tracked) or why none was created.
struct LaunchResult {
  std::optional<InFlightNode> node;
  LaunchFailure failure;      // when !node
  std::string requestedName;  // the name asked of the provider (the node's unless the provider names it)
  std::string offering;       // pool/type/capacity[/zone], for logs and events ("" before a zone is chosen)
  explicit operator bool() const { return node.has_value(); }
};

struct Drain {
  std::string node, pool, instanceType;
  DrainReason reason = DrainReason::Empty;
  TimePoint started{}, deadline{};
  std::map<std::string, TimePoint> nextAttempt;  // pod key -> when to try its eviction again
  std::set<std::string> blockedReported;         // pods whose PDB refusal was already reported
  bool nodeDeleted = false;
};

struct ReconcileResult {
  int nodesCreated = 0;
  int drainsStarted = 0;
  int nodesRemoved = 0;
  std::optional<TimePoint> wakeAt;  // when reconcile should run again at the latest (batch close, retries)
};

// planAtomic's answer: every pod placed (ok) or the reason none is.
struct AtomicPlan {
  bool ok = false;
  std::string reason, message;  // when !ok: a CamelCase reason and why
  CapacityType capacityType = CapacityType::Spot;
  std::optional<std::string> zone;  // every new node's, when a pool keeps gangs in one zone
  std::vector<PlannedNode> newNodes;
  std::map<std::string, std::string> onExisting;  // pod key -> existing or in-flight node
};

class Scaler {
 public:
  using Logger = std::function<void(const std::string&)>;
  // Resolves a pool's provider by its provider type ("kwok", "clusterapi", "memory"); nullptr: none.
  using ProviderLookup = std::function<NodeProvider*(const NodePool&)>;

  Scaler(ScalerConfig config, const kube::Clock& clock, ClusterActions& actions, ScaleUpPlanner& planner,
         ProviderLookup providers, LedgerStore* ledgerStore = nullptr, Logger log = {});

  // Pools from the config file (always valid: the config parser refuses invalid ones).
  void setConfigPools(std::vector<NodePool> pools);
  // Pools from NodePool objects; invalid ones are kept out of planning and reported in status and events.
  void upsertPoolObject(const ParsedNodePool& parsed);
  void removePoolObject(const std::string& name);

  // Reads the ledger back from its store (after winning the lease). A corrupt store is an error and the
  // ledger starts empty, so one bad write cannot stop scaling.
  Status loadLedger();
  // Reads the scaler's memory back (unavailable offerings, interruption history, cool-offs, the pools'
  // last scale-ups that still hold off scale-down; see
  // scaler_state.hpp), keeping what has not expired by the clock's now. A corrupt stored state is an
  // error and nothing of it is used (scaling goes on with a fresh memory); an absent one is not an error.
  Status loadScalerState();
  // Saves the ledger and the scaler's memory together. reconcile() calls it every ledgerFlushInterval and
  // as soon as the memory changed (an offering marked unavailable, an interruption, a cool-off, a scale-up).
  Status flushLedger();
  ScalerMemory memory(TimePoint now) const;

  ReconcileResult reconcile(const ClusterSnapshot& snapshot);

  // Workflow spend for the webhook's budget gate (the adapter lives in the serve wiring).
  double workflowSpend(const std::string& namespaceName, const std::string& workflow) const;

  // ProvisioningRequests (scaler/provreq.hpp; defined in scaler_provreq.cpp). The controller hands the
  // bookings to the loop before each reconcile: booked nodes are not scaled down or replaced, their held
  // room counts as requested, and pending pods consuming a booked request trigger no scale-up.
  void setBookings(std::map<std::string, Booking> bookings) { bookings_ = std::move(bookings); }
  const std::map<std::string, Booking>& bookings() const { return bookings_; }
  // All `pods` at once or nothing: on existing room only (check-capacity), or with new nodes of one
  // capacity type, spot first then on-demand (best-effort-atomic-scale-up).
  AtomicPlan planAtomic(const ClusterSnapshot& snapshot, const std::vector<placement::PodInfo>& pods,
                        bool existingOnly);
  // Creates the plan's new nodes (tracked in flight like any scale-up). A failed create removes the nodes
  // already created for the plan, marks the offering unavailable and returns the error.
  Result<std::vector<std::string>> launchAtomic(const AtomicPlan& plan, const std::string& forWhat);

  // Launches one planned node (launch.cpp): the step shared by scale-up, gangs, pre-warm and
  // ProvisioningRequests. Nothing is tracked in flight and no event is emitted; see launch.hpp.
  LaunchResult launch(const LaunchSpec& spec, TimePoint now);

  ScalerMetrics& metrics() { return metrics_; }
  const CostLedger& ledger() const { return ledger_; }
  const std::map<std::string, InFlightNode>& inFlight() const { return inFlight_; }
  const std::map<std::string, Drain>& drains() const { return drains_; }
  const UnavailableOfferings& unavailableOfferings() const { return unavailable_; }
  const InterruptionTracker& interruptions() const { return interruptions_; }
  const OfferingRisk& offeringRisk() const { return offeringRisk_; }
  const ScalerConfig& config() const { return config_; }
  const Prewarmer& prewarmer() const { return prewarm_; }

 private:
  struct PoolState {
    NodePool pool;
    bool valid = true;
    bool fromObject = false;
    std::string invalidReason;
    TimePoint lastScaleUp{}, lastScaleDown{};
    std::string lastStatus;  // last status JSON written
    int64_t reportedGeneration = -1;
    std::map<std::string, std::pair<std::string, TimePoint>> conditionSince;  // type -> (status, since)
  };
  struct Index;

  const PoolState* validPool(const std::string& name) const;
  NodeProvider* providerFor(const NodePool& pool);
  void log(const std::string& line) const;
  void emit(const ObjectRef& obj, const std::string& type, const std::string& reason, const std::string& msg);

  void trackInFlight(const Index& idx, TimePoint now, bool& replan);
  void handleInterruptions(const Index& idx, TimePoint now, bool& replan);
  int scaleUp(const ClusterSnapshot& snap, const Index& idx, TimePoint now, bool replan);
  int scaleDown(const ClusterSnapshot& snap, const Index& idx, TimePoint now);
  // Pre-warmed capacity for CronJobs (scaler_prewarm.cpp): creates nodes ahead of due runs, releases used
  // ones, drains expired ones. Returns nodes created; `wake` gets the next time a lead starts.
  int prewarm(const ClusterSnapshot& snap, const std::map<std::string, const ClusterNode*>& liveNodes,
              const std::map<std::string, std::vector<const ClusterPod*>>& podsByNode,
              std::vector<placement::NodeInfo> capacity, TimePoint now, std::optional<TimePoint>& wake);
  void chargePrewarm(TimePoint now, std::set<std::string>& live);  // ledger lines of idle pre-warmed nodes
  // Replace-with-cheaper through placement::planConsolidation: creates the cheaper node (in flight);
  // the old node is drained once the replacement is Ready. Returns drains started for finished replacements.
  int replaceWithCheaper(const ClusterSnapshot& snap, const Index& idx, TimePoint now, int& consolidating);
  int startReplacements(const placement::ConsolidationPlan& plan, const Index& idx, TimePoint now,
                        CapacityType capacity);
  int mergeUnderused(const placement::ConsolidationInput& base, const Index& idx, TimePoint now);
  int progressDrains(const Index& idx, TimePoint now, std::optional<TimePoint>& wake);
  void updateLedger(const ClusterSnapshot& snap, const Index& idx, TimePoint now);
  LedgerLimits ledgerLimits() const;  // from config_
  // The bounded cost series; workflows in `budgets` (pods with a spotfit.io/budget) always get theirs.
  void publishCost(TimePoint now, const std::map<WorkflowKey, double>& budgets);
  // Accrues the ledger to `now` and writes it with the scaler's memory (already serialized) in one store write.
  Status save(TimePoint now, std::string memoryJson);
  void publish(const ClusterSnapshot& snap, const Index& idx, TimePoint now);

  // Gangs (gang_scaleup.cpp): takes gang members out of `pods` and plans each gang all or nothing,
  // launching its nodes together (a failed launch rolls back the gang's other new nodes and re-plans).
  int scaleUpGangs(const ClusterSnapshot& snap, std::vector<placement::PodInfo>& pods,
                   std::vector<placement::NodeInfo>& nodes, TimePoint now);
  std::vector<placement::NodePool> gangPools(TimePoint now, bool zonal) const;
  // Partly placed gangs (gang_partial.cpp): a gang with members on nodes whose pending members got no
  // capacity is recorded; once that lasted config_.gangPartialTimeout, its gang-labelled nodes are
  // drained (the members come back pending as a whole). Returns drains started; `wake` gets the deadline.
  void noteGangPlaced(const std::string& gang, bool placed, size_t bound, TimePoint now);
  int releaseIncompleteGangs(const ClusterSnapshot& snap, const std::map<std::string, const ClusterNode*>& nodes,
                             TimePoint now, std::optional<TimePoint>& wake);
  // Pool cost limits (USD/h) for a whole plan: "" when every pool stays within its limit with `nodes`
  // (existing and in flight) plus `newNodes`, else which pool would not.
  std::string overCostLimit(const std::vector<placement::PlannedNode>& newNodes,
                            const std::vector<placement::NodeInfo>& nodes) const;
  std::vector<PlannerPool> plannerPools(TimePoint now) const;
  // Bookings: held room added to the nodes' requested; whether a node is booked; pods covered by one.
  void applyBookings(std::vector<placement::NodeInfo>& nodes) const;
  bool booked(const std::string& node) const;
  bool coveredByBooking(const placement::PodInfo& pod) const;
  std::vector<placement::NodeInfo> currentCapacity(const ClusterSnapshot& snapshot) const;
  std::vector<placement::NodeInfo> capacityNodes(const Index& idx, const std::set<std::string>& exclude) const;
  // Empty when the node's pods fit on the remaining nodes (same solver as scale-up, no new nodes); else why not.
  std::string roomElsewhere(const Index& idx, const std::string& node, const std::set<std::string>& removing);
  bool startDrain(const ClusterNode& node, DrainReason reason, TimePoint now, Duration timeout);
  void finishDrain(const std::string& node, bool ok, const std::string& why, TimePoint now);
  std::string newNodeName(const std::string& pool, TimePoint now);
  Result<ProviderNode> timedCreate(NodeProvider& p, const NodePool& pool, const NodeRequest& req);
  Status timedRemove(NodeProvider& p, const NodePool& pool, const NodeRef& ref);

  ScalerConfig config_;
  const kube::Clock& clock_;
  ClusterActions& actions_;
  ScaleUpPlanner& planner_;
  ProviderLookup providers_;
  LedgerStore* store_;
  Logger log_;

  std::map<std::string, PoolState> pools_;
  PodBatcher batcher_;
  UnavailableOfferings unavailable_;
  InterruptionTracker interruptions_;
  CostLedger ledger_;
  PriceTable prices_;                     // nodes no pool prices
  std::set<std::string> unpricedLogged_;  // unpriced nodes already logged (only those still unpriced)
  size_t unpricedNodes_ = 0;              // nodes running pods whose price is unknown, last pass
  ScalerMetrics metrics_;
  Prewarmer prewarm_;

  std::map<std::string, Booking> bookings_;  // ProvisioningRequest key -> its booking
  // Gang key -> since when its pending members get no capacity while others hold nodes (bounded by the
  // pending pods: an entry goes when its gang has no pending member left).
  std::map<std::string, TimePoint> gangStuckSince_;
  std::map<std::string, InFlightNode> inFlight_;
  std::map<std::string, Drain> drains_;
  std::set<std::string> interrupted_;             // nodes whose notice was handled
  std::set<std::string> deleted_;                 // Node objects we deleted that the snapshot still shows
  std::map<std::string, std::string> replacing_;  // replacement node -> node it replaces
  // Multi-node consolidation: replacement node -> the further nodes it replaces (drained with replacing_'s).
  std::map<std::string, std::vector<std::string>> mergedAlso_;
  std::map<std::string, TimePoint> emptySince_, underusedSince_, nodeBackoff_;
  std::map<std::string, std::string> podEventReason_;  // pod uid -> last scale-up reason reported
  std::map<std::string, std::string> blockedReason_;   // node -> last reported scale-down blocker
  OfferingRisk offeringRisk_;                          // each spot offering's interruption rate (offering_risk.hpp)
  JobHistory jobHistory_;  // observed runtimes of Job pods: expected remaining runtime of pods consolidation moves
  TimePoint lastFlush_{};
  // Last scale-ups read back from the store, for pools whose NodePool object has not been seen yet.
  std::map<std::string, TimePoint> restoredScaleUp_;
  std::string lastMemoryJson_;  // the memory as last written (or read back), to save again only on change
  int unschedulable_ = 0;
  double oldestUnschedulable_ = 0;
  uint64_t nameCounter_ = 0;
};

}  // namespace spotfit::scaler

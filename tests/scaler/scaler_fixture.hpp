#pragma once
// Test doubles and builders for the scaler's reconcile-loop tests: a recording ClusterActions, a tiny
// in-memory cluster that turns provider creates into Nodes, and pod/node/pool builders.

#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "scaler/memory_provider.hpp"
#include "scaler/planner.hpp"
#include "scaler/scaler.hpp"

namespace spotfit::scaler::testing {

struct RecordedEvent {
  ObjectRef object;
  std::string type, reason, message;
};

class RecordingActions final : public ClusterActions {
 public:
  Status taintNode(const std::string& node, const placement::Taint& taint) override;
  Status untaintNode(const std::string& node, const std::string& key) override;
  EvictOutcome evictPod(const std::string& ns, const std::string& name, std::string& message) override;
  Status deleteNode(const std::string& node) override;
  void event(const ObjectRef& object, const std::string& type, const std::string& reason,
             const std::string& message) override;
  Status updateNodePoolStatus(const std::string& pool, const std::string& statusJson) override;

  int count(const std::string& reason) const;  // events with this reason
  const RecordedEvent* find(const std::string& reason) const;

  std::vector<std::pair<std::string, placement::Taint>> taints;
  std::vector<std::pair<std::string, std::string>> untaints;
  std::vector<std::string> evictions;                           // ns/name of every attempt
  std::map<std::string, std::deque<EvictOutcome>> evictScript;  // per pod key; default Evicted
  std::vector<std::string> deletedNodes;
  std::vector<RecordedEvent> events;
  std::map<std::string, std::string> statuses;
  int statusWrites = 0;
  bool failTaint = false;
  std::function<void(const std::string&)> onEvicted;  // lets the cluster drop evicted pods
};

// Pools, nodes and pods.
InstanceType type(std::string name, int64_t cpuMilli, int64_t memGi, double onDemand, double spot, int64_t gpus = 0,
                  std::string gpuProduct = "");
NodePool pool(std::string name, std::vector<CapacityType> capacityTypes, std::vector<InstanceType> types);
// A spot-first pool (on-demand as fallback) of m5.large (2 CPU, 8 GiB) and m5.xlarge (4 CPU, 16 GiB) at
// their us-east-1 prices.
NodePool m5Pool(std::string name);
// An unschedulable pod of Job team/train (workflow "train"): a Job's pod, which scale-down does not move.
ClusterPod pendingPod(const std::string& name, int64_t cpuMilli, int64_t memMi, int64_t gpus = 0);
// The same pod owned by a ReplicaSet: a Deployment's pod, which may be moved to empty a node.
ClusterPod replicaSetPod(const std::string& name, int64_t cpuMilli, int64_t memMi);

// The taint key the AWS node termination handler puts on a node with a spot interruption notice.
inline constexpr const char* kAwsSpotNotice = "aws-node-termination-handler/spot-itn";

// A cluster the tests mutate between reconciles.
class Cluster {
 public:
  ClusterSnapshot snapshot;
  // Turns every live provider node that is not a Node yet into one (Ready unless told otherwise).
  void materialize(const InMemoryProvider& provider, bool ready = true, bool advertiseExtended = true);
  ClusterNode& node(const std::string& name);
  ClusterPod& pod(const std::string& name);
  void bind(const std::string& pod, const std::string& node, TimePoint at);
  void removeNode(const std::string& name);
  void removePod(const std::string& name);
  void recomputeRequested();
  // Adds a ready node of the pool's first instance type.
  ClusterNode& addNode(const NodePool& pool, const std::string& name, CapacityType ct, TimePoint created);
  // Gives `node` the NoSchedule taint `key`, as an interruption notice handler does.
  void interruptionNotice(const std::string& node, const std::string& key = kAwsSpotNotice);
};

struct Env {
  kube::ManualClock clock;
  InMemoryProvider provider{clock};
  RecordingActions actions;
  PlacementPlanner planner;
  InMemoryLedgerStore store;
  std::vector<std::string> logs;
  ScalerConfig config;
  Cluster cluster;
  std::unique_ptr<Scaler> scaler;

  Env();
  Scaler& start();
  ReconcileResult reconcile() { return scaler->reconcile(cluster.snapshot); }
  // Adds `pod` to the cluster, bound to `node` and running from now.
  ClusterPod& runPod(ClusterPod pod, const std::string& node);
  // Reconciles, waits out the 1 s batch idle time and reconciles again: the pods pending at the first
  // pass form one closed batch and get capacity at the second.
  void closeBatch();
  // Reconciles every `step` until `d` has passed (fake time), materializing provider nodes as they come.
  void runFor(Duration d, Duration step = std::chrono::milliseconds(250), bool materialize = true);
  bool logged(const std::string& needle) const;
};

}  // namespace spotfit::scaler::testing

#pragma once
// Internal state of one simulation run (see engine.hpp for the model). Split over engine.cpp (events,
// pods, nodes, metrics), mutation.cpp (what the webhook does to a pod), cluster_autoscaler.cpp (the
// baseline autoscaler) and spotfit_scaler.cpp (spotfit's scale-up, interruptions and consolidation).

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "kube/clock.hpp"
#include "placement/model.hpp"
#include "placement/resources.hpp"
#include "placement/solver.hpp"
#include "profile/profile.hpp"
#include "scaler/prewarm.hpp"
#include "scaler/snapshot.hpp"

namespace spotfit::scaler {
class Scaler;
class PlacementPlanner;
}  // namespace spotfit::scaler
#include "sim/engine.hpp"
#include "sim/workload.hpp"

namespace spotfit::sim {

inline constexpr uint32_t kNone = std::numeric_limits<uint32_t>::max();
inline constexpr Millis kKarpenterTick = 1000;  // the karpenter strategy's clock resolution

enum class EvType : uint8_t {
  Arrival,
  SchedulePass,
  TaskFinish,
  PodTerminated,
  NodeReady,
  NodeNotice,
  NodeKill,
  CaScan,
  Reconcile,      // spotfit's scaler: a reconcile asked for (events, wake-ups)
  ScalerTick,     // spotfit's scaler: the periodic reconcile
  KarpenterTick,  // the karpenter strategy's provisioner batch check and disruption polling
  Sample
};

struct Event {
  Millis t;
  uint64_t seq;
  EvType type;
  uint32_t a;
  uint32_t b;
};

struct EventLater {
  bool operator()(const Event& x, const Event& y) const { return x.t != y.t ? x.t > y.t : x.seq > y.seq; }
};

// What the pods of one job look like after admission under a strategy (all pods of a job are equal:
// they form the scheduler's and the solver's equivalence class).
struct PodClass {
  placement::PodInfo info;
  placement::Resources requests;       // podRequests(info), after right-sizing
  placement::Resources usage;          // what the pod actually uses
  bool checkpointHook = false;         // a preStop checkpoint hook runs on eviction
  bool checkpointed = false;           // ... and the program resumes from it
  std::vector<std::string> mutations;  // what the webhook changed, for the report
  bool profileJob = false;             // spotfit.io/right-size: profile under a right-sizing strategy
  bool profileLearned = false;         // ... and sized from the learned profile (sim/profiles.hpp)
};

// Whether the strategy runs spotfit's admission webhook on the pods.
bool usesWebhook(const StrategyConfig& s);
// Builds a job's pod and admits it under the strategy: as written, or through the webhook's mutation
// policy. Error when the policy refuses the pod's annotations.
// `learned`: the job's workflow profile once it sizes pods (sim/profiles.hpp), for right-size: profile jobs.
Result<PodClass> admitPod(const Workload& w, const StrategyConfig& s, const WorkflowSpec& wf, const JobSpec& job,
                          const std::map<std::string, std::string>& annotations,
                          const profile::WorkflowProfile* learned = nullptr);
// admitPod plus whether the checkpoint makes the program resumable; the pod as written on an error.
PodClass mutatePod(const Workload& w, const StrategyConfig& s, const WorkflowSpec& wf, const JobSpec& job,
                   const std::map<std::string, std::string>& annotations,
                   const profile::WorkflowProfile* learned = nullptr);

struct Offering {
  uint32_t pool = 0, type = 0;
  bool spot = false;
  double price = 0;
  uint32_t solverOffering = 0;  // index in the placement InstanceType's offerings
  placement::NodeInfo templ;    // an empty node of this offering (placement::nodeFromOffering)
};

// The workload's pools in the placement model (every capacity type the strategy may use).
std::vector<placement::NodePool> solverPoolsFor(const Workload& w, const StrategyConfig& s);

// The two pool conversions (solverPoolsFor for the placement model, setupSpotfitScaler for the scaler's
// config) share these, so the baseline, the solver and spotfit's scaler see the same taints and capacity
// types. The workload parser has already checked every effect.
std::vector<placement::Taint> placementTaints(const std::vector<Taint>& taints);
// A pool launches spot nodes only if both the pool and the strategy allow spot.
bool poolAllowsSpot(const NodePoolSpec& spec, const StrategyConfig& s);

std::vector<Offering> offeringsFor(const Workload& w, const StrategyConfig& s);

enum class TaskState : uint8_t { Pending, Running, Terminating, Done };

struct Task {
  uint32_t job = 0;
  uint32_t index = 0;
  Millis work = 0;  // total work
  Millis done = 0;  // progress kept across evictions
  TaskState state = TaskState::Pending;
  int32_t node = -1;
  Millis boundAt = 0, runStart = 0;
  uint32_t attempt = 0;
  uint32_t completions = 0;
  Millis pendingSince = 0;
  Millis unschedulableSince = -1;
  double costRate = 0;    // USD/hour on its current node (OpenCost split)
  Millis heldSince = -1;  // gang member bound, waiting for the rest of its gang (gang.cpp)
};

struct JobRun {
  uint32_t run = 0;   // WorkflowRun
  uint32_t spec = 0;  // index in the workflow's jobs
  uint32_t cls = 0;   // PodClass
  int64_t created = 0, completed = 0, depsLeft = 0;
  std::vector<uint32_t> dependents;
  // Gangs (gang.cpp): the job's pods start only when all its members run.
  bool gang = false;
  bool gangStarted = false;
  bool gangAllRanOnce = false;
  int64_t gangBound = 0;  // members bound to nodes
  Millis gangSubmitted = 0;
  std::vector<uint32_t> members;
};

struct WorkflowRun {
  uint32_t spec = 0;
  uint32_t arrivalIndex = 0;
  Millis arrival = 0;
  uint32_t firstJob = kNone;
  int64_t jobsLeft = 0;
  Millis finishedAt = -1;
};

enum class NodeState : uint8_t { Launching, Ready, Gone };

struct Node {
  placement::NodeInfo info;
  placement::Resources usage;
  uint32_t offering = 0, pool = 0;
  bool spot = false;
  double price = 0;
  NodeState state = NodeState::Launching;
  Millis launchedAt = 0, readyAt = -1, goneAt = -1, lastChange = 0;
  Millis emptySince = 0;
  Millis unneededSince = -1;  // CA scale-down bookkeeping
  Millis podEventAt = 0;      // last pod bound to or removed from the node (Karpenter's consolidateAfter)
  bool willFail = false;      // the cloud has no capacity: never becomes Ready
  bool billed = true;
  bool draining = false;
  bool noticed = false;  // spot interruption notice received
  double interruptDraw = 0;
  uint64_t seq = 0;
  std::vector<uint32_t> tasks;
};

class SimActions;
class SimProvider;

class Cluster {
 public:
  Cluster(const Workload& w, const StrategyConfig& s, uint64_t seed);
  ~Cluster();
  void run();
  const StrategyResult& result() const { return result_; }

 private:
  friend class SimActions;
  friend class SimProvider;

  // engine.cpp
  void push(Millis t, EvType type, uint32_t a = 0, uint32_t b = 0);
  void buildOfferings();
  void buildArrivals();
  void setupSeries();
  bool finished() const;
  void dispatch(const Event& e);
  void arrive(uint32_t runIndex);
  void startJob(uint32_t jobIndex);
  const JobSpec& jobSpec(const JobRun& job) const;
  void createTask(uint32_t jobIndex);
  void makePending(uint32_t taskIndex);
  void queuePass();
  void taskFinished(uint32_t taskIndex);
  void evict(uint32_t taskIndex, bool interruption, bool immediate);
  void podTerminated(uint32_t taskIndex);
  void bind(uint32_t taskIndex, uint32_t nodeIndex);
  void unbind(uint32_t taskIndex);
  uint32_t podClass(uint32_t workflowSpec, uint32_t jobSpecIndex);
  // CronJobs for the scaler's pre-warming: workflows with a cron arrival (sim/cron_arrivals.cpp).
  void buildCronJobs();
  void addPrewarmCosts(Millis end);
  int32_t cheapestOfferingOfPool(uint32_t pool, bool allowSpot) const;
  bool marketUnavailable(const Offering& o, Millis t) const;
  uint32_t launchNode(uint32_t offeringIndex, bool forceAvailable, const std::string& name = "");
  void nodeReady(uint32_t idx);
  void interruptionNotice(uint32_t idx);
  void drain(uint32_t idx);
  void nodeGone(uint32_t idx, bool evictNow);
  void accountNode(const Node& n, Millis until);
  void advanceCost();
  void touchNode(uint32_t idx);
  const std::vector<uint32_t>& schedulableNodes();
  double schedulerScore(const PodClass& cls, const Node& n, uint32_t taskIndex) const;
  void schedulePass();
  void sample();
  void finish(Millis end);

  // gang.cpp
  void gangJobStarted(uint32_t jobIndex);
  void gangTaskCreated(uint32_t taskIndex);
  bool gangHold(uint32_t taskIndex);        // true: the gang's start (or wait) pushed the finish itself
  void gangUnbound(uint32_t taskIndex);     // before the member leaves its node
  void gangMemberLost(uint32_t taskIndex);  // a running member of a started gang is evicted
  void gangFinish();

  // cluster_autoscaler.cpp
  void caScan();
  void caScaleUp();
  void caScaleDown();

  // karpenter.cpp
  void karpenterTick();
  void karpenterProvision();
  void karpenterDisrupt();
  bool karpenterCandidate(uint32_t nodeIndex) const;
  struct KarpenterPlan {
    bool ok = false;
    int32_t replacement = -1;  // offering of the one replacement node, -1 for a plain delete
  };
  // `pending`: the unschedulable pending pods, placed first (computed once per disruption pass).
  KarpenterPlan karpenterSimulate(const std::vector<uint32_t>& candidates, const std::vector<uint32_t>& pending);
  bool karpenterOfferingUsable(uint32_t offering) const;
  bool karpenterCompatible(uint32_t cls, uint32_t offering);

  // spotfit_scaler.cpp
  scaler::TimePoint timePoint(Millis t) const;
  Millis millisOf(scaler::TimePoint t) const;
  Node* nodeByName(const std::string& name);
  std::string podName(uint32_t taskIndex) const;
  std::optional<uint32_t> taskByPodName(const std::string& name) const;
  void setupSpotfitScaler();
  void requestReconcile(Millis at);
  scaler::ClusterSnapshot snapshot() const;
  scaler::ClusterPod clusterPod(uint32_t taskIndex) const;
  void reconcile();
  void interruptionNoticeForScaler(uint32_t idx);

  const Workload& w_;
  StrategyConfig s_;
  uint64_t seed_;

  Millis now_ = 0;
  uint64_t seq_ = 0;
  std::priority_queue<Event, std::vector<Event>, EventLater> events_;

  std::vector<Offering> offerings_;
  std::vector<WorkflowRun> runs_;
  std::vector<JobRun> jobs_;
  std::vector<Task> tasks_;
  std::vector<Node> nodes_;
  std::vector<PodClass> classes_;
  std::map<uint64_t, uint32_t> classIndex_;
  profile::ProfileBook profiles_;  // what right-size: profile jobs taught (sim/profiles.hpp)

  std::vector<uint32_t> pending_;  // FIFO of pending tasks (may hold stale entries)
  // checkpointMoves: tasks finished since the last reconcile (task, bound at, finished at), shown to the
  // scaler once as Succeeded pods so its Job history learns their runtimes, as it does from a real cluster.
  struct FinishedTask {
    uint32_t task;
    Millis boundAt, finishedAt;
  };
  std::vector<FinishedTask> finishedForScaler_;
  int64_t pendingCount_ = 0, runningCount_ = 0;
  bool passQueued_ = false;
  std::vector<uint32_t> live_;  // nodes not Gone, in launch order
  std::vector<int64_t> poolLive_;
  std::vector<uint32_t> schedulable_;
  bool schedulableDirty_ = true;
  uint64_t nodeSeq_ = 0;
  size_t arrivalsSeen_ = 0, workflowsDone_ = 0;
  Millis firstArrival_ = 0, lastCompletion_ = 0;

  // Cluster Autoscaler state.
  Millis lastScaleUp_ = -std::numeric_limits<Millis>::max() / 2;
  std::map<uint32_t, Millis> backoffUntil_;  // offering -> time

  // The karpenter strategy (karpenter.cpp).
  struct KarpenterCommand {
    std::vector<uint32_t> candidates;
    int32_t replacementOffering = -1;
    int32_t replacementNode = -1;  // launched once validated; the candidates drain when it is Ready
    Millis decidedAt = 0;
    bool validated = false;
  };
  struct KarpenterState {
    Millis batchStart = -1, batchLast = -1;
    size_t batchSeen = 0;
    Millis nextDisruption = 0;
    std::map<uint32_t, Millis> unavailableUntil;               // offering -> time (the insufficient-capacity cache)
    std::map<std::pair<uint32_t, uint32_t>, bool> compatible;  // (pod class, offering) -> fits an empty node
    std::optional<KarpenterCommand> command;
  } k_;

  // spotfit's scaler and the simulator's implementations of its ports.
  std::unique_ptr<kube::ManualClock> clock_;
  std::unique_ptr<SimActions> actions_;
  std::unique_ptr<SimProvider> provider_;
  std::unique_ptr<scaler::PlacementPlanner> planner_;
  std::unique_ptr<scaler::Scaler> scaler_;
  std::vector<scaler::CronJobInfo> cronJobs_;              // handed to the scaler in every snapshot
  std::map<uint32_t, std::vector<double>> pendingBySpec_;  // workflow spec -> pod pending seconds
  std::set<Millis> reconcileAt_;                           // reconciles already queued
  int64_t reconciles_ = 0;
  std::map<std::tuple<std::string, std::string, bool>, uint32_t> offeringByName_;  // (pool, type, spot)
  std::map<std::string, uint32_t> nodeIndex_;                                      // node name -> index

  // Metrics.
  StrategyResult result_;
  double costRate_ = 0, costAcc_ = 0;
  Millis costAt_ = 0;
  double attributedTotal_ = 0, spotCpuHours_ = 0, totalCpuHours_ = 0;
  std::vector<double> completionTimes_, scaleUpLatencies_;
  std::vector<double> gangAllRunning_;  // seconds, gang submitted -> all members running (first time)
  struct Fractions {
    void add(double fraction, double weight);
    Percentiles summary() const;
    double shareAtLeast(double fraction) const;  // share of the weight at or above `fraction`
    std::vector<double> bins = std::vector<double>(1001, 0.0);
    double sum = 0, total = 0;
  };
  Fractions cpuAlloc_, memAlloc_, cpuUse_, memUse_;
};

}  // namespace spotfit::sim

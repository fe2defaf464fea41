// The spotfit strategies' autoscaler is spotfit's own scaler: scaler::Scaler::reconcile() on a snapshot of
// the simulated cluster, acting through simulator implementations of its ports (ClusterActions evicts and
// deletes simulated pods and nodes, NodeProvider launches simulated nodes and answers "insufficient
// capacity" during a spot outage) and planning with scaler::PlacementPlanner, i.e. the placement core's
// scale-up solver. Batching, the unavailable-offering cache, interruption handling with its on-demand
// cool-off, in-flight accounting, empty/underused consolidation and drains are therefore exactly the
// scaler's code. The simulator only decides when reconcile runs: whenever pods become unschedulable, a
// node becomes Ready or gets an interruption notice, when the scaler asks to be woken, and every
// consolidationInterval.

#include <algorithm>
#include <charconv>

#include "scaler/interruptions.hpp"
#include "sim/cluster.hpp"
#include "sim/scaler_ports.hpp"

namespace spotfit::sim {

namespace pl = spotfit::placement;

namespace {

constexpr const char* kProviderType = "simulator";

std::chrono::milliseconds ms(Millis v) {
  return std::chrono::milliseconds(v);
}

}  // namespace

Cluster::~Cluster() = default;

scaler::TimePoint Cluster::timePoint(Millis t) const {
  return scaler::TimePoint{} + ms(t);
}

Millis Cluster::millisOf(scaler::TimePoint t) const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t - scaler::TimePoint{}).count();
}

Node* Cluster::nodeByName(const std::string& name) {
  auto it = nodeIndex_.find(name);
  return it == nodeIndex_.end() ? nullptr : &nodes_[it->second];
}

// Pod names are "t<task>-<attempt>": a pod that is evicted and recreated by its Job is a new pod.
std::string Cluster::podName(uint32_t taskIndex) const {
  return "t" + std::to_string(taskIndex) + "-" + std::to_string(tasks_[taskIndex].attempt);
}

std::optional<uint32_t> Cluster::taskByPodName(const std::string& name) const {
  if (name.size() < 2 || name[0] != 't') return std::nullopt;
  uint32_t task = 0, attempt = 0;
  const char* p = name.data() + 1;
  const char* end = name.data() + name.size();
  auto r1 = std::from_chars(p, end, task);
  if (r1.ec != std::errc() || r1.ptr == end || *r1.ptr != '-') return std::nullopt;
  auto r2 = std::from_chars(r1.ptr + 1, end, attempt);
  if (r2.ec != std::errc() || r2.ptr != end || task >= tasks_.size()) return std::nullopt;
  if (tasks_[task].attempt != attempt) return std::nullopt;
  return task;
}

void Cluster::setupSpotfitScaler() {
  scaler::ScalerConfig cfg;
  cfg.namespaceName = "spotfit";
  cfg.batchIdle = ms(w_.spotfit.batchIdle);
  cfg.batchMax = ms(w_.spotfit.batchMax);
  cfg.offeringUnavailableFor = ms(w_.spotfit.unavailableFor);
  cfg.scaleDownCooldown = ms(w_.spotfit.scaleDownCooldown);
  cfg.interruption.window = ms(w_.spotfit.interruptionWindow);
  cfg.interruption.threshold = static_cast<int>(w_.spotfit.interruptionThreshold);
  cfg.interruption.coolOff = ms(w_.spotfit.coolOff);
  cfg.watchNodePoolObjects = false;
  cfg.publishCostSeries = false;  // nothing reads them here, and they cost O(workflows) per reconcile
  for (const NodePoolSpec& spec : w_.nodePools) {
    scaler::NodePool p;
    p.name = spec.name;
    if (poolAllowsSpot(spec, s_)) p.capacityTypes.push_back(pl::CapacityType::Spot);
    if (spec.onDemand) p.capacityTypes.push_back(pl::CapacityType::OnDemand);
    for (const InstanceTypeSpec& it : spec.instanceTypes) {
      scaler::InstanceType t;
      t.name = it.name;
      t.cpuMilli = it.cpuMilli;
      t.memoryBytes = it.memoryBytes;
      t.gpus = it.gpus;
      t.gpuProduct = it.gpuProduct;
      t.extended = it.extended;
      t.maxPods = it.maxPods;
      t.onDemandPrice = it.onDemandPrice;
      t.spotPrice = it.spotPrice.value_or(0);
      p.instanceTypes.push_back(std::move(t));
    }
    p.labels = spec.labels;
    p.taints = placementTaints(spec.taints);
    p.minNodes = spec.minNodes;
    p.maxNodes = spec.maxNodes;
    p.disruption.consolidateAfter = ms(w_.spotfit.consolidateAfter);
    if (s_.checkpointMoves) {  // a move costs the checkpoint save, the pod's restart and the work lost since it
      p.disruption.disruptCheckpointedJobs = true;
      p.disruption.checkpointRestartTime = ms(w_.checkpoint.saveTime + w_.provisioning.podStartup);
      p.disruption.checkpointLostWork = w_.checkpoint.lostWithCheckpoint;
      p.disruption.consolidateMultiNode = true;
    }
    if (s_.spotRisk) {  // expected runtimes come from the pods' Job history (finished tasks are shown)
      p.spotRisk.enabled = true;
      p.spotRisk.priorInterruptionsPerHour = w_.spotfit.riskPriorPerHour;
      p.spotRisk.priorWeight = ms(w_.spotfit.riskPriorWeight);
      p.spotRisk.defaultRuntime = ms(w_.spotfit.riskDefaultRuntime);
      p.spotRisk.resumableLostWork = w_.checkpoint.lostWithCheckpoint;
      p.spotRisk.maxOfferingShare = w_.spotfit.riskMaxOfferingShare;
      p.spotRisk.maxSpreadPremium = w_.spotfit.riskMaxSpreadPremium;
    }
    p.provider.type = kProviderType;
    // A node that is not Ready well after the provisioning delay marks its offering unavailable.
    p.provider.readyTimeout =
        ms(std::max<Millis>(5 * kMinute, w_.provisioning.delay + w_.provisioning.jitter + kMinute));
    cfg.nodePools.push_back(std::move(p));
  }
  clock_ = std::make_unique<kube::ManualClock>(timePoint(0));
  actions_ = std::make_unique<SimActions>(*this);
  provider_ = std::make_unique<SimProvider>(*this);
  planner_ = std::make_unique<scaler::PlacementPlanner>();
  scaler::NodeProvider* provider = provider_.get();
  scaler_ = std::make_unique<scaler::Scaler>(std::move(cfg), *clock_, *actions_, *planner_,
                                             [provider](const scaler::NodePool&) { return provider; });
}

void Cluster::requestReconcile(Millis at) {
  if (at < now_) at = now_;
  if (!reconcileAt_.insert(at).second) return;
  push(at, EvType::Reconcile);
}

scaler::ClusterSnapshot Cluster::snapshot() const {
  scaler::ClusterSnapshot snap;
  snap.nodes.reserve(live_.size());
  for (uint32_t i : live_) {
    const Node& n = nodes_[i];
    if (n.willFail) continue;  // never registers
    scaler::ClusterNode cn;
    cn.info = n.info;
    cn.info.inFlight = false;
    cn.ready = n.state == NodeState::Ready;
    cn.created = timePoint(n.launchedAt);
    snap.nodes.push_back(std::move(cn));
  }
  for (uint32_t ti : pending_) {
    const Task& t = tasks_[ti];
    if (t.state != TaskState::Pending) continue;
    snap.pods.push_back(clusterPod(ti));
  }
  for (uint32_t i : live_)
    for (uint32_t ti : nodes_[i].tasks) snap.pods.push_back(clusterPod(ti));
  for (const FinishedTask& f : finishedForScaler_) {
    scaler::ClusterPod p = clusterPod(f.task);
    p.info.phase = pl::PodPhase::Succeeded;
    p.unschedulable = false;
    p.deleting = false;
    p.boundAt = timePoint(f.boundAt);
    p.finishedAt = timePoint(f.finishedAt);
    snap.pods.push_back(std::move(p));
  }
  snap.cronJobs = cronJobs_;
  return snap;
}

scaler::ClusterPod Cluster::clusterPod(uint32_t ti) const {
  const Task& t = tasks_[ti];
  scaler::ClusterPod p;
  p.info = classes_[jobs_[t.job].cls].info;
  p.info.name = podName(ti);
  p.info.uid = "uid-" + p.info.name;
  if (jobs_[t.job].gang) p.info.ownerName += "-job" + std::to_string(t.job);  // one gang per job run (gang.cpp)
  if (t.node >= 0) {
    p.info.nodeName = nodes_[static_cast<size_t>(t.node)].info.name;
    p.info.phase = pl::PodPhase::Running;
    p.boundAt = timePoint(t.boundAt);
  } else {
    p.info.phase = pl::PodPhase::Pending;
  }
  p.unschedulable = t.state == TaskState::Pending && t.unschedulableSince >= 0;
  if (p.unschedulable) p.unschedulableSince = timePoint(t.unschedulableSince);
  p.deleting = t.state == TaskState::Terminating;
  return p;
}

void Cluster::reconcile() {
  clock_->set(timePoint(now_));
  scaler::ReconcileResult r = scaler_->reconcile(snapshot());
  finishedForScaler_.clear();
  ++reconciles_;
  // Only future wake-ups: a past one (e.g. an empty node held by the scale-down cool-down) is covered by
  // the periodic tick.
  if (r.wakeAt) {
    Millis at = millisOf(*r.wakeAt);
    if (at > now_) requestReconcile(at);
  }
}

void Cluster::interruptionNoticeForScaler(uint32_t idx) {
  Node& n = nodes_[idx];
  touchNode(idx);
  n.info.taints.push_back(pl::Taint{scaler::kKwokInterruptionTaint, "", pl::TaintEffect::NoSchedule});
  schedulableDirty_ = true;
  requestReconcile(now_);
}

}  // namespace spotfit::sim

#include "sim/engine.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <queue>
#include <set>

#include "placement/cost.hpp"
#include "placement/fit.hpp"
#include "placement/model.hpp"
#include "placement/score.hpp"
#include "sim/cluster.hpp"
#include "sim/profiles.hpp"
#include "sim/rng.hpp"
#include "sim/scaler_ports.hpp"

namespace spotfit::sim {

namespace pl = spotfit::placement;

namespace {

double hours(Millis ms) {
  return static_cast<double>(ms) / static_cast<double>(kHour);
}

Percentiles summarize(std::vector<double> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  double s = 0;
  for (double x : v) s += x;
  p.mean = s / static_cast<double>(v.size());
  auto at = [&](double q) {
    // Nearest rank.
    size_t idx = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
    return v[std::min(v.size() - 1, idx == 0 ? 0 : idx - 1)];
  };
  p.p50 = at(0.5);
  p.p95 = at(0.95);
  return p;
}

}  // namespace

// Time-weighted histogram of a fraction in [0, 1] (0.1% bins): mean and quantiles over node-hours without
// keeping every segment.
void Cluster::Fractions::add(double fraction, double weight) {
  if (weight <= 0) return;
  fraction = std::clamp(fraction, 0.0, 1.0);
  sum += fraction * weight;
  total += weight;
  bins[static_cast<size_t>(std::lround(fraction * 1000))] += weight;
}

Percentiles Cluster::Fractions::summary() const {
  Percentiles p;
  if (total <= 0) return p;
  p.mean = sum / total;
  auto quantile = [&](double q) {
    double target = q * total, acc = 0;
    for (size_t i = 0; i < bins.size(); ++i) {
      acc += bins[i];
      if (acc >= target) return static_cast<double>(i) / 1000.0;
    }
    return 1.0;
  };
  p.p50 = quantile(0.5);
  p.p95 = quantile(0.95);
  return p;
}

std::vector<pl::Taint> placementTaints(const std::vector<Taint>& taints) {
  std::vector<pl::Taint> out;
  out.reserve(taints.size());
  for (const Taint& t : taints) {
    pl::Taint taint;
    taint.key = t.key;
    taint.value = t.value;
    taint.effect = pl::parseTaintEffect(t.effect).value_or(pl::TaintEffect::NoSchedule);
    out.push_back(std::move(taint));
  }
  return out;
}

bool poolAllowsSpot(const NodePoolSpec& spec, const StrategyConfig& s) {
  return spec.spot && (s.spot || s.karpenter);
}

std::vector<pl::NodePool> solverPoolsFor(const Workload& w, const StrategyConfig& s) {
  std::vector<pl::NodePool> pools;
  for (const NodePoolSpec& spec : w.nodePools) {
    pl::NodePool p;
    p.name = spec.name;
    for (const auto& [k, v] : spec.labels) p.labels[k] = v;
    p.taints = placementTaints(spec.taints);
    p.allowSpot = poolAllowsSpot(spec, s);
    p.allowOnDemand = spec.onDemand;
    p.minNodes = static_cast<int32_t>(spec.minNodes);
    p.maxNodes = static_cast<int32_t>(spec.maxNodes);
    for (const InstanceTypeSpec& it : spec.instanceTypes) {
      pl::InstanceType t;
      t.name = it.name;
      t.allocatable.cpuMilli = it.cpuMilli;
      t.allocatable.memory = it.memoryBytes;
      t.allocatable.pods = it.maxPods;
      if (it.gpus > 0) t.allocatable.set(pl::kResourceNvidiaGpu, it.gpus);
      for (const auto& [k, v] : it.extended) t.allocatable.set(k, v);
      t.gpuProduct = it.gpuProduct;
      if (it.spotPrice) t.offerings.push_back(pl::Offering{pl::CapacityType::Spot, *it.spotPrice, true});
      t.offerings.push_back(pl::Offering{pl::CapacityType::OnDemand, it.onDemandPrice, true});
      p.instanceTypes.push_back(std::move(t));
    }
    pools.push_back(std::move(p));
  }
  return pools;
}

// Every (pool, instance type, capacity type) the strategy may launch, with the node it becomes.
std::vector<Offering> offeringsFor(const Workload& w, const StrategyConfig& s) {
  std::vector<pl::NodePool> pools = solverPoolsFor(w, s);
  std::vector<Offering> out;
  for (uint32_t p = 0; p < pools.size(); ++p) {
    const pl::NodePool& pool = pools[p];
    for (uint32_t t = 0; t < pool.instanceTypes.size(); ++t) {
      const pl::InstanceType& it = pool.instanceTypes[t];
      for (uint32_t k = 0; k < it.offerings.size(); ++k) {
        const pl::Offering& off = it.offerings[k];
        bool spot = off.capacityType == pl::CapacityType::Spot;
        if (spot ? !pool.allowSpot : !pool.allowOnDemand) continue;
        Offering o;
        o.pool = p;
        o.type = t;
        o.spot = spot;
        o.price = off.hourlyPrice;
        o.solverOffering = k;
        o.templ = pl::nodeFromOffering(pool, it, off, pool.name + "/" + it.name + (spot ? "/spot" : "/on-demand"));
        out.push_back(std::move(o));
      }
    }
  }
  return out;
}

Status checkPlaceable(const Workload& w, const StrategyConfig& s) {
  std::vector<Offering> offerings = offeringsFor(w, s);
  for (size_t i = 0; i < w.workflows.size(); ++i) {
    const WorkflowSpec& wf = w.workflows[i];
    for (size_t k = 0; k < wf.jobs.size(); ++k) {
      const JobSpec& job = wf.jobs[k];
      std::map<std::string, std::string> ann = wf.annotations;
      for (const auto& [key, v] : job.annotations) ann[key] = v;
      auto admitted = admitPod(w, s, wf, job, ann);
      if (!admitted)
        return makeError("invalid", w.source + ":" + std::to_string(job.line) + ": workflows[" + std::to_string(i) +
                                        "].jobs[" + std::to_string(k) +
                                        "]: admission refused the pod: " + admitted.error().message);
      const PodClass& cls = *admitted;
      std::string why;
      bool ok = false;
      for (const Offering& o : offerings) {
        pl::FitVerdict v = pl::fit(cls.info, cls.requests, o.templ);
        if (v.fits) {
          ok = true;
          break;
        }
        if (why.empty()) why = o.templ.name + ": " + v.reason;
      }
      if (!ok) {
        if (offerings.empty()) why = "the strategy may launch no offering of any pool";
        return makeError("invalid", w.source + ":" + std::to_string(job.line) + ": workflows[" + std::to_string(i) +
                                        "].jobs[" + std::to_string(k) + "]: under strategy " + s.name +
                                        " its pods fit no node of any pool (" + why + ")");
      }
    }
  }
  return {};
}

double Cluster::Fractions::shareAtLeast(double fraction) const {
  if (total <= 0) return 0;
  double acc = 0;
  for (size_t i = static_cast<size_t>(std::lround(fraction * 1000)); i < bins.size(); ++i) acc += bins[i];
  return acc / total;
}

StrategyResult simulate(const Workload& workload, const StrategyConfig& strategy, const SimulationOptions& options) {
  Cluster cluster(workload, strategy, options.seed);
  cluster.run();
  return cluster.result();
}

// ------------------------------------------------------------------------------------------------------
// Cluster

Cluster::Cluster(const Workload& w, const StrategyConfig& s, uint64_t seed) : w_(w), s_(s), seed_(seed) {
  buildOfferings();
  buildArrivals();
  buildCronJobs();
  setupSeries();
}

void Cluster::push(Millis t, EvType type, uint32_t a, uint32_t b) {
  events_.push(Event{t, seq_++, type, a, b});
}

void Cluster::buildOfferings() {
  offerings_ = offeringsFor(w_, s_);
  poolLive_.assign(w_.nodePools.size(), 0);
  if (s_.spotfitScaler) {
    for (uint32_t i = 0; i < offerings_.size(); ++i) {
      const Offering& o = offerings_[i];
      offeringByName_[{w_.nodePools[o.pool].name, w_.nodePools[o.pool].instanceTypes[o.type].name, o.spot}] = i;
    }
    setupSpotfitScaler();
  }
}

// Arrival times are drawn per workflow from (seed, workflow name): every strategy sees the same ones.
void Cluster::buildArrivals() {
  for (uint32_t i = 0; i < w_.workflows.size(); ++i) {
    const WorkflowSpec& wf = w_.workflows[i];
    std::vector<Millis> times = wf.arrival.at;
    if (wf.arrival.every) {
      Millis until = std::min(wf.arrival.everyUntil.value_or(w_.horizon), w_.horizon);
      for (Millis t = wf.arrival.everyStart; t <= until; t += *wf.arrival.every) times.push_back(t);
    }
    if (wf.arrival.cron) {
      for (Millis t : cronArrivals(*wf.arrival.cron, w_.horizon, static_cast<size_t>(kMaxTasks) + 1))
        times.push_back(t);
    }
    if (wf.arrival.diurnalPerHour && *wf.arrival.diurnalPerHour > 0) {
      // Non-homogeneous Poisson process by thinning.
      Rng rng(mixKeys(seed_, stableHash("arrivals/" + wf.name)));
      double peak = *wf.arrival.diurnalPerHour * (1 + wf.arrival.diurnalAmplitude);
      double t = 0;
      const double horizonH = hours(w_.horizon);
      while (true) {
        t += rng.exponential(1.0 / peak);
        if (t >= horizonH) break;
        double hourOfDay = std::fmod(t, 24.0);
        double rate = *wf.arrival.diurnalPerHour *
                      (1 + wf.arrival.diurnalAmplitude *
                               std::cos(2 * 3.141592653589793 * (hourOfDay - wf.arrival.diurnalPeakHour) / 24.0));
        if (rng.uniform() * peak <= rate) times.push_back(static_cast<Millis>(t * kHour));
      }
    }
    std::sort(times.begin(), times.end());
    for (uint32_t k = 0; k < times.size(); ++k) {
      WorkflowRun run;
      run.spec = i;
      run.arrivalIndex = k;
      run.arrival = times[k];
      runs_.push_back(run);
    }
  }
  // Arrival events in time order (ties by workflow order) so sequence numbers are deterministic.
  std::vector<uint32_t> order(runs_.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return runs_[a].arrival < runs_[b].arrival; });
  for (uint32_t i : order) push(runs_[i].arrival, EvType::Arrival, i);
  result_.workflows = static_cast<int64_t>(runs_.size());
  if (!runs_.empty()) firstArrival_ = runs_[order.front()].arrival;
}

void Cluster::setupSeries() {
  auto& c = result_.series.columns;
  c = {"time_s", "nodes_total", "nodes_launching"};
  for (const auto& p : w_.nodePools) {
    c.push_back("nodes_" + p.name + "_spot");
    c.push_back("nodes_" + p.name + "_on_demand");
  }
  for (const char* k : {"cost_usd", "cost_rate_usd_per_hour", "cpu_allocation", "memory_allocation", "cpu_usage",
                        "memory_usage", "pods_pending", "pods_running", "workflows_done"})
    c.push_back(k);
}

void Cluster::run() {
  result_.strategy = s_.name;
  // Pool minimums exist from the start, Ready at time 0.
  for (uint32_t p = 0; p < w_.nodePools.size(); ++p) {
    for (int64_t k = 0; k < w_.nodePools[p].minNodes; ++k) {
      int32_t o = cheapestOfferingOfPool(p, /*allowSpot=*/false);
      if (o < 0) o = cheapestOfferingOfPool(p, true);
      if (o < 0) break;
      uint32_t n = launchNode(static_cast<uint32_t>(o), /*forceAvailable=*/true);
      nodeReady(n);
    }
  }
  push(0, EvType::Sample);
  if (s_.spotfitScaler) {
    push(w_.spotfit.consolidationInterval, EvType::ScalerTick);
  } else if (s_.karpenter) {
    push(kKarpenterTick, EvType::KarpenterTick);
  } else {
    push(w_.clusterAutoscaler.scanInterval, EvType::CaScan);
  }
  const Millis hardStop = w_.horizon + w_.drainLimit;
  while (!events_.empty()) {
    Event e = events_.top();
    if (e.t > hardStop) break;
    events_.pop();
    now_ = e.t;
    dispatch(e);
    if (finished()) break;
  }
  finish(std::min(now_, hardStop));
}

bool Cluster::finished() const {
  if (arrivalsSeen_ < runs_.size() || workflowsDone_ < runs_.size()) return false;
  for (uint32_t p = 0; p < poolLive_.size(); ++p)
    if (poolLive_[p] > w_.nodePools[p].minNodes) return false;
  return true;
}

void Cluster::dispatch(const Event& e) {
  switch (e.type) {
    case EvType::Arrival:
      arrive(e.a);
      break;
    case EvType::SchedulePass:
      passQueued_ = false;
      schedulePass();
      break;
    case EvType::TaskFinish:
      if (tasks_[e.a].attempt == e.b && tasks_[e.a].state == TaskState::Running) taskFinished(e.a);
      break;
    case EvType::PodTerminated:
      if (tasks_[e.a].attempt == e.b && tasks_[e.a].state == TaskState::Terminating) podTerminated(e.a);
      break;
    case EvType::NodeReady:
      if (nodes_[e.a].state == NodeState::Launching) nodeReady(e.a);
      break;
    case EvType::NodeNotice:
      if (nodes_[e.a].state == NodeState::Ready) interruptionNotice(e.a);
      break;
    case EvType::NodeKill:
      if (nodes_[e.a].state != NodeState::Gone) nodeGone(e.a, /*evictNow=*/true);
      break;
    case EvType::CaScan:
      caScan();
      push(now_ + w_.clusterAutoscaler.scanInterval, EvType::CaScan);
      break;
    case EvType::KarpenterTick:
      karpenterTick();
      push(now_ + kKarpenterTick, EvType::KarpenterTick);
      break;
    case EvType::Reconcile:
      reconcileAt_.erase(e.t);
      reconcile();
      break;
    case EvType::ScalerTick:
      reconcile();
      push(now_ + w_.spotfit.consolidationInterval, EvType::ScalerTick);
      break;
    case EvType::Sample:
      sample();
      push(now_ + w_.sampleInterval, EvType::Sample);
      break;
  }
}

// ------------------------------------------------------------------------------------------------------
// Workflows, jobs, tasks

void Cluster::arrive(uint32_t runIndex) {
  ++arrivalsSeen_;
  WorkflowRun& run = runs_[runIndex];
  const WorkflowSpec& wf = w_.workflows[run.spec];
  run.firstJob = static_cast<uint32_t>(jobs_.size());
  run.jobsLeft = static_cast<int64_t>(wf.jobs.size());
  for (uint32_t j = 0; j < wf.jobs.size(); ++j) {
    JobRun job;
    job.run = runIndex;
    job.spec = j;
    job.cls = podClass(run.spec, j);
    job.depsLeft = static_cast<int64_t>(wf.jobs[j].after.size());
    jobs_.push_back(job);
  }
  for (uint32_t j = 0; j < wf.jobs.size(); ++j) {
    for (const auto& dep : wf.jobs[j].after) {
      for (uint32_t k = 0; k < j; ++k)
        if (wf.jobs[k].name == dep) jobs_[run.firstJob + k].dependents.push_back(run.firstJob + j);
    }
  }
  for (uint32_t j = 0; j < wf.jobs.size(); ++j)
    if (jobs_[run.firstJob + j].depsLeft == 0) startJob(run.firstJob + j);
}

void Cluster::startJob(uint32_t jobIndex) {
  JobRun& job = jobs_[jobIndex];
  const JobSpec& spec = jobSpec(job);
  int64_t n = std::min(spec.parallelism, spec.completions);
  gangJobStarted(jobIndex);
  for (int64_t i = 0; i < n; ++i) createTask(jobIndex);
}

const JobSpec& Cluster::jobSpec(const JobRun& job) const {
  return w_.workflows[runs_[job.run].spec].jobs[job.spec];
}

void Cluster::createTask(uint32_t jobIndex) {
  JobRun& job = jobs_[jobIndex];
  const JobSpec& spec = jobSpec(job);
  const WorkflowRun& run = runs_[job.run];
  Task t;
  t.job = jobIndex;
  t.index = static_cast<uint32_t>(job.created++);
  // Duration keyed by (seed, workflow, arrival, job, task): identical across strategies.
  uint64_t key = mixKeys(mixKeys(seed_, stableHash(w_.workflows[run.spec].name + "/" + spec.name)),
                         (static_cast<uint64_t>(run.arrivalIndex) << 32) | t.index);
  Rng rng(key);
  double ms = 0;
  switch (spec.duration.kind) {
    case DurationDist::Kind::Fixed:
      ms = static_cast<double>(spec.duration.a);
      break;
    case DurationDist::Kind::Uniform:
      ms =
          static_cast<double>(spec.duration.a) + rng.uniform() * static_cast<double>(spec.duration.b - spec.duration.a);
      break;
    case DurationDist::Kind::LogNormal:
      ms = rng.lognormal(static_cast<double>(spec.duration.a), static_cast<double>(spec.duration.b));
      break;
    case DurationDist::Kind::Exponential:
      ms = rng.exponential(static_cast<double>(spec.duration.a));
      break;
  }
  t.work = std::max<Millis>(1, static_cast<Millis>(std::llround(ms)));
  if (classes_[job.cls].profileJob)
    countRequestUsage(result_.byWorkflow[w_.workflows[run.spec].name], classes_[job.cls]);
  ++result_.tasks;
  tasks_.push_back(t);
  gangTaskCreated(static_cast<uint32_t>(tasks_.size() - 1));
  makePending(static_cast<uint32_t>(tasks_.size() - 1));
}

void Cluster::makePending(uint32_t taskIndex) {
  Task& t = tasks_[taskIndex];
  t.state = TaskState::Pending;
  t.node = -1;
  t.pendingSince = now_;
  t.unschedulableSince = -1;
  pending_.push_back(taskIndex);
  ++pendingCount_;
  queuePass();
}

void Cluster::queuePass() {
  if (passQueued_) return;
  passQueued_ = true;
  push(now_, EvType::SchedulePass);
}

void Cluster::taskFinished(uint32_t taskIndex) {
  Task& t = tasks_[taskIndex];
  Node& node = nodes_[static_cast<size_t>(t.node)];
  if (s_.checkpointMoves || s_.spotRisk) finishedForScaler_.push_back({taskIndex, t.boundAt, now_});
  unbind(taskIndex);
  t.state = TaskState::Done;
  if (++t.completions > 1) ++result_.duplicateCompletions;
  ++result_.tasksCompleted;
  JobRun& job = jobs_[t.job];
  const JobSpec& spec = jobSpec(job);
  ++job.completed;
  if (job.created < spec.completions) createTask(t.job);
  if (job.completed == spec.completions) {
    if (classes_[job.cls].profileJob) {
      learnJobRun(profiles_, w_.workflows[runs_[job.run].spec], spec, classes_[job.cls], runs_[job.run].arrival, now_);
    }
    for (uint32_t d : job.dependents)
      if (--jobs_[d].depsLeft == 0) startJob(d);
    WorkflowRun& run = runs_[job.run];
    if (--run.jobsLeft == 0) {
      run.finishedAt = now_;
      ++workflowsDone_;
      ++result_.workflowsCompleted;
      result_.byWorkflow[w_.workflows[run.spec].name].completed++;
      completionTimes_.push_back(static_cast<double>(now_ - run.arrival) / kSecond);
      lastCompletion_ = std::max(lastCompletion_, now_);
    }
  }
  (void)node;
  queuePass();
}

// Evicts a running or starting pod: its progress is kept (checkpoint) or lost, it terminates after the
// checkpoint's save time (or at once), then goes back to Pending.
void Cluster::evict(uint32_t taskIndex, bool interruption, bool immediate) {
  Task& t = tasks_[taskIndex];
  if (t.state != TaskState::Running) return;
  gangMemberLost(taskIndex);
  const PodClass& cls = classes_[jobs_[t.job].cls];
  Millis progress = t.heldSince >= 0 ? 0 : std::max<Millis>(0, now_ - t.runStart);
  progress = std::min(progress, t.work - t.done);
  double lost = cls.checkpointed ? w_.checkpoint.lostWithCheckpoint : w_.checkpoint.lostWithoutCheckpoint;
  Millis kept = static_cast<Millis>(std::llround(static_cast<double>(progress) * (1.0 - lost)));
  t.done += kept;
  result_.workLostHours += hours(progress - kept);
  if (interruption)
    ++result_.podsInterrupted;
  else
    ++result_.podsEvicted;
  ++t.attempt;  // invalidates the pending TaskFinish
  t.state = TaskState::Terminating;
  Millis grace = (cls.checkpointHook && !immediate) ? w_.checkpoint.saveTime : 0;
  if (grace <= 0) {
    podTerminated(taskIndex);
  } else {
    push(now_ + grace, EvType::PodTerminated, taskIndex, t.attempt);
  }
}

void Cluster::podTerminated(uint32_t taskIndex) {
  Task& t = tasks_[taskIndex];
  int32_t nodeIndex = t.node;
  unbind(taskIndex);
  makePending(taskIndex);
  if (nodeIndex >= 0) {
    Node& n = nodes_[static_cast<size_t>(nodeIndex)];
    if (n.draining && n.tasks.empty() && n.state != NodeState::Gone) nodeGone(static_cast<uint32_t>(nodeIndex), false);
  }
}

void Cluster::bind(uint32_t taskIndex, uint32_t nodeIndex) {
  Task& t = tasks_[taskIndex];
  Node& n = nodes_[nodeIndex];
  const PodClass& cls = classes_[jobs_[t.job].cls];
  touchNode(nodeIndex);
  n.info.requested += cls.requests;
  n.usage += cls.usage;
  n.tasks.push_back(taskIndex);
  n.emptySince = -1;
  n.podEventAt = now_;
  t.state = TaskState::Running;
  t.node = static_cast<int32_t>(nodeIndex);
  t.boundAt = now_;
  t.runStart = now_ + w_.provisioning.podStartup;
  t.costRate = pl::podCostRateOnNode(cls.requests, n.info);
  --pendingCount_;
  ++runningCount_;
  if (t.unschedulableSince >= 0)
    scaleUpLatencies_.push_back(static_cast<double>(now_ - t.unschedulableSince) / kSecond);
  pendingBySpec_[runs_[jobs_[t.job].run].spec].push_back(static_cast<double>(now_ - t.pendingSince) / kSecond);
  if (!gangHold(taskIndex)) push(t.runStart + (t.work - t.done), EvType::TaskFinish, taskIndex, t.attempt);
}

void Cluster::unbind(uint32_t taskIndex) {
  Task& t = tasks_[taskIndex];
  if (t.node < 0) return;
  gangUnbound(taskIndex);
  uint32_t nodeIndex = static_cast<uint32_t>(t.node);
  Node& n = nodes_[nodeIndex];
  const PodClass& cls = classes_[jobs_[t.job].cls];
  touchNode(nodeIndex);
  n.info.requested -= cls.requests;
  n.usage -= cls.usage;
  auto it = std::find(n.tasks.begin(), n.tasks.end(), taskIndex);
  if (it != n.tasks.end()) {
    *it = n.tasks.back();
    n.tasks.pop_back();
  }
  if (n.tasks.empty()) n.emptySince = now_;
  n.podEventAt = now_;
  double attributed = t.costRate * hours(now_ - t.boundAt);
  result_.byWorkflow[w_.workflows[runs_[jobs_[t.job].run].spec].name].attributedUsd += attributed;
  attributedTotal_ += attributed;
  --runningCount_;
  t.node = -1;
}

// ------------------------------------------------------------------------------------------------------
// Pod classes: what the webhook makes of a job's pod template under this strategy.

uint32_t Cluster::podClass(uint32_t workflowSpec, uint32_t jobSpecIndex) {
  const WorkflowSpec& wf = w_.workflows[workflowSpec];
  const JobSpec& job = wf.jobs[jobSpecIndex];
  // A right-size: profile job has two classes: as written, and sized once its profile has its runs.
  const profile::WorkflowProfile* learned = learnedProfile(profiles_, wf, job, profile::RightSizeConfig{});
  uint64_t key = (static_cast<uint64_t>(workflowSpec) << 32) | jobSpecIndex | (learned ? uint64_t{1} << 63 : 0);
  if (auto it = classIndex_.find(key); it != classIndex_.end()) return it->second;
  std::map<std::string, std::string> ann = wf.annotations;
  for (const auto& [k, v] : job.annotations) ann[k] = v;
  PodClass cls = mutatePod(w_, s_, wf, job, ann, learned);
  classes_.push_back(std::move(cls));
  uint32_t idx = static_cast<uint32_t>(classes_.size() - 1);
  classIndex_[key] = idx;
  return idx;
}

// ------------------------------------------------------------------------------------------------------
// Nodes

int32_t Cluster::cheapestOfferingOfPool(uint32_t pool, bool allowSpot) const {
  int32_t best = -1;
  for (uint32_t i = 0; i < offerings_.size(); ++i) {
    const Offering& o = offerings_[i];
    if (o.pool != pool || (o.spot && !allowSpot)) continue;
    if (best < 0 || o.price < offerings_[static_cast<size_t>(best)].price) best = static_cast<int32_t>(i);
  }
  return best;
}

bool Cluster::marketUnavailable(const Offering& o, Millis t) const {
  const std::string& type = w_.nodePools[o.pool].instanceTypes[o.type].name;
  for (const auto& win : w_.spotMarket.unavailable) {
    if ((win.capacityType == "spot") != o.spot) continue;
    if (win.instanceType != "*" && win.instanceType != type) continue;
    if (t >= win.from && t < win.to) return true;
  }
  return false;
}

uint32_t Cluster::launchNode(uint32_t offeringIndex, bool forceAvailable, const std::string& name) {
  const Offering& o = offerings_[offeringIndex];
  Node n;
  n.info = o.templ;
  n.seq = nodeSeq_++;
  n.info.name = name.empty() ? w_.nodePools[o.pool].name + "-" + std::to_string(n.seq) : name;
  n.info.labels["kubernetes.io/hostname"] = n.info.name;
  n.info.inFlight = true;
  n.offering = offeringIndex;
  n.pool = o.pool;
  n.spot = o.spot;
  n.price = o.price;
  n.launchedAt = now_;
  n.lastChange = now_;
  n.emptySince = now_;
  n.podEventAt = now_;
  n.state = NodeState::Launching;
  // A cloud without capacity for this offering never delivers the node (CA waits for it to time out);
  // spotfit's provider call fails at once instead and never gets here.
  n.willFail = !forceAvailable && marketUnavailable(o, now_);
  n.billed = !n.willFail;
  nodes_.push_back(std::move(n));
  uint32_t idx = static_cast<uint32_t>(nodes_.size() - 1);
  nodeIndex_[nodes_[idx].info.name] = idx;
  live_.push_back(idx);
  ++poolLive_[o.pool];
  ++result_.nodesLaunched;
  result_.peakNodes = std::max<int64_t>(result_.peakNodes, static_cast<int64_t>(live_.size()));
  if (nodes_[idx].billed) {
    advanceCost();
    costRate_ += o.price;
  }
  if (!nodes_[idx].willFail) {
    Rng rng(mixKeys(seed_, mixKeys(stableHash("node"), nodes_[idx].seq)));
    Millis delay =
        w_.provisioning.delay + static_cast<Millis>(rng.uniform() * static_cast<double>(w_.provisioning.jitter));
    nodes_[idx].interruptDraw = rng.uniformPositive();
    push(now_ + delay, EvType::NodeReady, idx);
  }
  return idx;
}

void Cluster::nodeReady(uint32_t idx) {
  Node& n = nodes_[idx];
  n.state = NodeState::Ready;
  n.info.inFlight = false;
  n.readyAt = now_;
  n.lastChange = now_;
  n.emptySince = now_;
  schedulableDirty_ = true;
  if (n.spot) {
    const std::string& type = n.info.instanceType;
    double rate = w_.spotMarket.defaultInterruptionsPerHour;
    if (auto it = w_.spotMarket.interruptionsPerHour.find(type); it != w_.spotMarket.interruptionsPerHour.end())
      rate = it->second;
    if (rate > 0) {
      if (n.interruptDraw <= 0) n.interruptDraw = 0.5;
      double afterH = -std::log(n.interruptDraw) / rate;
      Millis at = now_ + static_cast<Millis>(afterH * kHour);
      if (at < w_.horizon + w_.drainLimit) push(at, EvType::NodeNotice, idx);
    }
  }
  queuePass();
  if (s_.spotfitScaler) requestReconcile(now_);
}

void Cluster::interruptionNotice(uint32_t idx) {
  Node& n = nodes_[idx];
  ++result_.spotInterruptions;
  n.noticed = true;
  if (s_.spotfitScaler) {
    // spotfit's scaler sees the notice taint, drains the node and requests replacement capacity at once;
    // the cloud reclaims the node when the notice runs out.
    push(now_ + w_.spotMarket.notice, EvType::NodeKill, idx);
    interruptionNoticeForScaler(idx);
    return;
  }
  n.draining = true;
  touchNode(idx);
  n.info.unschedulable = true;
  schedulableDirty_ = true;
  std::vector<uint32_t> victims = n.tasks;
  push(now_ + w_.spotMarket.notice, EvType::NodeKill, idx);
  // Under the Cluster-Autoscaler model the node termination handler drains the node at the notice; the
  // cloud reclaims it at the deadline and replacements come from the autoscaler's next scans.
  for (uint32_t t : victims) evict(t, /*interruption=*/true, /*immediate=*/false);
}

void Cluster::drain(uint32_t idx) {
  Node& n = nodes_[idx];
  if (n.state == NodeState::Gone) return;
  n.draining = true;
  touchNode(idx);
  n.info.unschedulable = true;
  schedulableDirty_ = true;
  if (n.state == NodeState::Launching || n.tasks.empty()) {
    nodeGone(idx, false);
    return;
  }
  std::vector<uint32_t> victims = n.tasks;
  for (uint32_t t : victims) evict(t, /*interruption=*/false, /*immediate=*/false);
  if (nodes_[idx].tasks.empty() && nodes_[idx].state != NodeState::Gone) nodeGone(idx, false);
}

void Cluster::nodeGone(uint32_t idx, bool evictNow) {
  if (nodes_[idx].state == NodeState::Gone) return;
  if (evictNow) {
    std::vector<uint32_t> victims = nodes_[idx].tasks;
    for (uint32_t t : victims) {
      Task& task = tasks_[t];
      if (task.state == TaskState::Running)
        evict(t, nodes_[idx].noticed, /*immediate=*/true);
      else if (task.state == TaskState::Terminating)
        podTerminated(t);
    }
  }
  Node& n = nodes_[idx];
  touchNode(idx);
  if (n.billed) {
    advanceCost();
    costRate_ -= n.price;
    accountNode(n, now_);
  }
  n.state = NodeState::Gone;
  n.goneAt = now_;
  auto it = std::find(live_.begin(), live_.end(), idx);
  if (it != live_.end()) live_.erase(it);
  --poolLive_[n.pool];
  schedulableDirty_ = true;
}

void Cluster::accountNode(const Node& n, Millis until) {
  Millis from = n.launchedAt;
  double h = hours(std::max<Millis>(0, until - from));
  double cost = h * n.price;
  result_.totalCostUsd += cost;
  result_.nodeHours += h;
  double cpuHours = h * static_cast<double>(n.info.allocatable.cpuMilli) / 1000.0;
  totalCpuHours_ += cpuHours;
  if (n.spot) {
    result_.spotCostUsd += cost;
    spotCpuHours_ += cpuHours;
  }
}

void Cluster::advanceCost() {
  costAcc_ += costRate_ * hours(now_ - costAt_);
  costAt_ = now_;
}

// Closes the node's current utilization segment (Ready time only).
void Cluster::touchNode(uint32_t idx) {
  Node& n = nodes_[idx];
  if (n.state == NodeState::Ready && now_ > n.lastChange) {
    double h = hours(now_ - n.lastChange);
    const pl::Resources& a = n.info.allocatable;
    auto frac = [](int64_t used, int64_t cap) {
      return cap > 0 ? static_cast<double>(used) / static_cast<double>(cap) : 0.0;
    };
    cpuAlloc_.add(frac(n.info.requested.cpuMilli, a.cpuMilli), h);
    memAlloc_.add(frac(n.info.requested.memory, a.memory), h);
    cpuUse_.add(frac(n.usage.cpuMilli, a.cpuMilli), h);
    memUse_.add(frac(n.usage.memory, a.memory), h);
  }
  n.lastChange = now_;
}

const std::vector<uint32_t>& Cluster::schedulableNodes() {
  if (schedulableDirty_) {
    schedulable_.clear();
    for (uint32_t i : live_)
      if (nodes_[i].state == NodeState::Ready && !nodes_[i].info.unschedulable) schedulable_.push_back(i);
    schedulableDirty_ = false;
  }
  return schedulable_;
}

// ------------------------------------------------------------------------------------------------------
// The scheduler: FIFO over pending pods, filter with placement::fit, score per strategy.

double Cluster::schedulerScore(const PodClass& cls, const Node& n, uint32_t taskIndex) const {
  if (s_.packScheduler) {
    // spotfit's extender score (0..10 scale, fractional total for stable ordering).
    return pl::explainScore(cls.info, cls.requests, n.info).total;
  }
  // kube-scheduler defaults: NodeResourcesFit LeastAllocated (weight 1) + NodeAffinity preferred (weight 2).
  const pl::Resources& a = n.info.allocatable;
  auto least = [](int64_t used, int64_t req, int64_t cap) {
    if (cap <= 0) return 0.0;
    double free = static_cast<double>(cap - used - req);
    return std::max(0.0, free * 100.0 / static_cast<double>(cap));
  };
  double s = (least(n.info.requested.cpuMilli, cls.requests.cpuMilli, a.cpuMilli) +
              least(n.info.requested.memory, cls.requests.memory, a.memory)) /
             2.0;
  if (cls.info.preferredCapacityType && *cls.info.preferredCapacityType == n.info.capacityType) s += 200;
  // kube-scheduler picks at random among equal scores; a hash keeps that spread deterministic.
  s += static_cast<double>(mixKeys(taskIndex, n.seq) % 1000) * 1e-6;
  return s;
}

void Cluster::schedulePass() {
  const std::vector<uint32_t>& nodes = schedulableNodes();
  std::vector<uint32_t> still;
  still.reserve(pending_.size());
  std::set<uint32_t> failedClasses;
  std::vector<uint32_t> newlyUnschedulable;
  for (uint32_t ti : pending_) {
    Task& t = tasks_[ti];
    if (t.state != TaskState::Pending) continue;  // stale entry
    uint32_t cls = jobs_[t.job].cls;
    int32_t best = -1;
    double bestScore = -1e300;
    if (!failedClasses.count(cls)) {
      const PodClass& pc = classes_[cls];
      for (uint32_t ni : nodes) {
        const Node& n = nodes_[ni];
        if (!pl::fits(pc.requests, n.info.allocatable, n.info.requested)) continue;  // cheap pre-check
        if (!pl::fit(pc.info, pc.requests, n.info).fits) continue;
        double sc = schedulerScore(pc, n, ti);
        if (sc > bestScore) {
          bestScore = sc;
          best = static_cast<int32_t>(ni);
        }
      }
      if (best < 0) failedClasses.insert(cls);
    }
    if (best >= 0) {
      bind(ti, static_cast<uint32_t>(best));
    } else {
      if (t.unschedulableSince < 0) {
        t.unschedulableSince = now_;
        newlyUnschedulable.push_back(ti);
      }
      still.push_back(ti);
    }
  }
  pending_.swap(still);
  if (!newlyUnschedulable.empty() && s_.spotfitScaler) requestReconcile(now_);
}

// ------------------------------------------------------------------------------------------------------
// Metrics

void Cluster::sample() {
  advanceCost();
  std::vector<double> row;
  row.push_back(static_cast<double>(now_) / kSecond);
  int64_t launching = 0;
  std::vector<int64_t> byPool(w_.nodePools.size() * 2, 0);
  pl::Resources alloc, req, use;
  for (uint32_t i : live_) {
    const Node& n = nodes_[i];
    if (n.state == NodeState::Launching) {
      ++launching;
      continue;
    }
    byPool[n.pool * 2 + (n.spot ? 0 : 1)]++;
    alloc.cpuMilli += n.info.allocatable.cpuMilli;
    alloc.memory += n.info.allocatable.memory;
    req.cpuMilli += n.info.requested.cpuMilli;
    req.memory += n.info.requested.memory;
    use.cpuMilli += n.usage.cpuMilli;
    use.memory += n.usage.memory;
  }
  auto frac = [](int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  row.push_back(static_cast<double>(live_.size()));
  row.push_back(static_cast<double>(launching));
  for (int64_t c : byPool) row.push_back(static_cast<double>(c));
  row.push_back(costAcc_);
  row.push_back(costRate_);
  row.push_back(frac(req.cpuMilli, alloc.cpuMilli));
  row.push_back(frac(req.memory, alloc.memory));
  row.push_back(frac(use.cpuMilli, alloc.cpuMilli));
  row.push_back(frac(use.memory, alloc.memory));
  row.push_back(static_cast<double>(pendingCount_));
  row.push_back(static_cast<double>(runningCount_));
  row.push_back(static_cast<double>(workflowsDone_));
  result_.series.rows.push_back(std::move(row));
}

void Cluster::finish(Millis end) {
  now_ = end;
  result_.simulatedUntil = end;
  for (uint32_t i : live_) {
    touchNode(i);
    if (nodes_[i].billed) accountNode(nodes_[i], end);
  }
  sample();
  // Tasks that never completed, by job: lost, with the reason.
  std::map<std::string, int64_t> lostBy;
  for (const JobRun& job : jobs_) {
    const JobSpec& spec = jobSpec(job);
    int64_t missing = spec.completions - job.completed;
    if (missing <= 0) continue;
    result_.tasksLost += missing;
    lostBy[w_.workflows[runs_[job.run].spec].name + "/" + spec.name] += missing;
  }
  // Tasks of jobs never created (dependencies unfinished) count as part of the workload too.
  for (const WorkflowRun& run : runs_) {
    const WorkflowSpec& wf = w_.workflows[run.spec];
    if (run.firstJob == kNone) {
      // Never arrived before the stop: every task is lost.
      for (const auto& j : wf.jobs) {
        result_.tasks += j.completions;
        result_.tasksLost += j.completions;
        lostBy[wf.name + "/" + j.name] += j.completions;
      }
      continue;
    }
    for (uint32_t j = 0; j < wf.jobs.size(); ++j) {
      const JobRun& job = jobs_[run.firstJob + j];
      // Tasks not yet created are not in result_.tasks: add them so tasks = completed + lost.
      result_.tasks += wf.jobs[j].completions - job.created;
    }
  }
  for (const auto& [k, v] : lostBy)
    result_.lostReasons.push_back(k + ": " + std::to_string(v) + " task(s) unfinished at " + formatDuration(end));
  for (const WorkflowRun& run : runs_) result_.byWorkflow[w_.workflows[run.spec].name].runs++;
  for (auto& [spec, v] : pendingBySpec_) result_.byWorkflow[w_.workflows[spec].name].pendingSeconds = summarize(v);
  addPrewarmCosts(end);
  result_.costPerWorkflowUsd =
      result_.workflows > 0 ? result_.totalCostUsd / static_cast<double>(result_.workflows) : 0;
  result_.idleCostUsd = std::max(0.0, result_.totalCostUsd - attributedTotal_);
  result_.spotShare = totalCpuHours_ > 0 ? spotCpuHours_ / totalCpuHours_ : 0;
  result_.cpuAllocation = cpuAlloc_.summary();
  result_.memoryAllocation = memAlloc_.summary();
  result_.cpuAllocatedAtLeast85 = cpuAlloc_.shareAtLeast(0.85);
  result_.memoryAllocatedAtLeast85 = memAlloc_.shareAtLeast(0.85);
  result_.cpuUsage = cpuUse_.summary();
  result_.memoryUsage = memUse_.summary();
  result_.workflowCompletion = summarize(completionTimes_);
  result_.scaleUpLatency = summarize(scaleUpLatencies_);
  gangFinish();
  result_.gangTimeToAllRunning = summarize(gangAllRunning_);
  result_.makespanSeconds =
      result_.workflowsCompleted > 0 ? static_cast<double>(lastCompletion_ - firstArrival_) / kSecond : 0;
}

}  // namespace spotfit::sim

#include "scaler/scaler.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <sstream>

#include "base/json_escape.hpp"
#include "base/time.hpp"
#include "placement/budget.hpp"
#include "placement/cost.hpp"
#include "placement/merge.hpp"
#include "scaler/duration.hpp"

namespace spotfit::scaler {

namespace {

// Re-plans in one reconcile after offerings fail (each failure removes at least one offering).
constexpr int kMaxPlanAttempts = 6;

double seconds(TimePoint::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::string base36(uint64_t v) {
  const char* digits = "0123456789abcdefghijklmnopqrstuvwxyz";
  std::string out;
  do {
    out.insert(out.begin(), digits[v % 36]);
    v /= 36;
  } while (v);
  return out;
}

std::string workflowOf(const placement::PodInfo& pod) {
  if (!pod.workflow.empty()) return pod.workflow;
  if (pod.ownerKind == "Job") return pod.ownerName;
  return "";
}

// The pod's budget rule (placement/budget.hpp); an invalid annotation is the webhook's to report.
std::optional<placement::BudgetRule> budgetOf(const placement::PodInfo& pod) {
  auto annotation = [&](const char* key) -> std::optional<std::string_view> {
    auto it = pod.annotations.find(key);
    if (it == pod.annotations.end()) return std::nullopt;
    return it->second;
  };
  auto rule = placement::parseBudgetRule(annotation(kAnnotationBudget), annotation(kAnnotationBudgetAction));
  return rule.ok() ? *rule : std::nullopt;
}

ObjectRef podRef(const placement::PodInfo& p) {
  return {"Pod", p.namespace_, p.name, p.uid};
}
ObjectRef nodeRef(const std::string& n) {
  return {"Node", "", n, ""};
}
ObjectRef poolRef(const std::string& n) {
  return {"SpotfitPool", "", n, ""};
}

// Why this pod keeps its node from being removed by consolidation, or empty.
std::string scaleDownBlocker(const ClusterPod& pod, const NodePool& pool) {
  const auto& p = pod.info;
  if (p.doNotDisrupt) return "pod " + p.key() + " has spotfit.io/do-not-disrupt";
  if (!p.hasController) return "pod " + p.key() + " has no controller";
  if (p.hasLocalStorage) return "pod " + p.key() + " uses local storage";
  (void)pool;  // running Job pods: checkpointMoveBlocker, over the whole node
  return "";
}

// Highest share of allocatable that requests use over cpu, memory and GPUs.
double utilization(const placement::NodeInfo& n) {
  double u = 0;
  auto share = [](int64_t used, int64_t cap) {
    return cap > 0 ? static_cast<double>(used) / static_cast<double>(cap) : 0.0;
  };
  u = std::max(u, share(n.requested.cpuMilli, n.allocatable.cpuMilli));
  u = std::max(u, share(n.requested.memory, n.allocatable.memory));
  u = std::max(u, share(n.requested.gpus(), n.allocatable.gpus()));
  return u;
}

}  // namespace

const char* toString(DrainReason r) {
  switch (r) {
    case DrainReason::Empty:
      return "empty";
    case DrainReason::Underused:
      return "underused";
    case DrainReason::Replaced:
      return "replaced";
    case DrainReason::GangIncomplete:
      return "gang_incomplete";
    case DrainReason::Interrupted:
      break;
  }
  return "interrupted";
}

struct Scaler::Index {
  std::map<std::string, const ClusterNode*> nodes;
  std::map<std::string, std::vector<const ClusterPod*>> podsByNode;

  Index(const ClusterSnapshot& s, const std::set<std::string>& deleted) {
    for (const auto& n : s.nodes) {
      if (!deleted.count(n.info.name)) nodes[n.info.name] = &n;
    }
    for (const auto& p : s.pods) {
      if (!p.info.nodeName.empty()) podsByNode[p.info.nodeName].push_back(&p);
    }
  }
  // Workload pods still on the node (not yet evicted or terminating).
  std::vector<const ClusterPod*> movable(const std::string& node) const {
    std::vector<const ClusterPod*> out;
    auto it = podsByNode.find(node);
    if (it == podsByNode.end()) return out;
    for (const auto* p : it->second) {
      if (needsEviction(*p) && !p->deleting) out.push_back(p);
    }
    return out;
  }
};

Scaler::Scaler(ScalerConfig config, const kube::Clock& clock, ClusterActions& actions, ScaleUpPlanner& planner,
               ProviderLookup providers, LedgerStore* ledgerStore, Logger log)
    : config_(std::move(config)),
      clock_(clock),
      actions_(actions),
      planner_(planner),
      providers_(std::move(providers)),
      store_(ledgerStore),
      log_(std::move(log)),
      batcher_(config_.batchIdle, config_.batchMax),
      unavailable_(config_.offeringUnavailableFor),
      interruptions_(config_.interruption) {
  setConfigPools(config_.nodePools);
  ledger_.setLimits(ledgerLimits());
  ledger_.setLabelKey(config_.ledgerLabel);
  prices_ = PriceTable(config_.priceTable);
  prewarm_.setConfig(config_.prewarm);
}

LedgerLimits Scaler::ledgerLimits() const {
  LedgerLimits limits;
  limits.retention = std::chrono::ceil<std::chrono::hours>(config_.ledgerRetention);
  limits.maxClosedWorkflows = static_cast<size_t>(std::max(0, config_.ledgerMaxClosedWorkflows));
  return limits;
}

void Scaler::log(const std::string& line) const {
  if (log_) log_(line);
}

void Scaler::emit(const ObjectRef& obj, const std::string& type, const std::string& reason, const std::string& msg) {
  actions_.event(obj, type, reason, msg);
}

void Scaler::setConfigPools(std::vector<NodePool> pools) {
  std::erase_if(pools_, [](const auto& kv) { return !kv.second.fromObject; });
  for (auto& p : pools) {
    PoolState s;
    s.pool = std::move(p);
    pools_[s.pool.name] = std::move(s);
  }
}

void Scaler::upsertPoolObject(const ParsedNodePool& parsed) {
  auto existing = pools_.find(parsed.pool.name);
  if (existing != pools_.end() && !existing->second.fromObject) {
    log("nodepool " + parsed.pool.name + ": object ignored, a pool of that name is defined in the config file");
    emit(poolRef(parsed.pool.name), "Warning", "DuplicatePool",
         "a node pool with this name is defined in spotfit's config file; the object is ignored");
    return;
  }
  PoolState& s = pools_[parsed.pool.name];
  TimePoint up = s.lastScaleUp, down = s.lastScaleDown;
  std::string lastStatus = s.lastStatus;
  int64_t reported = s.reportedGeneration;
  auto conditionSince = std::move(s.conditionSince);  // keep lastTransitionTime across re-reads of the object
  s = PoolState{};
  s.conditionSince = std::move(conditionSince);
  s.pool = parsed.pool;
  s.fromObject = true;
  s.valid = parsed.valid();
  s.invalidReason = parsed.summary();
  s.lastScaleUp = up;
  if (auto r = restoredScaleUp_.find(s.pool.name); r != restoredScaleUp_.end()) s.lastScaleUp = std::max(up, r->second);
  s.lastScaleDown = down;
  s.lastStatus = lastStatus;
  s.reportedGeneration = reported;
  if (!s.valid && s.reportedGeneration != parsed.pool.generation) {
    s.reportedGeneration = parsed.pool.generation;
    log("nodepool " + s.pool.name + ": invalid, not used for scaling: " + s.invalidReason);
    emit(poolRef(s.pool.name), "Warning", "InvalidSpec", s.invalidReason);
  }
}

void Scaler::removePoolObject(const std::string& name) {
  auto it = pools_.find(name);
  if (it != pools_.end() && it->second.fromObject) pools_.erase(it);
}

const Scaler::PoolState* Scaler::validPool(const std::string& name) const {
  auto it = pools_.find(name);
  if (it == pools_.end() || !it->second.valid) return nullptr;
  return &it->second;
}

NodeProvider* Scaler::providerFor(const NodePool& pool) {
  return providers_ ? providers_(pool) : nullptr;
}

Status Scaler::loadLedger() {
  if (!store_) return {};
  auto text = store_->load();
  if (!text) return text.error();
  if (!text->has_value()) return {};
  auto l = CostLedger::fromJson(**text, ledgerLimits());
  if (!l) return l.error();
  ledger_ = std::move(*l);
  ledger_.setLabelKey(config_.ledgerLabel);
  return {};
}

Status Scaler::loadScalerState() {
  if (!store_) return {};
  auto text = store_->loadScalerState();
  if (!text) return text.error();
  if (!text->has_value()) return {};
  auto m = ScalerMemory::fromJson(**text);
  if (!m) return m.error();
  const TimePoint now = clock_.wallNow();
  for (const auto& e : m->unavailable) {
    if (e.until > now) unavailable_.markUntil(e.key, e.until, e.reason);
  }
  for (const auto& r : m->interruptions) interruptions_.restore(r, now);
  for (const auto& [pool, until] : m->coolOffUntil) {
    if (until > now) interruptions_.restoreCoolOff(pool, until);
  }
  for (const auto& r : m->offeringRisk) offeringRisk_.restore(r, now);
  for (const auto& [key, samples] : m->launchLeads) prewarm_.leads().restore(key, samples);
  for (const auto& [pool, at] : m->lastScaleUp) {
    if (now - at >= config_.scaleDownCooldown) continue;
    restoredScaleUp_[pool] = at;
    if (auto ps = pools_.find(pool); ps != pools_.end()) ps->second.lastScaleUp = std::max(ps->second.lastScaleUp, at);
  }
  const ScalerMemory kept = memory(now);
  lastMemoryJson_ = kept.toJson();
  log("state: restored " + std::to_string(kept.unavailable.size()) + " unavailable offering(s), " +
      std::to_string(kept.interruptions.size()) + " recent interruption(s), " +
      std::to_string(kept.coolOffUntil.size()) + " spot cool-off(s), " + std::to_string(kept.lastScaleUp.size()) +
      " scale-down cool-down(s)");
  return {};
}

ScalerMemory Scaler::memory(TimePoint now) const {
  ScalerMemory m;
  m.unavailable = unavailable_.active(now);
  m.interruptions = interruptions_.history(now);
  m.coolOffUntil = interruptions_.coolOffs(now);
  m.offeringRisk = offeringRisk_.records();
  auto keep = [&](const std::string& pool, TimePoint at) {
    if (at == TimePoint{} || now - at >= config_.scaleDownCooldown) return;
    auto& slot = m.lastScaleUp[pool];
    slot = std::max(slot, at);
  };
  for (const auto& [pool, at] : restoredScaleUp_) keep(pool, at);
  for (const auto& [name, ps] : pools_) keep(name, ps.lastScaleUp);
  m.launchLeads = prewarm_.leads().latest(ScalerMemory::kMaxStoredLeadKeys, ScalerMemory::kMaxStoredLeadSamples);
  return m;
}

Status Scaler::flushLedger() {
  if (!store_) return {};
  const auto now = clock_.wallNow();
  return save(now, memory(now).toJson());
}

Status Scaler::save(TimePoint now, std::string memoryJson) {
  ledger_.accrue(now);
  lastFlush_ = now;
  lastMemoryJson_ = std::move(memoryJson);
  return store_->saveWithScalerState(ledger_.toJson(), lastMemoryJson_);
}

double Scaler::workflowSpend(const std::string& ns, const std::string& workflow) const {
  return ledger_.workflowSpend({ns, workflow}, clock_.wallNow());
}

std::string Scaler::newNodeName(const std::string& pool, TimePoint now) {
  auto ms =
      static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count());
  return pool + "-" + base36(ms) + base36(nameCounter_++);
}

Result<ProviderNode> Scaler::timedCreate(NodeProvider& p, const NodePool& pool, const NodeRequest& req) {
  auto start = std::chrono::steady_clock::now();
  auto r = p.create(req);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string result = r.ok() ? "ok" : toString(providerErrorKind(r.error()));
  metrics_.inc(metric::kProviderRequests, {{"provider", pool.provider.type}, {"op", "create"}, {"result", result}});
  metrics_.observeLatency({{"provider", pool.provider.type}, {"op", "create"}}, secs);
  return r;
}

Status Scaler::timedRemove(NodeProvider& p, const NodePool& pool, const NodeRef& ref) {
  auto start = std::chrono::steady_clock::now();
  auto r = p.remove(ref);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::string result = r.ok() ? "ok" : toString(providerErrorKind(r.error()));
  metrics_.inc(metric::kProviderRequests, {{"provider", pool.provider.type}, {"op", "delete"}, {"result", result}});
  metrics_.observeLatency({{"provider", pool.provider.type}, {"op", "delete"}}, secs);
  return r;
}

ReconcileResult Scaler::reconcile(const ClusterSnapshot& snapshot) {
  const TimePoint now = clock_.wallNow();
  std::erase_if(deleted_, [&](const std::string& n) {
    return std::none_of(snapshot.nodes.begin(), snapshot.nodes.end(),
                        [&](const ClusterNode& c) { return c.info.name == n; });
  });
  Index idx(snapshot, deleted_);
  ReconcileResult out;
  for (auto& [name, ps] : pools_) {
    if (!ps.valid) continue;
    if (auto* p = providerFor(ps.pool)) p->poll(now);
  }
  unavailable_.expire(now);
  jobHistory_.observe(snapshot);
  offeringRisk_.observe(spotOfferings(snapshot), now);

  bool replan = false;
  trackInFlight(idx, now, replan);
  handleInterruptions(idx, now, replan);
  out.nodesCreated = scaleUp(snapshot, idx, now, replan);
  std::optional<TimePoint> prewarmWake;
  if (!snapshot.cronJobs.empty() || !prewarm_.nodes().empty()) {
    out.nodesCreated += prewarm(snapshot, idx.nodes, idx.podsByNode, capacityNodes(idx, {}), now, prewarmWake);
  }
  out.drainsStarted = scaleDown(snapshot, idx, now);
  out.drainsStarted += releaseIncompleteGangs(snapshot, idx.nodes, now, out.wakeAt);  // gang_partial.cpp
  out.nodesRemoved = progressDrains(idx, now, out.wakeAt);
  updateLedger(snapshot, idx, now);
  publish(snapshot, idx, now);

  auto earliest = [&](TimePoint t) {
    if (!out.wakeAt || t < *out.wakeAt) out.wakeAt = t;
  };
  if (auto d = batcher_.deadline()) earliest(*d);
  if (prewarmWake) earliest(*prewarmWake);
  for (const auto& [n, t] : emptySince_) {
    auto nodeIt = idx.nodes.find(n);
    if (nodeIt == idx.nodes.end()) continue;
    if (const auto* ps = validPool(nodeIt->second->info.pool)) earliest(t + ps->pool.disruption.consolidateAfter);
  }
  return out;
}

void Scaler::trackInFlight(const Index& idx, TimePoint now, bool& replan) {
  // Providers that name nodes themselves (Cluster API): an in-flight entry whose name never appears
  // claims the oldest unclaimed new node of its pool and instance type created after it.
  for (auto it = inFlight_.begin(); it != inFlight_.end();) {
    if (idx.nodes.count(it->first) || !it->second.providerNamed) {
      ++it;
      continue;
    }
    const ClusterNode* match = nullptr;
    for (const auto& [name, node] : idx.nodes) {
      if (inFlight_.count(name) || node->info.pool != it->second.pool ||
          node->info.instanceType != it->second.instanceType ||
          node->created < it->second.createdAt - std::chrono::seconds(1)) {
        continue;
      }
      if (!match || node->created < match->created) match = node;
    }
    if (!match) {
      ++it;
      continue;
    }
    InFlightNode f = std::move(it->second);
    it = inFlight_.erase(it);
    log("node " + match->info.name + " registered for in-flight " + f.name + " (pool " + f.pool + ")");
    if (auto r = replacing_.find(f.name); r != replacing_.end()) {
      std::string old = r->second;
      replacing_.erase(r);
      replacing_[match->info.name] = old;
    }
    if (auto m = mergedAlso_.find(f.name); m != mergedAlso_.end()) {
      auto olds = std::move(m->second);
      mergedAlso_.erase(m);
      mergedAlso_[match->info.name] = std::move(olds);
    }
    f.name = match->info.name;
    f.model.name = f.name;
    inFlight_[f.name] = std::move(f);
    it = inFlight_.begin();
  }
  // Nodes of our pools still booting that this instance did not create (a previous leader did) are
  // adopted as in flight, so a failover does not create their capacity twice.
  for (const auto& [name, node] : idx.nodes) {
    if (inFlight_.count(name) || drains_.count(name) || node->deleting || node->created == TimePoint{}) continue;
    const PoolState* ps = validPool(node->info.pool);
    const InstanceType* type = ps ? ps->pool.instanceType(node->info.instanceType) : nullptr;
    if (!type || now - node->created >= ps->pool.provider.readyTimeout) continue;
    const bool gpuMissing = type->gpus > 0 && node->info.allocatable.get(kResourceGpu) <= 0;
    if (node->ready && !gpuMissing) continue;
    auto zone = node->info.labels.find(kLabelZone);
    InFlightNode f;
    f.name = name;
    f.pool = ps->pool.name;
    f.instanceType = type->name;
    f.zone = zone == node->info.labels.end() ? "" : zone->second;
    f.capacityType = node->info.capacityType;
    f.createdAt = node->created;
    f.model = nodeTemplate(ps->pool, *type, f.capacityType, f.zone, name).model;
    if (type->gpus > 0) f.extendedRequested.insert(kResourceGpu);
    log("node " + name + " (pool " + f.pool + ", " + f.instanceType + ") is still booting; tracked as in flight");
    inFlight_[name] = std::move(f);
  }
  for (auto it = inFlight_.begin(); it != inFlight_.end();) {
    InFlightNode& f = it->second;
    auto n = idx.nodes.find(f.name);
    bool initialized = n != idx.nodes.end() && n->second->ready;
    std::string missing;
    if (initialized) {
      for (const auto& r : f.extendedRequested) {
        if (n->second->info.allocatable.get(r) <= 0) {
          initialized = false;
          missing = r;
          break;
        }
      }
    }
    if (initialized) {
      log("node " + f.name + " (pool " + f.pool + ", " + f.instanceType + ", " + std::string(toString(f.capacityType)) +
          ") initialized after " + formatDuration(std::chrono::duration_cast<Duration>(now - f.createdAt)));
      prewarm_.leads().observe(f.pool, f.instanceType, std::chrono::duration_cast<Duration>(now - f.createdAt));
      it = inFlight_.erase(it);
      continue;
    }
    auto ps = pools_.find(f.pool);
    Duration timeout = ps != pools_.end() ? ps->second.pool.provider.readyTimeout : std::chrono::minutes(5);
    if (now - f.createdAt >= timeout) {
      const std::string why = n == idx.nodes.end() ? "never registered"
                              : !n->second->ready  ? "not Ready"
                                                   : "ready but " + missing + " not advertised";
      unavailable_.mark({f.pool, f.instanceType, f.capacityType, f.zone}, now, "node " + f.name + " " + why);
      metrics_.inc(metric::kScaleUpFailures, {{"pool", f.pool}, {"reason", "not_ready"}});
      log("scale-up: node " + f.name + " (pool " + f.pool + ", " + f.instanceType + ", " +
          std::string(toString(f.capacityType)) + ") " + why + " after " + formatDuration(timeout) +
          "; offering unavailable for " + formatDuration(config_.offeringUnavailableFor) + ", re-planning");
      emit(poolRef(f.pool), "Warning", "NodeNotReady",
           "node " + f.name + " (" + f.instanceType + ", " + std::string(toString(f.capacityType)) + ") " + why +
               " within " + formatDuration(timeout) + "; falling back to another offering");
      if (ps != pools_.end()) {
        if (n != idx.nodes.end() && actions_.deleteNode(f.name).ok()) deleted_.insert(f.name);
        if (auto* p = providerFor(ps->second.pool)) {
          auto st = timedRemove(*p, ps->second.pool, {f.name, f.pool, ps->second.pool.provider.parameters});
          if (!st) log("scale-up: could not delete unready node " + f.name + ": " + st.error().message);
        }
      }
      it = inFlight_.erase(it);
      replan = true;
      continue;
    }
    ++it;
  }
}

void Scaler::handleInterruptions(const Index& idx, TimePoint now, bool& replan) {
  std::erase_if(interrupted_, [&](const std::string& n) { return !idx.nodes.count(n); });
  for (const auto& [name, node] : idx.nodes) {
    if (interrupted_.count(name) || node->deleting) continue;
    auto notice = findInterruptionNotice(node->info.taints, config_.interruptionTaints);
    if (!notice) continue;
    interrupted_.insert(name);
    const std::string pool = node->info.pool, type = node->info.instanceType;
    metrics_.inc(metric::kInterruptions, {{"pool", pool}, {"instance_type", type}});
    bool coolOff = !pool.empty() && interruptions_.record(pool, type, now, name);
    if (!pool.empty()) offeringRisk_.recordInterruption(offeringOf(node->info), now);
    log("interruption: node " + name + " (pool " + (pool.empty() ? "-" : pool) + ", " + type + ") has notice taint " +
        notice->key + "; requesting replacement and draining");
    emit(nodeRef(name), "Warning", "SpotInterrupted",
         "interruption notice (" + notice->key + "): replacement requested, pods are being evicted");
    if (coolOff) {
      log("interruption: pool " + pool + " had " + std::to_string(interruptions_.count(pool, now)) +
          " interruptions within " + formatDuration(config_.interruption.window) +
          "; new capacity goes on-demand for " + formatDuration(config_.interruption.coolOff));
      emit(poolRef(pool), "Warning", "SpotCoolOff",
           std::to_string(interruptions_.count(pool, now)) + " spot interruptions within " +
               formatDuration(config_.interruption.window) + "; launching on-demand for " +
               formatDuration(config_.interruption.coolOff));
    }
    auto d = drains_.find(name);
    if (d != drains_.end()) {
      d->second.reason = DrainReason::Interrupted;
      d->second.deadline = std::min(d->second.deadline, now + config_.interruption.drainDeadline);
    } else {
      startDrain(*node, DrainReason::Interrupted, now, config_.interruption.drainDeadline);
    }
    inFlight_.erase(name);
    replan = true;
  }
}

bool Scaler::startDrain(const ClusterNode& node, DrainReason reason, TimePoint now, Duration timeout) {
  const std::string& name = node.info.name;
  auto st = actions_.taintNode(name, {kTaintDisrupting, toString(reason), placement::TaintEffect::NoSchedule});
  if (!st && reason != DrainReason::Interrupted) {
    log("scale-down: could not taint node " + name + ": " + st.error().message + "; backing off");
    nodeBackoff_[name] = now + config_.drainFailureBackoff;
    metrics_.inc(metric::kScaleDownFailures, {{"pool", node.info.pool}, {"reason", "taint_failed"}});
    return false;
  }
  Drain d;
  d.node = name;
  d.pool = node.info.pool;
  d.instanceType = node.info.instanceType;
  d.reason = reason;
  d.started = now;
  d.deadline = now + timeout;
  drains_[name] = std::move(d);
  emptySince_.erase(name);
  underusedSince_.erase(name);
  if (reason != DrainReason::Interrupted) {
    log("scale-down: draining node " + name + " (pool " + node.info.pool + "): " + toString(reason) + ", deadline " +
        formatDuration(timeout));
    emit(nodeRef(name), "Normal", "Draining",
         std::string("removing ") + toString(reason) + " node: tainted " + kTaintDisrupting + ", evicting pods");
  }
  return true;
}

std::vector<PlannerPool> Scaler::plannerPools(TimePoint now) const {
  std::vector<PlannerPool> out;
  for (const auto& poolEntry : pools_) {
    const auto& name = poolEntry.first;  // not structured bindings: clang 14 (fuzz build) cannot capture them
    const auto& ps = poolEntry.second;
    if (!ps.valid) continue;
    PlannerPool pp;
    pp.pool = &ps.pool;
    bool coolOff = interruptions_.inCoolOff(name, now);
    for (const auto& it : ps.pool.instanceTypes) {
      for (auto ct : ps.pool.capacityTypes) {
        if (!it.offers(ct) || (ct == CapacityType::Spot && coolOff)) continue;
        std::vector<std::string> zones = ps.pool.zones.empty() ? std::vector<std::string>{""} : ps.pool.zones;
        bool any = std::any_of(zones.begin(), zones.end(), [&](const std::string& z) {
          return !unavailable_.unavailable({name, it.name, ct, z}, now);
        });
        if (any) pp.available.insert({it.name, ct});
      }
    }
    out.push_back(std::move(pp));
  }
  return out;
}

// Nodes pods may be planned onto, plus (cordoned) the pool nodes that only count toward pool max and limits.
std::vector<placement::NodeInfo> Scaler::capacityNodes(const Index& idx, const std::set<std::string>& exclude) const {
  std::vector<placement::NodeInfo> nodes;
  for (const auto& [name, node] : idx.nodes) {
    if (inFlight_.count(name) || exclude.count(name)) continue;
    placement::NodeInfo n = node->info;
    if (drains_.count(name) || interrupted_.count(name) || node->deleting || !node->ready) {
      if (n.pool.empty()) continue;
      n.unschedulable = true;
    }
    nodes.push_back(std::move(n));
  }
  for (const auto& [name, f] : inFlight_) {
    if (exclude.count(name)) continue;
    placement::NodeInfo m = f.model;
    if (auto n = idx.nodes.find(name); n != idx.nodes.end()) m.requested = n->second->info.requested;
    nodes.push_back(std::move(m));
  }
  applyBookings(nodes);
  return nodes;
}

std::vector<placement::NodeInfo> Scaler::currentCapacity(const ClusterSnapshot& snapshot) const {
  return capacityNodes(Index(snapshot, deleted_), {});
}

std::string Scaler::roomElsewhere(const Index& idx, const std::string& node, const std::set<std::string>& removing) {
  // The node's pods are planned together with every pod that still waits to leave a node chosen in this
  // pass or already draining, so two underused nodes never both count on the same free room.
  PlanRequest req;
  std::set<std::string> leaving = removing;
  for (const auto& [name, d] : drains_) leaving.insert(name);
  leaving.insert(node);
  size_t others = 0;
  for (const auto& n : leaving) {
    for (const auto* p : idx.movable(n)) {
      placement::PodInfo copy = p->info;
      copy.nodeName.clear();
      req.pods.push_back(std::move(copy));
      others += n != node;
    }
  }
  std::set<std::string> exclude = removing;
  exclude.insert(node);
  req.nodes = capacityNodes(idx, exclude);  // draining nodes are in it, cordoned
  PlanResult plan = planner_.plan(req);     // no pools: existing capacity only
  if (!plan.newNodes.empty() || !plan.unplaceable.empty()) {
    return "its pods do not fit on the other nodes" +
           (others ? " next to the " + std::to_string(others) + " pod(s) leaving nodes being drained" : std::string()) +
           (plan.unplaceable.empty() ? std::string() : " (" + plan.unplaceable.begin()->second + ")");
  }
  return "";
}

int Scaler::scaleUp(const ClusterSnapshot& snap, const Index& idx, TimePoint now, bool replan) {
  std::vector<const ClusterPod*> pending;
  std::set<std::string> pendingKeys;
  TimePoint oldest = now;
  for (const auto& p : snap.pods) {
    if (!p.unschedulable || !p.info.nodeName.empty() || p.deleting || isFinished(p.info)) continue;
    if (coveredByBooking(p.info)) continue;  // its ProvisioningRequest's capacity is booked for it
    pending.push_back(&p);
    pendingKeys.insert(p.info.key());
    batcher_.observe(p.info.key(), now);
    if (p.unschedulableSince != TimePoint{} && p.unschedulableSince < oldest) oldest = p.unschedulableSince;
  }
  batcher_.retain(pendingKeys);
  unschedulable_ = static_cast<int>(pending.size());
  oldestUnschedulable_ = pending.empty() ? 0.0 : seconds(now - oldest);
  // Pods of interrupted nodes need new homes now, without waiting for their eviction. Pods already
  // terminating still count until they are gone, so the capacity requested for them is not handed to others.
  std::vector<const ClusterPod*> moving;
  for (const auto& [name, d] : drains_) {
    if (d.reason != DrainReason::Interrupted) continue;
    auto it = idx.podsByNode.find(name);
    if (it == idx.podsByNode.end()) continue;
    for (const auto* p : it->second) {
      if (needsEviction(*p)) moving.push_back(p);
    }
  }
  const bool due = batcher_.ready(now) || (replan && (!pending.empty() || !moving.empty()));
  if (!due) return 0;
  batcher_.take();

  std::vector<placement::PodInfo> pods;
  std::map<std::string, const ClusterPod*> byKey;
  for (const auto* group : {&pending, &moving}) {
    for (const auto* p : *group) {
      placement::PodInfo copy = p->info;
      copy.nodeName.clear();
      if (auto rule = budgetOf(copy)) {
        const std::string workflow = workflowOf(copy);
        const std::optional<double> spent = ledger_.recordedSpend({copy.namespace_, workflow}, now);
        const placement::BudgetVerdict verdict = placement::decideBudget(*rule, spent);
        if (verdict == placement::BudgetVerdict::Deny) {
          const std::string why = placement::budgetSummary(workflow, *spent, rule->limitUsd) + " (budget-action deny)";
          if (podEventReason_[copy.uid] != why) {
            podEventReason_[copy.uid] = why;
            log("scale-up: pod " + copy.key() + " gets no capacity: " + why);
            emit(podRef(copy), "Warning", "BudgetExceeded", "no scale-up: " + why);
          }
          continue;
        }
        if (verdict == placement::BudgetVerdict::SpotOnly) copy.capacityPolicy = placement::CapacityPolicy::SpotOnly;
      }
      byKey[copy.key()] = p;
      pods.push_back(std::move(copy));
    }
  }
  if (pods.empty()) return 0;

  std::vector<placement::NodeInfo> nodes = capacityNodes(idx, {});

  int created = scaleUpGangs(snap, pods, nodes, now);  // gang_scaleup.cpp: takes the gangs' members out of pods
  for (int attempt = 0; attempt < kMaxPlanAttempts && !pods.empty(); ++attempt) {
    PlanRequest req{pods, nodes, plannerPools(now)};
    req.risk = spotRiskInput(req.pods, req.pools, offeringRisk_, jobHistory_, now);
    PlanResult plan = planner_.plan(req);
    bool failed = false;
    for (const auto& pn : plan.newNodes) {
      LaunchSpec spec{pn.pool, pn.instanceType, pn.capacityType, std::nullopt, &nodes, {}, pn.podKeys, {}};
      for (const auto& key : pn.podKeys) {
        if (auto p = byKey.find(key); p != byKey.end()) spec.pods.push_back(&p->second->info);
      }
      LaunchResult launched = launch(spec, now);
      if (!launched) {
        switch (launched.failure.kind) {
          case LaunchFailureKind::PoolGone:
          case LaunchFailureKind::NoZone:
            break;
          case LaunchFailureKind::NoProvider:
            log("scale-up: " + launched.failure.message + " configured");
            metrics_.inc(metric::kScaleUpFailures, {{"pool", pn.pool}, {"reason", "no_provider"}});
            break;
          case LaunchFailureKind::CostLimit:
            for (const auto& key : pn.podKeys) plan.unplaceable[key] = launched.failure.message;
            break;
          case LaunchFailureKind::ProviderError:
            failed = true;
            metrics_.inc(metric::kScaleUpFailures,
                         {{"pool", pn.pool}, {"reason", toString(launched.failure.providerKind)}});
            log("scale-up: " + launched.failure.message + "; offering skipped, re-planning now");
            emit(poolRef(pn.pool), "Warning", "ScaleUpFailed",
                 launched.offering + ": " + launched.failure.providerMessage);
            break;
        }
        continue;
      }
      InFlightNode& f = *launched.node;
      const std::string& name = launched.requestedName;
      for (const auto& key : pn.podKeys) {
        auto p = byKey.find(key);
        if (p == byKey.end()) continue;
        const std::string why = "pod triggered scale-up: " + name + " (" + launched.offering + ")";
        if (podEventReason_[p->second->info.uid] != why) {
          podEventReason_[p->second->info.uid] = why;
          emit(podRef(p->second->info), "Normal", "TriggeredScaleUp", why);
        }
      }
      nodes.push_back(f.model);
      const double price = pools_.at(pn.pool).pool.instanceType(pn.instanceType)->price(pn.capacityType);
      inFlight_[f.name] = std::move(f);
      pools_.at(pn.pool).lastScaleUp = now;
      ++created;
      metrics_.inc(metric::kScaleUps, {{"pool", pn.pool}, {"capacity_type", std::string(toString(pn.capacityType))}});
      log("scale-up: created " + name + " (" + launched.offering + ", " + std::to_string(price) + " USD/h) for " +
          std::to_string(pn.podKeys.size()) + " pod(s)");
    }
    for (const auto& [key, node] : plan.onExisting) {
      auto p = byKey.find(key);
      if (p == byKey.end()) continue;
      const std::string why = "fits node " + node + (inFlight_.count(node) ? " (in flight)" : "");
      if (podEventReason_[p->second->info.uid] == why) continue;
      podEventReason_[p->second->info.uid] = why;
      log("scale-up: pod " + key + " " + why + "; no new node");
    }
    for (const auto& [key, why] : plan.unplaceable) {
      auto p = byKey.find(key);
      if (p == byKey.end()) continue;
      if (podEventReason_[p->second->info.uid] == why) continue;
      podEventReason_[p->second->info.uid] = why;
      log("scale-up: pod " + key + " fits no node pool: " + why);
      emit(podRef(p->second->info), "Normal", "NotTriggerScaleUp", "no node pool can run the pod: " + why);
    }
    if (!failed) break;
  }
  std::set<std::string> liveUids;
  for (const auto& p : snap.pods) liveUids.insert(p.info.uid);
  std::erase_if(podEventReason_, [&](const auto& kv) { return !liveUids.count(kv.first); });
  return created;
}

int Scaler::scaleDown(const ClusterSnapshot& snap, const Index& idx, TimePoint now) {
  int consolidating = 0;
  for (const auto& [n, d] : drains_) consolidating += d.reason != DrainReason::Interrupted;
  std::map<std::string, int64_t> active;
  for (const auto& [name, node] : idx.nodes) {
    if (!node->deleting && !drains_.count(name) && !inFlight_.count(name)) active[node->info.pool] += 1;
  }
  for (const auto& [name, f] : inFlight_) active[f.pool] += 1;

  struct Candidate {
    const ClusterNode* node;
    DrainReason reason;
    TimePoint since;
    double util;
  };
  std::vector<Candidate> candidates;
  for (const auto& nodeEntry : idx.nodes) {
    const auto& name = nodeEntry.first;  // not structured bindings: clang 14 (fuzz build) cannot capture them
    const auto& node = nodeEntry.second;
    const PoolState* ps = validPool(node->info.pool);
    const bool beingReplaced =
        std::any_of(replacing_.begin(), replacing_.end(), [&](const auto& kv) { return kv.second == name; }) ||
        std::any_of(mergedAlso_.begin(), mergedAlso_.end(), [&](const auto& kv) {
          return std::find(kv.second.begin(), kv.second.end(), name) != kv.second.end();
        });
    if (!ps || drains_.count(name) || inFlight_.count(name) || interrupted_.count(name) || node->deleting ||
        !node->ready || beingReplaced || replacing_.count(name) || booked(name) || prewarm_.holds(name)) {
      emptySince_.erase(name);
      underusedSince_.erase(name);
      continue;
    }
    const auto pods = idx.movable(name);
    const auto& dis = ps->pool.disruption;
    if (pods.empty()) {
      auto [it, fresh] = emptySince_.try_emplace(name, now);
      // Pods that were bound and finished between two passes were never seen running: the node is empty
      // only since the last of them finished (first seen finished), not since it was last seen empty.
      if (auto podsIt = idx.podsByNode.find(name); podsIt != idx.podsByNode.end()) {
        for (const auto* p : podsIt->second) {
          if (isFinished(p->info) && p->finishedAt != TimePoint{})
            it->second = std::max(it->second, std::min(p->finishedAt, now));
        }
      }
      underusedSince_.erase(name);
      if (now - it->second >= dis.consolidateAfter) candidates.push_back({node, DrainReason::Empty, it->second, 0});
      continue;
    }
    emptySince_.erase(name);
    double util = utilization(node->info);
    if (!dis.consolidateUnderused || util >= dis.utilizationThreshold) {
      underusedSince_.erase(name);
      continue;
    }
    auto [it, fresh] = underusedSince_.try_emplace(name, now);
    if (now - it->second >= dis.unneededTime) candidates.push_back({node, DrainReason::Underused, it->second, util});
  }
  std::erase_if(emptySince_, [&](const auto& kv) { return !idx.nodes.count(kv.first); });
  std::erase_if(underusedSince_, [&](const auto& kv) { return !idx.nodes.count(kv.first); });
  std::erase_if(nodeBackoff_, [&](const auto& kv) { return kv.second <= now || !idx.nodes.count(kv.first); });
  std::stable_sort(candidates.begin(), candidates.end(), [](const Candidate& a, const Candidate& b) {
    if (a.reason != b.reason) return a.reason == DrainReason::Empty;
    if (a.reason == DrainReason::Empty) return a.since < b.since;
    return a.util < b.util;
  });

  int started = 0;
  std::set<std::string> removing;  // nodes chosen in this pass (their pods cannot move onto each other)
  for (const auto& c : candidates) {
    if (consolidating >= config_.maxParallelDrains) break;
    const std::string& name = c.node->info.name;
    const PoolState* ps = validPool(c.node->info.pool);
    auto blocked = [&](const std::string& why) {
      if (blockedReason_[name] == why) return;
      blockedReason_[name] = why;
      log("scale-down: keeping " + std::string(toString(c.reason)) + " node " + name + ": " + why);
      emit(nodeRef(name), "Normal", "ScaleDownBlocked", why);
    };
    if (nodeBackoff_.count(name)) continue;
    if (ps->lastScaleUp != TimePoint{} && now - ps->lastScaleUp < config_.scaleDownCooldown) {
      blocked("pool " + ps->pool.name + " scaled up " +
              formatDuration(std::chrono::duration_cast<Duration>(now - ps->lastScaleUp)) + " ago (cool-down " +
              formatDuration(config_.scaleDownCooldown) + ")");
      continue;
    }
    if (active[ps->pool.name] - 1 < ps->pool.minNodes) {
      blocked("pool " + ps->pool.name + " is at its minimum of " + std::to_string(ps->pool.minNodes) + " node(s)");
      continue;
    }
    std::string blocker;
    for (const auto* p : idx.movable(name)) {
      blocker = scaleDownBlocker(*p, ps->pool);
      if (!blocker.empty()) break;
    }
    if (blocker.empty())
      blocker = checkpointMoveBlocker(*c.node, idx.movable(name), ps->pool, std::nullopt, jobHistory_, now);
    if (!blocker.empty()) {
      blocked(blocker);
      continue;
    }
    if (c.reason == DrainReason::Underused) {
      auto why = roomElsewhere(idx, name, removing);
      if (!why.empty()) {
        blocked("underused but " + why);
        continue;
      }
    }
    if (!startDrain(*c.node, c.reason, now, ps->pool.disruption.drainTimeout)) continue;
    blockedReason_.erase(name);
    removing.insert(name);
    active[ps->pool.name] -= 1;
    ++consolidating;
    ++started;
  }
  started += replaceWithCheaper(snap, idx, now, consolidating);
  std::erase_if(blockedReason_, [&](const auto& kv) { return !idx.nodes.count(kv.first); });
  return started;
}

int Scaler::replaceWithCheaper(const ClusterSnapshot& snap, const Index& idx, TimePoint now, int& consolidating) {
  int started = 0;
  // Finished replacements: drain the old node once its replacement is Ready; drop failed ones.
  for (auto it = replacing_.begin(); it != replacing_.end();) {
    const std::string& repl = it->first;
    const std::string& old = it->second;
    if (inFlight_.count(repl)) {
      ++it;
      continue;
    }
    auto rn = idx.nodes.find(repl);
    std::vector<std::string> olds{old};  // a multi-node consolidation replaces several (mergeUnderused)
    if (auto m = mergedAlso_.find(repl); m != mergedAlso_.end()) {
      olds.insert(olds.end(), m->second.begin(), m->second.end());
      mergedAlso_.erase(m);
    }
    for (const std::string& o : olds) {
      auto on = idx.nodes.find(o);
      if (rn != idx.nodes.end() && rn->second->ready && on != idx.nodes.end() && !on->second->deleting &&
          !drains_.count(o)) {
        const PoolState* ps = validPool(on->second->info.pool);
        Duration timeout = ps ? ps->pool.disruption.drainTimeout : std::chrono::minutes(10);
        if (startDrain(*on->second, DrainReason::Replaced, now, timeout)) {
          ++consolidating;
          ++started;
        }
      } else if (rn == idx.nodes.end() || !rn->second->ready) {
        log("scale-down: replacement " + repl + " for " + o + " did not become Ready; keeping " + o);
      }
    }
    it = replacing_.erase(it);
  }
  if (consolidating >= config_.maxParallelDrains) return started;

  std::set<std::string> replaced;  // old nodes whose replacement is still coming up
  for (const auto& [repl, old] : replacing_) replaced.insert(old);
  for (const auto& [repl, olds] : mergedAlso_) replaced.insert(olds.begin(), olds.end());
  placement::ConsolidationInput base;
  for (const auto& [name, node] : idx.nodes) {
    if (node->deleting || !node->ready || drains_.count(name) || inFlight_.count(name) || interrupted_.count(name) ||
        replacing_.count(name) || replaced.count(name) || booked(name)) {
      continue;
    }
    placement::NodeInfo n = node->info;
    if (n.hourlyPrice <= 0) {
      const PoolState* ps = validPool(n.pool);
      const InstanceType* t = ps ? ps->pool.instanceType(n.instanceType) : nullptr;
      if (t) n.hourlyPrice = t->price(n.capacityType);
    }
    n.requested = {};
    base.nodes.push_back(std::move(n));
  }
  std::set<std::string> live;
  for (const auto& n : base.nodes) live.insert(n.name);
  for (const auto& p : snap.pods) {
    if (p.info.nodeName.empty() || !live.count(p.info.nodeName) || isFinished(p.info) || p.deleting) continue;
    base.pods.push_back(p.info);
  }
  for (auto& n : base.nodes) {
    for (const auto& p : base.pods) {
      if (p.nodeName == n.name) n.requested += placement::podRequests(p);
    }
  }
  base.pdbs = snap.pdbs;
  placement::ConsolidationOptions opts;
  opts.utilizationThreshold = 0;  // empty and under-used nodes are handled above; only replacements here
  // One pass per capacity type with only that type's offerings: a node is replaced within its capacity
  // type (an on-demand node is not swapped for spot behind the user's back).
  for (CapacityType ct : {CapacityType::OnDemand, CapacityType::Spot}) {
    if (consolidating >= config_.maxParallelDrains) break;
    placement::ConsolidationInput in = base;
    for (auto pp : plannerPools(now)) {
      std::erase_if(pp.available, [&](const Offering& o) { return o.capacityType != ct; });
      in.pools.push_back(toPlacementPool(*pp.pool, pp.available));
    }
    const auto plan = placement::planConsolidation(in, opts);
    consolidating += startReplacements(plan, idx, now, ct);
  }
  if (consolidating < config_.maxParallelDrains) consolidating += mergeUnderused(base, idx, now);
  return started;
}

int Scaler::mergeUnderused(const placement::ConsolidationInput& base, const Index& idx, TimePoint now) {
  int created = 0;
  for (CapacityType ct : {CapacityType::OnDemand, CapacityType::Spot}) {
    placement::ConsolidationInput in = base;
    for (auto pp : plannerPools(now)) {
      std::erase_if(pp.available, [&](const Offering& o) { return o.capacityType != ct; });
      in.pools.push_back(toPlacementPool(*pp.pool, pp.available));
    }
    // Nodes that may not be merged stay in the input (they count toward their pool's min, max and limits)
    // but marked unschedulable, which keeps them out of planMerge's candidates.
    for (auto& n : in.nodes) {
      const PoolState* ps = validPool(n.pool);
      auto since = underusedSince_.find(n.name);
      bool ok = ps && ps->pool.disruption.consolidateMultiNode && n.capacityType == ct &&
                since != underusedSince_.end() && now - since->second >= ps->pool.disruption.unneededTime &&
                utilization(n) < ps->pool.disruption.utilizationThreshold && !nodeBackoff_.count(n.name) &&
                (ps->lastScaleUp == TimePoint{} || now - ps->lastScaleUp >= config_.scaleDownCooldown);
      if (ok) {
        for (const auto* p : idx.movable(n.name)) ok = ok && scaleDownBlocker(*p, ps->pool).empty();
      }
      if (!ok) n.unschedulable = true;
    }
    placement::MergeOptions mo;
    mo.capacityType = ct;
    mo.utilizationThreshold = 1.0;  // each pool's own threshold applied above
    std::optional<placement::MergeAction> merge;
    // Nodes whose running Job pods may not move for their share of the saving drop out; plan again.
    for (size_t attempt = 0; attempt <= placement::MergeOptions{}.maxNodes; ++attempt) {
      merge = placement::planMerge(in, mo);
      if (!merge) break;
      std::string blocker;
      for (const auto& name : merge->nodes) {
        auto on = idx.nodes.find(name);
        const PoolState* ps = on == idx.nodes.end() ? nullptr : validPool(on->second->info.pool);
        if (!ps) continue;
        const double share = merge->savingsPerHour / static_cast<double>(merge->nodes.size());
        if (!checkpointMoveBlocker(*on->second, idx.movable(name), ps->pool, share, jobHistory_, now).empty()) {
          blocker = name;
          break;
        }
      }
      if (blocker.empty()) break;
      for (auto& n : in.nodes) n.unschedulable = n.unschedulable || n.name == blocker;
      merge.reset();
    }
    if (!merge) continue;
    placement::ConsolidationPlan plan;
    placement::ConsolidationAction a;
    a.kind = placement::ConsolidationKind::Replace;
    a.node = merge->nodes.front();
    a.replacementPool = merge->pool;
    a.replacementInstanceType = merge->instanceType;
    a.replacementCapacityType = merge->capacityType;
    a.replacementPrice = merge->price;
    a.savingsPerHour = merge->savingsPerHour;
    a.reason = merge->reason;
    plan.actions.push_back(a);
    if (startReplacements(plan, idx, now, ct) == 0) continue;
    ++created;
    for (const auto& [repl, old] : replacing_) {
      if (old != a.node) continue;
      mergedAlso_[repl] = std::vector<std::string>(merge->nodes.begin() + 1, merge->nodes.end());
      log("scale-down: " + merge->reason + ": " + repl + " replaces " + std::to_string(merge->nodes.size()) +
          " nodes, drained once it is Ready");
      for (size_t i = 1; i < merge->nodes.size(); ++i)
        emit(nodeRef(merge->nodes[i]), "Normal", "Replacing",
             "merging into new " + merge->instanceType + " node " + repl + " with " + a.node);
    }
    break;  // one merge per pass
  }
  return created;
}

int Scaler::startReplacements(const placement::ConsolidationPlan& plan, const Index& idx, TimePoint now,
                              CapacityType capacity) {
  int consolidating = 0;
  for (const auto& [n, d] : drains_) consolidating += d.reason != DrainReason::Interrupted;
  consolidating += static_cast<int>(replacing_.size());
  int created = 0;
  for (const auto& a : plan.actions) {
    if (consolidating + created >= config_.maxParallelDrains) break;
    if (a.kind != placement::ConsolidationKind::Replace) continue;
    auto on = idx.nodes.find(a.node);
    if (on == idx.nodes.end()) continue;
    const ClusterNode& node = *on->second;
    auto psIt = pools_.find(a.replacementPool);
    const PoolState* own = validPool(node.info.pool);
    if (psIt == pools_.end() || !psIt->second.valid || !own) continue;
    PoolState& ps = psIt->second;
    if (a.replacementCapacityType != capacity || node.info.capacityType != capacity) continue;
    if (nodeBackoff_.count(a.node) || now - node.created < own->pool.disruption.unneededTime) continue;
    if (own->lastScaleUp != TimePoint{} && now - own->lastScaleUp < config_.scaleDownCooldown) continue;
    bool blocked = false;
    for (const auto* p : idx.movable(a.node)) blocked = blocked || !scaleDownBlocker(*p, own->pool).empty();
    blocked = blocked ||
              !checkpointMoveBlocker(node, idx.movable(a.node), own->pool, a.savingsPerHour, jobHistory_, now).empty();
    if (blocked) continue;
    const InstanceType* type = ps.pool.instanceType(a.replacementInstanceType);
    NodeProvider* provider = providerFor(ps.pool);
    if (!type || !provider) continue;
    auto zone = node.info.labels.find(kLabelZone);
    const std::string z = zone != node.info.labels.end() ? zone->second
                          : ps.pool.zones.empty()        ? ""
                                                         : ps.pool.zones.front();
    const std::string name = newNodeName(ps.pool.name, now);
    NodeTemplate tmpl = nodeTemplate(ps.pool, *type, a.replacementCapacityType, z, name);
    auto r = timedCreate(*provider, ps.pool, tmpl.request);
    if (!r) {
      log("scale-down: creating replacement " + a.replacementInstanceType + " for " + a.node +
          " failed: " + r.error().message);
      metrics_.inc(metric::kScaleUpFailures, {{"pool", ps.pool.name}, {"reason", "replacement"}});
      continue;
    }
    InFlightNode f;
    f.name = r->nodeName.empty() ? name : r->nodeName;
    f.providerNamed = r->nodeName.empty();
    f.pool = ps.pool.name;
    f.instanceType = type->name;
    f.zone = z;
    f.capacityType = a.replacementCapacityType;
    f.createdAt = now;
    f.model = std::move(tmpl.model);
    f.model.name = f.name;
    if (type->gpus > 0) f.extendedRequested.insert(kResourceGpu);
    replacing_[f.name] = a.node;
    inFlight_[f.name] = std::move(f);
    ++created;
    // A replacement is a node created like any other (its failures count as scale-up failures too).
    metrics_.inc(metric::kScaleUps, {{"pool", ps.pool.name}, {"capacity_type", std::string(toString(capacity))}});
    log("scale-down: replacing " + a.node + " (" + node.info.instanceType + ") with " + name + " (" +
        a.replacementInstanceType + "), saving " + std::to_string(a.savingsPerHour) + " USD/h: " + a.reason);
    emit(nodeRef(a.node), "Normal", "Replacing",
         "replacing with cheaper " + a.replacementInstanceType + " node " + name + " (saves " +
             std::to_string(a.savingsPerHour) + " USD/h)");
  }
  return created;
}

int Scaler::progressDrains(const Index& idx, TimePoint now, std::optional<TimePoint>& wake) {
  auto earliest = [&](TimePoint t) {
    if (!wake || t < *wake) wake = t;
  };
  int removed = 0;
  for (auto it = drains_.begin(); it != drains_.end();) {
    Drain& d = it->second;
    auto nodeIt = idx.nodes.find(d.node);
    const PoolState* ps = validPool(d.pool);
    const auto pods = idx.movable(d.node);
    const bool gone = nodeIt == idx.nodes.end();
    const bool interruptedPastNotice = d.reason == DrainReason::Interrupted && now >= d.deadline;
    if (gone || pods.empty() || interruptedPastNotice) {
      if (!ps) {  // not ours to delete: drained, the owner (or the cloud) removes it
        log("drain: node " + d.node + " drained (" + toString(d.reason) +
            "); not managed by a node pool, left in place");
        it = drains_.erase(it);
        continue;
      }
      if (!gone && !d.nodeDeleted) {
        auto st = actions_.deleteNode(d.node);
        if (!st) {
          log("scale-down: deleting Node " + d.node + " failed: " + st.error().message + "; retrying");
          earliest(now + config_.evictionRetry);
          ++it;
          continue;
        }
        d.nodeDeleted = true;
      }
      NodeProvider* provider = providerFor(ps->pool);
      if (provider) {
        auto st = timedRemove(*provider, ps->pool, {d.node, d.pool, ps->pool.provider.parameters});
        if (!st) {
          metrics_.inc(metric::kScaleDownFailures, {{"pool", d.pool}, {"reason", "provider"}});
          log("scale-down: provider delete of " + d.node + " failed: " + st.error().message + "; retrying");
          earliest(now + config_.evictionRetry);
          ++it;
          continue;
        }
      }
      if (d.nodeDeleted) deleted_.insert(d.node);
      metrics_.inc(metric::kScaleDowns, {{"pool", d.pool}, {"reason", toString(d.reason)}});
      pools_[d.pool].lastScaleDown = now;
      log("scale-down: removed node " + d.node + " (pool " + d.pool + ", " + toString(d.reason) + ") after " +
          formatDuration(std::chrono::duration_cast<Duration>(now - d.started)));
      emit(poolRef(d.pool), "Normal", "ScaledDown", "removed " + std::string(toString(d.reason)) + " node " + d.node);
      ++removed;
      it = drains_.erase(it);
      continue;
    }
    if (now >= d.deadline) {
      auto st = actions_.untaintNode(d.node, kTaintDisrupting);
      nodeBackoff_[d.node] = now + config_.drainFailureBackoff;
      metrics_.inc(metric::kScaleDownFailures, {{"pool", d.pool}, {"reason", "drain_timeout"}});
      log("scale-down: drain of " + d.node + " timed out with " + std::to_string(pods.size()) +
          " pod(s) left; untainted" + (st ? "" : " (untaint failed: " + st.error().message + ")") + ", backing off " +
          formatDuration(config_.drainFailureBackoff));
      emit(nodeRef(d.node), "Warning", "DrainFailed",
           std::to_string(pods.size()) + " pod(s) could not be evicted before the deadline; node kept");
      it = drains_.erase(it);
      continue;
    }
    for (const auto* p : pods) {
      const std::string key = p->info.key();
      auto& next = d.nextAttempt[key];
      if (next > now) {
        earliest(next);
        continue;
      }
      std::string message;
      auto outcome = actions_.evictPod(p->info.namespace_, p->info.name, message);
      next = now + config_.evictionRetry;
      earliest(next);
      switch (outcome) {
        case EvictOutcome::Evicted:
          metrics_.inc(metric::kEvictions, {{"result", "evicted"}});
          break;
        case EvictOutcome::Blocked:
          metrics_.inc(metric::kEvictions, {{"result", "blocked"}});
          if (d.blockedReported.insert(key).second) {
            log("drain: eviction of " + key + " from " + d.node + " refused by a PodDisruptionBudget; retrying until " +
                base::formatTime(d.deadline));
            emit(podRef(p->info), "Warning", "EvictionBlocked",
                 "draining node " + d.node + ": " + (message.empty() ? "PodDisruptionBudget refuses" : message));
          }
          break;
        case EvictOutcome::Failed:
          metrics_.inc(metric::kEvictions, {{"result", "failed"}});
          log("drain: eviction of " + key + " failed: " + message);
          break;
      }
    }
    ++it;
  }
  return removed;
}

void Scaler::updateLedger(const ClusterSnapshot& snap, const Index& idx, TimePoint now) {
  std::set<std::string> live, unpriced;
  for (const auto& p : snap.pods) {
    if (p.info.nodeName.empty() || p.info.uid.empty()) continue;
    if (isFinished(p.info)) {
      ledger_.podStopped(p.info.uid, p.finishedAt != TimePoint{} ? p.finishedAt : now);
      continue;
    }
    auto n = idx.nodes.find(p.info.nodeName);
    if (n == idx.nodes.end()) continue;
    placement::NodeInfo priced = n->second->info;
    double onDemandPrice = priced.capacityType == CapacityType::OnDemand ? priced.hourlyPrice : 0;
    if (auto it = pools_.find(priced.pool); it != pools_.end()) {
      if (const auto* type = it->second.pool.instanceType(priced.instanceType)) {
        if (priced.hourlyPrice <= 0) priced.hourlyPrice = type->price(priced.capacityType);
        onDemandPrice = type->onDemandPrice;
      }
    }
    if (priced.hourlyPrice <= 0) {  // not a pool's node: the price table (Karpenter, Cluster Autoscaler, ...)
      if (auto price = prices_.priceOf(priced.labels)) {
        priced.hourlyPrice = price->usdPerHour;
        priced.capacityType = nodeCapacityType(priced.labels);
        onDemandPrice = price->onDemandUsdPerHour;
      }
    }
    if (priced.hourlyPrice <= 0) {  // unknown price: reported, its pods are not charged
      unpriced.insert(priced.name);
      continue;
    }
    const auto req = placement::podRequests(p.info);
    double rate = placement::podCostRateOnNode(req, priced);
    placement::NodeInfo od = priced;
    od.hourlyPrice = onDemandPrice > 0 ? onDemandPrice : priced.hourlyPrice;
    double odRate = placement::podCostRateOnNode(req, od);
    std::string_view label;
    if (!config_.ledgerLabel.empty()) {
      if (auto l = p.info.labels.find(config_.ledgerLabel); l != p.info.labels.end()) label = l->second;
    }
    ledger_.podRunning(p.info.uid, {p.info.namespace_, workflowOf(p.info)}, rate, odRate,
                       p.boundAt != TimePoint{} ? p.boundAt : now, now, label);
    live.insert(p.info.uid);
  }
  chargePrewarm(now, live);
  ledger_.retainOnly(live, now);
  for (const auto& node : unpriced) {
    if (unpricedLogged_.insert(node).second) {
      const auto& labels = idx.nodes.at(node)->info.labels;
      auto label = [&](std::string_view k) {
        auto it = labels.find(k);
        return it == labels.end() ? std::string("(none)") : it->second;
      };
      log("ledger: node " + node + " has no price (instance type " + label(placement::kLabelInstanceType) + ", zone " +
          label(kLabelTopologyZone) + "): its pods are not charged; add it to scaler.priceTable");
    }
  }
  std::erase_if(unpricedLogged_, [&](const std::string& node) { return !unpriced.count(node); });
  unpricedNodes_ = unpriced.size();
  if (!store_) return;
  // A changed memory is saved at once (a failure is retried with the periodic flush): a failover right
  // after an offering failed must not retry it.
  std::string memoryJson = memory(now).toJson();
  if (now - lastFlush_ >= config_.ledgerFlushInterval || memoryJson != lastMemoryJson_) {
    auto st = save(now, std::move(memoryJson));
    if (!st) log("ledger: saving failed: " + st.error().message + "; will retry");
  }
}

void Scaler::publishCost(TimePoint now, const std::map<WorkflowKey, double>& budgets) {
  // Per workflow: every workflow with a budget series (the budget alert joins the two), plus the most
  // expensive of the running workflows and of those stopped within the grace.
  std::vector<WorkflowCost> shown;
  for (auto& c : ledger_.workflowCosts(now)) {
    if (budgets.count(c.workflow)) {
      metrics_.set(metric::kWorkflowCost, {{"namespace", c.workflow.namespaceName}, {"workflow", c.workflow.workflow}},
                   c.usd);
    } else if (c.running || now - c.lastActive <= config_.costSeriesGrace) {
      shown.push_back(std::move(c));
    }
  }
  const auto topWorkflows = static_cast<size_t>(std::max(0, config_.costSeriesTopWorkflows));
  if (shown.size() > topWorkflows) {
    std::nth_element(shown.begin(), shown.begin() + static_cast<std::ptrdiff_t>(topWorkflows), shown.end(),
                     [](const WorkflowCost& a, const WorkflowCost& b) { return a.usd > b.usd; });
    shown.resize(topWorkflows);
  }
  for (const auto& c : shown) {
    metrics_.set(metric::kWorkflowCost, {{"namespace", c.workflow.namespaceName}, {"workflow", c.workflow.workflow}},
                 c.usd);
  }
  for (const auto& [ns, usd] : ledger_.namespaces(now)) metrics_.set(metric::kNamespaceCost, {{"namespace", ns}}, usd);
  // Per owner (CronJob) over the retained daily windows: the most expensive pairs, the rest per namespace.
  const auto owners = ledger_.owners(now - ledgerLimits().retention, now);
  std::vector<std::pair<double, std::pair<std::string, std::string>>> ranked;
  ranked.reserve(owners.size());
  for (const auto& [o, usd] : owners) ranked.emplace_back(usd, o);
  const auto topOwners = std::min(ranked.size(), static_cast<size_t>(std::max(0, config_.costSeriesTopOwners)));
  std::nth_element(ranked.begin(), ranked.begin() + static_cast<std::ptrdiff_t>(topOwners), ranked.end(),
                   std::greater<>());
  std::map<std::pair<std::string, std::string>, double> series;
  for (size_t i = 0; i < ranked.size(); ++i) {
    const auto& [usd, o] = ranked[i];
    series[i < topOwners ? o : std::pair<std::string, std::string>{o.first, kLedgerOther}] += usd;
  }
  for (const auto& [o, usd] : series) {
    metrics_.set(metric::kOwnerCost, {{"namespace", o.first}, {"owner", o.second}}, usd);
  }
}

void Scaler::publish(const ClusterSnapshot& snap, const Index& idx, TimePoint now) {
  metrics_.clearGauges();
  metrics_.set(metric::kUnschedulablePods, {}, unschedulable_);
  metrics_.set(metric::kOldestUnschedulable, {}, oldestUnschedulable_);
  metrics_.set(metric::kInFlightNodes, {}, static_cast<double>(inFlight_.size()));
  metrics_.set(metric::kDrains, {}, static_cast<double>(drains_.size()));

  for (auto& poolEntry : pools_) {
    const auto& name = poolEntry.first;  // not structured bindings: clang 14 (fuzz build) cannot capture them
    auto& ps = poolEntry.second;
    std::map<std::pair<std::string, std::string>, int> states;  // (state, capacity type) -> nodes
    int ready = 0, launching = 0, draining = 0, interrupted = 0;
    placement::Resources used, cap;
    for (const auto& [nodeName, node] : idx.nodes) {
      if (node->info.pool != name || inFlight_.count(nodeName)) continue;
      std::string state = "ready";
      auto d = drains_.find(nodeName);
      if (d != drains_.end())
        state = d->second.reason == DrainReason::Interrupted ? "interrupted" : "draining";
      else if (!node->ready)
        state = "launching";
      states[{state, std::string(toString(node->info.capacityType))}] += 1;
      if (state == "ready") {
        ++ready;
        used += node->info.requested;
        cap += node->info.allocatable;
      } else if (state == "launching") {
        ++launching;
      } else if (state == "draining") {
        ++draining;
      } else {
        ++interrupted;
      }
    }
    for (const auto& [n, f] : inFlight_) {
      if (f.pool != name) continue;
      states[{"launching", std::string(toString(f.capacityType))}] += 1;
      ++launching;
    }
    for (const auto& [k, v] : states) {
      metrics_.set(metric::kNodes, {{"pool", name}, {"state", k.first}, {"capacity_type", k.second}}, v);
    }
    const int desired = ready + launching;
    metrics_.set(metric::kDesiredNodes, {{"pool", name}}, desired);
    auto share = [](int64_t u, int64_t c) { return c > 0 ? static_cast<double>(u) / static_cast<double>(c) : 0.0; };
    metrics_.set(metric::kPoolUtilization, {{"pool", name}, {"resource", "cpu"}}, share(used.cpuMilli, cap.cpuMilli));
    metrics_.set(metric::kPoolUtilization, {{"pool", name}, {"resource", "memory"}}, share(used.memory, cap.memory));
    if (cap.gpus() > 0) {
      metrics_.set(metric::kPoolUtilization, {{"pool", name}, {"resource", "gpu"}}, share(used.gpus(), cap.gpus()));
    }
    auto coolOffUntil = interruptions_.coolOffUntil(name, now);
    metrics_.set(metric::kSpotCoolOff, {{"pool", name}}, coolOffUntil ? 1 : 0);
    if (!ps.fromObject) continue;

    auto condition = [&](const std::string& type, bool status, const std::string& reason, const std::string& message) {
      auto& since = ps.conditionSince[type];
      const std::string s = status ? "True" : "False";
      if (since.first != s) since = {s, now};
      return "{\"type\":\"" + type + "\",\"status\":\"" + s + "\",\"reason\":\"" + reason + "\",\"message\":\"" +
             base::jsonEscaped(message) + "\",\"lastTransitionTime\":\"" + base::formatTime(since.second) +
             "\",\"observedGeneration\":" + std::to_string(ps.pool.generation) + "}";
    };
    std::ostringstream o;
    o << "{\"observedGeneration\":" << ps.pool.generation
      << ",\"nodes\":{\"total\":" << (ready + launching + draining + interrupted) << ",\"ready\":" << ready
      << ",\"launching\":" << launching << ",\"draining\":" << draining << ",\"interrupted\":" << interrupted
      << "},\"desiredNodes\":" << desired;
    if (ps.lastScaleUp != TimePoint{}) o << ",\"lastScaleUpTime\":\"" << base::formatTime(ps.lastScaleUp) << "\"";
    if (ps.lastScaleDown != TimePoint{}) o << ",\"lastScaleDownTime\":\"" << base::formatTime(ps.lastScaleDown) << "\"";
    o << ",\"interruptionRatePerHour\":" << interruptions_.ratePerHour(name, now);
    if (coolOffUntil) o << ",\"spotCoolOffUntil\":\"" << base::formatTime(*coolOffUntil) << "\"";
    o << ",\"conditions\":["
      << condition("Valid", ps.valid, ps.valid ? "Valid" : "InvalidSpec", ps.valid ? "" : ps.invalidReason) << ","
      << condition("SpotCoolOff", coolOffUntil.has_value(), coolOffUntil ? "InterruptionStorm" : "Normal",
                   coolOffUntil ? "new capacity is on-demand until " + base::formatTime(*coolOffUntil) : "")
      << "]}";
    std::string status = o.str();
    if (status != ps.lastStatus) {
      auto st = actions_.updateNodePoolStatus(name, status);
      if (st)
        ps.lastStatus = std::move(status);
      else
        log("nodepool " + name + ": status update failed: " + st.error().message);
    }
  }

  std::map<WorkflowKey, double> budgets;
  for (const auto& p : snap.pods) {
    if (auto b = budgetOf(p.info)) budgets[{p.info.namespace_, workflowOf(p.info)}] = b->limitUsd;
  }
  if (config_.publishCostSeries) publishCost(now, budgets);
  for (const auto& [wf, usd] : budgets) {
    metrics_.set(metric::kWorkflowBudget, {{"namespace", wf.namespaceName}, {"workflow", wf.workflow}}, usd);
  }
  metrics_.set(metric::kUnpricedNodes, {}, static_cast<double>(unpricedNodes_));
  metrics_.set(metric::kCostPerHour, {}, ledger_.costPerHour());
  metrics_.set(metric::kSpotSavings, {}, ledger_.spotSavings(now));
}

}  // namespace spotfit::scaler

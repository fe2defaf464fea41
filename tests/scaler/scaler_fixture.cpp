#include "scaler/scaler_fixture.hpp"

#include <algorithm>

namespace spotfit::scaler::testing {

Status RecordingActions::taintNode(const std::string& node, const placement::Taint& taint) {
  if (failTaint) return makeError("io", "taint refused");
  taints.emplace_back(node, taint);
  return {};
}

Status RecordingActions::untaintNode(const std::string& node, const std::string& key) {
  untaints.emplace_back(node, key);
  return {};
}

EvictOutcome RecordingActions::evictPod(const std::string& ns, const std::string& name, std::string& message) {
  const std::string key = ns + "/" + name;
  evictions.push_back(key);
  auto& script = evictScript[key];
  EvictOutcome out = EvictOutcome::Evicted;
  if (!script.empty()) {
    out = script.front();
    if (script.size() > 1) script.pop_front();
  }
  if (out == EvictOutcome::Blocked) message = "Cannot evict pod as it would violate the pod's disruption budget.";
  if (out == EvictOutcome::Evicted && onEvicted) onEvicted(key);
  return out;
}

Status RecordingActions::deleteNode(const std::string& node) {
  deletedNodes.push_back(node);
  return {};
}

void RecordingActions::event(const ObjectRef& object, const std::string& type, const std::string& reason,
                             const std::string& message) {
  events.push_back({object, type, reason, message});
}

Status RecordingActions::updateNodePoolStatus(const std::string& pool, const std::string& statusJson) {
  statuses[pool] = statusJson;
  ++statusWrites;
  return {};
}

int RecordingActions::count(const std::string& reason) const {
  return static_cast<int>(
      std::count_if(events.begin(), events.end(), [&](const RecordedEvent& e) { return e.reason == reason; }));
}

const RecordedEvent* RecordingActions::find(const std::string& reason) const {
  for (const auto& e : events) {
    if (e.reason == reason) return &e;
  }
  return nullptr;
}

InstanceType type(std::string name, int64_t cpuMilli, int64_t memGi, double onDemand, double spot, int64_t gpus,
                  std::string gpuProduct) {
  InstanceType t;
  t.name = std::move(name);
  t.cpuMilli = cpuMilli;
  t.memoryBytes = memGi << 30;
  t.onDemandPrice = onDemand;
  t.spotPrice = spot;
  t.gpus = gpus;
  t.gpuProduct = std::move(gpuProduct);
  return t;
}

NodePool pool(std::string name, std::vector<CapacityType> capacityTypes, std::vector<InstanceType> types) {
  NodePool p;
  p.name = std::move(name);
  p.capacityTypes = std::move(capacityTypes);
  p.instanceTypes = std::move(types);
  p.provider.type = "memory";
  return p;
}

NodePool m5Pool(std::string name) {
  return pool(std::move(name), {CapacityType::Spot, CapacityType::OnDemand},
              {type("m5.large", 2000, 8, 0.096, 0.035), type("m5.xlarge", 4000, 16, 0.192, 0.07)});
}

ClusterPod pendingPod(const std::string& name, int64_t cpuMilli, int64_t memMi, int64_t gpus) {
  ClusterPod p;
  p.info.namespace_ = "team";
  p.info.name = name;
  p.info.uid = "uid-" + name;
  p.info.ownerKind = "Job";
  p.info.ownerName = "train";
  p.info.hasController = true;
  p.info.workflow = "train";
  placement::Container c;
  c.name = "main";
  c.requests.cpuMilli = cpuMilli;
  c.requests.memory = memMi << 20;
  if (gpus > 0) {
    c.requests.set("nvidia.com/gpu", gpus);
    c.limits.set("nvidia.com/gpu", gpus);
    p.info.tolerations.push_back(
        {"nvidia.com/gpu", placement::TolerationOperator::Exists, "", std::nullopt, std::nullopt});
  }
  p.info.containers.push_back(c);
  p.unschedulable = true;
  return p;
}

ClusterPod replicaSetPod(const std::string& name, int64_t cpuMilli, int64_t memMi) {
  auto p = pendingPod(name, cpuMilli, memMi);
  p.info.ownerKind = "ReplicaSet";
  return p;
}

void Cluster::materialize(const InMemoryProvider& provider, bool ready, bool advertiseExtended) {
  auto listed = const_cast<InMemoryProvider&>(provider).list();
  const std::vector<ProviderNode> liveNodes = listed.ok() ? *listed : std::vector<ProviderNode>{};
  for (const auto& req : provider.createRequests()) {
    bool live = false;
    for (const auto& n : liveNodes) live = live || n.nodeName == req.nodeName;
    if (!live) continue;
    bool exists = std::any_of(snapshot.nodes.begin(), snapshot.nodes.end(),
                              [&](const ClusterNode& n) { return n.info.name == req.nodeName; });
    if (exists) continue;
    ClusterNode n;
    n.info.name = req.nodeName;
    for (const auto& [k, v] : req.labels) n.info.labels[k] = v;
    n.info.taints = req.taints;
    n.info.allocatable.cpuMilli = req.cpuMilli;
    n.info.allocatable.memory = req.memoryBytes;
    n.info.allocatable.pods = req.pods;
    if (advertiseExtended) {
      for (const auto& [k, v] : req.extended) n.info.allocatable.set(k, v);
    }
    placement::deriveFromLabels(n.info);
    n.ready = ready;
    snapshot.nodes.push_back(std::move(n));
  }
}

ClusterNode& Cluster::node(const std::string& name) {
  for (auto& n : snapshot.nodes) {
    if (n.info.name == name) return n;
  }
  throw std::runtime_error("no node " + name);
}

ClusterPod& Cluster::pod(const std::string& name) {
  for (auto& p : snapshot.pods) {
    if (p.info.name == name) return p;
  }
  throw std::runtime_error("no pod " + name);
}

void Cluster::bind(const std::string& podName, const std::string& nodeName, TimePoint at) {
  auto& p = pod(podName);
  p.info.nodeName = nodeName;
  p.info.phase = placement::PodPhase::Running;
  p.unschedulable = false;
  p.boundAt = at;
  recomputeRequested();
}

void Cluster::removeNode(const std::string& name) {
  std::erase_if(snapshot.nodes, [&](const ClusterNode& n) { return n.info.name == name; });
}

void Cluster::removePod(const std::string& name) {
  std::erase_if(snapshot.pods, [&](const ClusterPod& p) { return p.info.name == name; });
  recomputeRequested();
}

void Cluster::recomputeRequested() {
  for (auto& n : snapshot.nodes) {
    n.info.requested = {};
    for (const auto& p : snapshot.pods) {
      if (p.info.nodeName == n.info.name && !isFinished(p.info)) n.info.requested += placement::podRequests(p.info);
    }
  }
}

ClusterNode& Cluster::addNode(const NodePool& pool, const std::string& name, CapacityType ct, TimePoint created) {
  auto tmpl = nodeTemplate(pool, pool.instanceTypes.front(), ct, pool.zones.empty() ? "" : pool.zones.front(), name);
  ClusterNode n;
  n.info = tmpl.model;
  n.info.inFlight = false;
  n.ready = true;
  n.created = created;
  snapshot.nodes.push_back(std::move(n));
  return snapshot.nodes.back();
}

void Cluster::interruptionNotice(const std::string& nodeName, const std::string& key) {
  node(nodeName).info.taints.push_back({key, "", placement::TaintEffect::NoSchedule});
}

Env::Env() {
  config.nodePools.clear();
  actions.onEvicted = [this](const std::string& key) {
    for (auto& p : cluster.snapshot.pods) {
      if (p.info.key() == key) p.deleting = true;
    }
  };
}

Scaler& Env::start() {
  scaler = std::make_unique<Scaler>(
      config, clock, actions, planner, [this](const NodePool&) -> NodeProvider* { return &provider; }, &store,
      [this](const std::string& line) { logs.push_back(line); });
  return *scaler;
}

ClusterPod& Env::runPod(ClusterPod pod, const std::string& node) {
  const std::string name = pod.info.name;
  cluster.snapshot.pods.push_back(std::move(pod));
  cluster.bind(name, node, clock.wallNow());
  return cluster.pod(name);
}

void Env::closeBatch() {
  reconcile();
  clock.advance(std::chrono::seconds(1));
  reconcile();
}

void Env::runFor(Duration d, Duration step, bool materialize) {
  const auto end = clock.wallNow() + d;
  while (clock.wallNow() < end) {
    reconcile();
    if (materialize) cluster.materialize(provider);
    clock.advance(step);
  }
}

bool Env::logged(const std::string& needle) const {
  return std::any_of(logs.begin(), logs.end(),
                     [&](const std::string& l) { return l.find(needle) != std::string::npos; });
}

}  // namespace spotfit::scaler::testing

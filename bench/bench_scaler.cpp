// Scaler benchmarks (virtual time: the clock is a ManualClock, so batching and delays cost nothing and
// only the decision work is measured on the wall clock).
//   BM_UnschedulableToCreate/<pods>/<nodes>: the reconcile that closes a batch of <pods> unschedulable
//     pods in a cluster of <nodes> busy nodes and creates capacity through the in-memory provider.
//     unschedulable -> create latency = 1 s batch idle (virtual) + this wall time.
//   BM_InterruptionToReplacement/<nodes>: the reconcile that sees an interruption notice on one of
//     <nodes> spot nodes (20 pods each) and requests the replacement (no batch window).
//   BM_EmptyNodeRemoval: virtual seconds from a node going empty to its provider delete with a 1 s loop.
// p50/p99 of the wall time are reported as counters (milliseconds).

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "scaler/memory_provider.hpp"
#include "scaler/planner.hpp"
#include "scaler/scaler.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;

class NullActions final : public ClusterActions {
 public:
  Status taintNode(const std::string&, const placement::Taint&) override { return {}; }
  Status untaintNode(const std::string&, const std::string&) override { return {}; }
  EvictOutcome evictPod(const std::string&, const std::string&, std::string&) override { return EvictOutcome::Evicted; }
  Status deleteNode(const std::string&) override { return {}; }
  void event(const ObjectRef&, const std::string&, const std::string&, const std::string&) override {}
  Status updateNodePoolStatus(const std::string&, const std::string&) override { return {}; }
};

NodePool benchPool() {
  NodePool p;
  p.name = "batch";
  p.capacityTypes = {CapacityType::Spot, CapacityType::OnDemand};
  p.provider.type = "memory";
  p.maxNodes = 100000;
  const struct {
    const char* name;
    int64_t cpu, memGi;
    double od, spot;
  } types[] = {{"m5.large", 2000, 8, 0.096, 0.035},   {"m5.xlarge", 4000, 16, 0.192, 0.07},
               {"m5.2xlarge", 8000, 32, 0.384, 0.14}, {"c5.2xlarge", 8000, 16, 0.34, 0.125},
               {"r5.xlarge", 4000, 32, 0.252, 0.09},  {"m5.4xlarge", 16000, 64, 0.768, 0.29}};
  for (const auto& t : types) {
    InstanceType it;
    it.name = t.name;
    it.cpuMilli = t.cpu;
    it.memoryBytes = t.memGi << 30;
    it.onDemandPrice = t.od;
    it.spotPrice = t.spot;
    p.instanceTypes.push_back(it);
  }
  return p;
}

ClusterPod pod(const std::string& name, int64_t cpu, int64_t memMi, bool pending) {
  ClusterPod p;
  p.info.namespace_ = "bench";
  p.info.name = name;
  p.info.uid = "uid-" + name;
  p.info.ownerKind = "Job";
  p.info.ownerName = "job";
  p.info.hasController = true;
  placement::Container c;
  c.requests.cpuMilli = cpu;
  c.requests.memory = memMi << 20;
  p.info.containers.push_back(c);
  p.unschedulable = pending;
  return p;
}

// `nodes` ready spot nodes of m5.xlarge, each holding `podsPerNode` pods that use `cpuFill` millicores.
ClusterSnapshot busyCluster(const NodePool& pool, int nodes, int podsPerNode, int64_t cpuFill = 3600) {
  ClusterSnapshot s;
  for (int i = 0; i < nodes; ++i) {
    const std::string name = "node-" + std::to_string(i);
    ClusterNode n;
    n.info = nodeTemplate(pool, pool.instanceTypes[1], CapacityType::Spot, "", name).model;
    n.info.inFlight = false;
    n.ready = true;
    const int64_t cpu = cpuFill / podsPerNode;
    for (int k = 0; k < podsPerNode; ++k) {
      auto p = pod(name + "-p" + std::to_string(k), cpu, 512, false);
      p.info.nodeName = name;
      p.info.phase = placement::PodPhase::Running;
      n.info.requested += placement::podRequests(p.info);
      s.pods.push_back(std::move(p));
    }
    s.nodes.push_back(std::move(n));
  }
  return s;
}

void reportPercentiles(benchmark::State& state, std::vector<double>& ms) {
  if (ms.empty()) return;
  std::sort(ms.begin(), ms.end());
  auto at = [&](double q) {
    return ms[std::min(ms.size() - 1, static_cast<size_t>(q * static_cast<double>(ms.size())))];
  };
  state.counters["p50_ms"] = at(0.50);
  state.counters["p99_ms"] = at(0.99);
}

// One reconcile timed on the wall clock: its seconds become the benchmark's manual iteration time and its
// milliseconds join `ms` for the percentiles.
ReconcileResult timedReconcile(benchmark::State& state, Scaler& scaler, const ClusterSnapshot& snap,
                               std::vector<double>& ms) {
  const auto start = std::chrono::steady_clock::now();
  auto r = scaler.reconcile(snap);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  state.SetIterationTime(secs);
  ms.push_back(secs * 1000);
  return r;
}

void BM_UnschedulableToCreate(benchmark::State& state) {
  const int pods = static_cast<int>(state.range(0));
  const int nodes = static_cast<int>(state.range(1));
  ScalerConfig cfg;
  cfg.nodePools = {benchPool()};
  NullActions actions;
  PlacementPlanner planner;
  std::vector<double> ms;
  size_t created = 0;
  for (auto _ : state) {
    kube::ManualClock clock;
    InMemoryProvider provider(clock);
    Scaler scaler(cfg, clock, actions, planner, [&](const NodePool&) -> NodeProvider* { return &provider; });
    ClusterSnapshot snap = busyCluster(cfg.nodePools[0], nodes, 10);
    for (int i = 0; i < pods; ++i) {
      snap.pods.push_back(pod("pending-" + std::to_string(i), 100 + (i * 37) % 1400, 128 + (i * 53) % 3968, true));
    }
    scaler.reconcile(snap);  // pods observed: the batch opens
    clock.advance(1s);       // ... and closes after 1 s idle (virtual)
    auto r = timedReconcile(state, scaler, snap, ms);
    created += static_cast<size_t>(r.nodesCreated);
    benchmark::DoNotOptimize(r);
  }
  state.counters["nodes_created"] = static_cast<double>(created) / static_cast<double>(state.iterations());
  state.counters["pods_per_s"] = benchmark::Counter(static_cast<double>(pods) * static_cast<double>(state.iterations()),
                                                    benchmark::Counter::kIsRate);
  reportPercentiles(state, ms);
}
BENCHMARK(BM_UnschedulableToCreate)
    ->Args({10, 100})
    ->Args({100, 500})
    ->Args({1000, 1000})
    ->Args({5000, 2000})
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

void BM_InterruptionToReplacement(benchmark::State& state) {
  const int nodes = static_cast<int>(state.range(0));
  ScalerConfig cfg;
  cfg.nodePools = {benchPool()};
  NullActions actions;
  PlacementPlanner planner;
  std::vector<double> ms;
  for (auto _ : state) {
    kube::ManualClock clock;
    InMemoryProvider provider(clock);
    Scaler scaler(cfg, clock, actions, planner, [&](const NodePool&) -> NodeProvider* { return &provider; });
    ClusterSnapshot snap = busyCluster(cfg.nodePools[0], nodes, 20, 4000);  // full: replacements need new nodes
    scaler.reconcile(snap);
    clock.advance(1s);
    snap.nodes[0].info.taints.push_back(
        {"aws-node-termination-handler/spot-itn", "", placement::TaintEffect::NoSchedule});
    auto r = timedReconcile(state, scaler, snap, ms);
    if (r.nodesCreated < 1) state.SkipWithError("no replacement requested");
  }
  reportPercentiles(state, ms);
}
BENCHMARK(BM_InterruptionToReplacement)->Arg(100)->Arg(1000)->Arg(5000)->UseManualTime()->Unit(benchmark::kMillisecond);

void BM_EmptyNodeRemoval(benchmark::State& state) {
  ScalerConfig cfg;
  cfg.nodePools = {benchPool()};
  NullActions actions;
  PlacementPlanner planner;
  double virtualSeconds = 0;
  for (auto _ : state) {
    kube::ManualClock clock;
    InMemoryProvider provider(clock);
    Scaler scaler(cfg, clock, actions, planner, [&](const NodePool&) -> NodeProvider* { return &provider; });
    ClusterSnapshot snap = busyCluster(cfg.nodePools[0], 10, 10);
    NodeRequest req;
    req.nodeName = "node-0";
    req.pool = "batch";
    (void)provider.create(req);
    clock.advance(std::chrono::milliseconds(370));  // the node empties at an arbitrary phase of the 1 s loop
    std::erase_if(snap.pods, [](const ClusterPod& p) { return p.info.nodeName == "node-0"; });
    snap.nodes[0].info.requested = {};
    const auto emptied = clock.wallNow();
    while (provider.liveNodes() > 0) {
      scaler.reconcile(snap);
      if (provider.liveNodes() == 0) break;
      clock.advance(1s);
    }
    virtualSeconds = std::chrono::duration<double>(clock.wallNow() - emptied).count();
  }
  state.counters["virtual_s_to_removal"] = virtualSeconds;
  state.counters["consolidate_after_s"] =
      std::chrono::duration<double>(cfg.nodePools[0].disruption.consolidateAfter).count();
}
BENCHMARK(BM_EmptyNodeRemoval)->Iterations(3)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace spotfit::scaler

BENCHMARK_MAIN();

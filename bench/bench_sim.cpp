// Simulator throughput: 10,080 pods (48 MapReduce workflows of 200 map + 10 reduce tasks, one every 30 min)
// over a simulated 24 h, per strategy. Target: <= 10 s wall per simulated day. Figures in docs/benchmarks.md.
#include <benchmark/benchmark.h>

#include <string>

#include "sim/engine.hpp"
#include "sim/workload.hpp"

namespace {

const char* kDay = R"(horizon: 24h
seed: 11
provisioning: {delay: 90s, jitter: 30s, podStartup: 5s}
nodePools:
  - name: general
    max: 500
    instanceTypes:
      - {name: m5.xlarge,  cpu: "4",  memory: 16Gi, onDemandPrice: 0.192, spotPrice: 0.0666}
      - {name: m5.2xlarge, cpu: "8",  memory: 32Gi, onDemandPrice: 0.384, spotPrice: 0.1331}
      - {name: m5.4xlarge, cpu: "16", memory: 64Gi, onDemandPrice: 0.768, spotPrice: 0.2728}
      - {name: c5.2xlarge, cpu: "8",  memory: 16Gi, onDemandPrice: 0.340, spotPrice: 0.1169}
      - {name: r5.2xlarge, cpu: "8",  memory: 64Gi, onDemandPrice: 0.504, spotPrice: 0.1456}
spotMarket:
  interruptionsPerHour: 0.03
  unavailable: [{instanceType: m5.2xlarge, from: 10h, to: 12h}]
checkpoint: {saveTime: 15s, lostWithCheckpoint: 0.05}
workflows:
  - name: mapreduce
    arrival: {every: 30m, start: 0s, until: 23h30m}
    jobs:
      - name: map
        completions: 200
        parallelism: 100
        duration: {mean: 4m, stddev: 2m}
        requests: {cpu: "1", memory: 2Gi}
        usage: {cpu: 500m, memory: 1Gi}
      - name: reduce
        after: [map]
        completions: 10
        duration: {mean: 10m, stddev: 3m}
        requests: {cpu: "2", memory: 6Gi}
        usage: {cpu: 1500m, memory: 4Gi}
        resumable: true
)";

void runDay(benchmark::State& state, const char* strategy) {
  auto w = spotfit::sim::parseWorkload(kDay, "bench");
  if (!w) {
    state.SkipWithError(w.error().message.c_str());
    return;
  }
  auto s = spotfit::sim::strategyByName(strategy);
  spotfit::sim::StrategyResult r;
  for (auto _ : state) {
    r = spotfit::sim::simulate(*w, *s, spotfit::sim::SimulationOptions{11});
    double cost = r.totalCostUsd;
    benchmark::DoNotOptimize(cost);
  }
  state.counters["pods"] = static_cast<double>(r.tasks);
  state.counters["completed"] = static_cast<double>(r.tasksCompleted);
  state.counters["cost_usd"] = r.totalCostUsd;
  state.counters["nodes"] = static_cast<double>(r.nodesLaunched);
  state.counters["pods_per_s"] = benchmark::Counter(
      static_cast<double>(r.tasks) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
}

void BM_SimulateDay_Baseline(benchmark::State& state) {
  runDay(state, "baseline");
}
void BM_SimulateDay_SpotOnly(benchmark::State& state) {
  runDay(state, "spot-only");
}
void BM_SimulateDay_Spotfit(benchmark::State& state) {
  runDay(state, "spotfit");
}

BENCHMARK(BM_SimulateDay_Baseline)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_SimulateDay_SpotOnly)->Unit(benchmark::kMillisecond)->Iterations(3);
BENCHMARK(BM_SimulateDay_Spotfit)->Unit(benchmark::kMillisecond)->Iterations(3);

}  // namespace

BENCHMARK_MAIN();

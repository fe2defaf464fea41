// Cost ledger benchmarks at 20,000 running pods and 50,000 past workflows (issue 16): the size of what the
// scaler writes to its ConfigMap every ledgerFlushInterval, and the time of one save (accrue + toJson) and
// of one load (fromJson, what the webhook and the extender do every budgets.refresh).
//   BM_LedgerSave: accrue + serialize; counter `bytes` is the ledger.json size.
//   BM_LedgerLoad: parse the saved ledger back.
//   BM_LedgerVersion1Load: the same cluster as version 1 stored it (every past workflow and every running
//     pod by uid, no daily windows): counter `bytes` is what the unbounded ledger would have to save.
// The workload is the one of tests/scaler/ledger_bounds_test.cpp: 250 CronJobs × 200 runs over 31 days
// (2 pods of 1 h each per run), then 1,000 running workflows × 20 pods in 50 namespaces.

#include <benchmark/benchmark.h>

#include <cstdio>
#include <string>

#include "kube/clock.hpp"
#include "scaler/ledger.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;

std::string uuid(unsigned a, unsigned b) {  // unsigned: the arithmetic wraps, by design
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012x", a * 2654435761u, b & 0xffffu, a & 0xfffu, b & 0xfffu,
                a * 40503u + b);
  return buf;
}

struct Cluster {
  CostLedger ledger;
  std::string version1;  // the same state in the version 1 layout
  TimePoint now;
};

Cluster fullCluster() {
  kube::ManualClock clock;
  Cluster c;
  std::string workflows, running;
  const TimePoint start = clock.wallNow();
  constexpr int kRuns = 200, kCronJobs = 250;
  for (int run = 0; run < kRuns; ++run) {
    const TimePoint t = start + run * std::chrono::duration_cast<std::chrono::milliseconds>(31 * 24h) / kRuns;
    for (int cj = 0; cj < kCronJobs; ++cj) {
      const WorkflowKey wf{"team-" + std::to_string(cj % 50),
                           "report-" + std::to_string(cj) + "-" + std::to_string(29400000 + run * 223)};
      for (int pod = 0; pod < 2; ++pod) {
        const std::string uid = uuid(run * kCronJobs + cj, pod);
        c.ledger.podRunning(uid, wf, 0.1 + cj / 7.0, 0.5 + cj / 3.0, t, t);
        c.ledger.podStopped(uid, t + 1h);
      }
      workflows += (workflows.empty() ? "" : ",") + std::string("{\"namespace\":\"") + wf.namespaceName +
                   "\",\"workflow\":\"" + wf.workflow + "\",\"usd\":" + std::to_string(2 * (0.1 + cj / 7.0)) + "}";
    }
    c.ledger.accrue(t + 1h);
  }
  clock.advance(31 * 24h);
  const TimePoint now = clock.wallNow();
  for (int wf = 0; wf < 1000; ++wf) {
    const WorkflowKey key{"team-" + std::to_string(wf % 50), "train-" + std::to_string(wf)};
    for (int pod = 0; pod < 20; ++pod) {
      const std::string uid = uuid(1000000 + wf, pod);
      c.ledger.podRunning(uid, key, 0.04 + wf / 9.0, 0.11 + wf / 3.0, now - 2h, now);
      running += (running.empty() ? "" : ",") + std::string("{\"uid\":\"") + uid + "\",\"namespace\":\"" +
                 key.namespaceName + "\",\"workflow\":\"" + key.workflow +
                 "\",\"ratePerHour\":" + std::to_string(0.04 + wf / 9.0) +
                 ",\"onDemandRatePerHour\":" + std::to_string(0.11 + wf / 3.0) +
                 ",\"accruedToMs\":" + std::to_string(toEpochMs(now)) + "}";
    }
  }
  c.version1 = "{\"version\":1,\"workflows\":[" + workflows + "],\"running\":[" + running + "]}";
  clock.advance(30s);
  c.now = clock.wallNow();
  return c;
}

const Cluster& cluster() {
  static const Cluster c = fullCluster();
  return c;
}

void BM_LedgerSave(benchmark::State& state) {
  CostLedger l = cluster().ledger;
  TimePoint now = cluster().now;
  size_t bytes = 0;
  for (auto _ : state) {
    now += 30s;  // one ledgerFlushInterval later
    l.accrue(now);
    const std::string json = l.toJson();
    bytes = json.size();
    benchmark::DoNotOptimize(json.data());
  }
  state.counters["bytes"] = static_cast<double>(bytes);
  state.counters["running_pods"] = static_cast<double>(l.runningPods());
}
BENCHMARK(BM_LedgerSave)->Unit(benchmark::kMillisecond);

void BM_LedgerLoad(benchmark::State& state) {
  CostLedger l = cluster().ledger;
  l.accrue(cluster().now);
  const std::string json = l.toJson();
  for (auto _ : state) {
    auto back = CostLedger::fromJson(json);
    if (!back.ok()) state.SkipWithError(back.error().message.c_str());
    benchmark::DoNotOptimize(back);
  }
  state.counters["bytes"] = static_cast<double>(json.size());
}
BENCHMARK(BM_LedgerLoad)->Unit(benchmark::kMillisecond);

void BM_LedgerVersion1Load(benchmark::State& state) {
  const std::string& json = cluster().version1;
  for (auto _ : state) {
    auto back = CostLedger::fromJson(json);
    if (!back.ok()) state.SkipWithError(back.error().message.c_str());
    benchmark::DoNotOptimize(back);
  }
  state.counters["bytes"] = static_cast<double>(json.size());
}
BENCHMARK(BM_LedgerVersion1Load)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace spotfit::scaler

BENCHMARK_MAIN();

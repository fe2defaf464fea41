// In-process cost of one admission: decode the AdmissionReview, run the policy on a typical ~4 KB Job
// pod, diff for the JSON Patch, encode the response (with metrics, VPA/Job look-ups, budget check and PDB
// enqueue on). Results: docs/benchmarks.md ("Webhook").
#include <benchmark/benchmark.h>
#include <prometheus/registry.h>
#include <sys/resource.h>

#include <fstream>
#include <sstream>

#include "webhook/admitter.hpp"
#include "webhook/json_patch.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/pdb.hpp"

namespace {

namespace wh = spotfit::webhook;

std::string readPod() {
  std::ifstream in(std::string(SPOTFIT_SOURCE_DIR) + "/bench/data/webhook-job-pod.json");
  std::stringstream ss;
  ss << in.rdbuf();
  wh::json::Document d;
  d.Parse(ss.str().c_str());
  return wh::json::serialize(d);
}

std::string reviewOf(const std::string& object) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"705ab4f5-6393-11e8-b7cc-42010a800002",)"
         R"("kind":{"group":"","version":"v1","kind":"Pod"},"resource":{"group":"","version":"v1","resource":"pods"},)"
         R"("requestKind":{"group":"","version":"v1","kind":"Pod"},"requestResource":{"group":"","version":"v1","resource":"pods"},)"
         R"("namespace":"analytics","operation":"CREATE","userInfo":{"username":"system:serviceaccount:kube-system:job-controller",)"
         R"("uid":"3f1c8a52-97b1-4c1e-9a53-0b2d6e1f7a10","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]},)"
         R"("object":)" +
         object +
         R"(,"oldObject":null,"dryRun":false,"options":{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}})";
}

class NullWriter : public wh::PdbWriter {
 public:
  spotfit::Status create(const wh::PdbRequest&) override { return {}; }
};

struct World {
  prometheus::Registry registry;
  wh::WebhookMetrics metrics{registry};
  wh::VpaIndex vpas;
  wh::JobIndex jobs;
  wh::StaticSpend spend;
  NullWriter writer;
  wh::QueuedPdbEnsurer pdbs{writer};
  wh::RecordingEvents events;
  std::unique_ptr<wh::Admitter> admitter;
  std::string body;

  World() {
    for (int i = 0; i < 1000; ++i) {  // a populated index, not a single entry
      wh::Vpa v;
      v.namespace_ = "analytics";
      v.name = "vpa-" + std::to_string(i);
      v.targetKind = "CronJob";
      v.targetName = i == 0 ? "nightly-etl" : "other-" + std::to_string(i);
      v.targets["etl"] = {{"cpu", "1200m"}, {"memory", "1500Mi"}};
      vpas.upsert(v);
    }
    jobs.upsert("analytics", "nightly-etl-29012345",
                wh::JobInfo{"5c0a3f8e-8a1b-4e59-9f7a-2b6f0c1d9e33", 4, "nightly-etl"});
    spend.set("analytics", "nightly-etl-29012345", 120.0);
    wh::AdmitterPorts p;
    p.vpas = &vpas;
    p.jobs = &jobs;
    p.spend = &spend;
    p.pdbs = &pdbs;
    p.events = &events;
    p.metrics = &metrics;
    admitter = std::make_unique<wh::Admitter>(wh::WebhookConfig{}, p);
    body = reviewOf(readPod());
  }
};

World& world() {
  static World w;
  return w;
}

void reportRss(benchmark::State& state) {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  state.counters["maxrss_MiB"] = static_cast<double>(ru.ru_maxrss) / 1024.0;
}

void BM_AdmitJobPod(benchmark::State& state) {
  World& w = world();
  state.counters["body_bytes"] = static_cast<double>(w.body.size());
  for (auto _ : state) {
    wh::Admission a = w.admitter->review(w.body);
    if (a.result != wh::ReviewResult::Patched) state.SkipWithError("expected a patch");
    benchmark::DoNotOptimize(a.body.data());
  }
  state.SetItemsProcessed(state.iterations());
  reportRss(state);
}
BENCHMARK(BM_AdmitJobPod)->Threads(1)->Threads(2)->UseRealTime();

// The pod pass of a Job whose template was already mutated: the common case in production.
void BM_AdmitAlreadyMutatedPod(benchmark::State& state) {
  World& w = world();
  wh::Admission first = w.admitter->review(w.body);
  const std::string mutated = reviewOf(wh::json::serialize(*first.mutated));
  for (auto _ : state) {
    wh::Admission a = w.admitter->review(mutated);
    if (a.result != wh::ReviewResult::Unchanged) state.SkipWithError("expected no patch");
    benchmark::DoNotOptimize(a.body.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AdmitAlreadyMutatedPod)->Threads(1)->Threads(2)->UseRealTime();

void BM_DecodeOnly(benchmark::State& state) {
  World& w = world();
  for (auto _ : state) {
    auto d = wh::decodeAdmissionReview(w.body);
    benchmark::DoNotOptimize(d.request->object);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeOnly);

void BM_DiffOnly(benchmark::State& state) {
  World& w = world();
  wh::Admission first = w.admitter->review(w.body);
  wh::json::Document original;
  std::string pod = readPod();
  original.Parse(pod.c_str());
  for (auto _ : state) {
    wh::JsonPatch p = wh::diff(original, *first.mutated);
    benchmark::DoNotOptimize(p.json.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DiffOnly);

}  // namespace

BENCHMARK_MAIN();

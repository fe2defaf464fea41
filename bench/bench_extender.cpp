// Scheduler extender benchmarks (figures in docs/benchmarks.md, "Scheduler extender"):
//  - BM_NamesMode: filter + prioritize of 500 candidate names out of 5,000 cached nodes (150,000 pods
//    bound), the whole server-side path: decode ExtenderArgs and Pod, fit/score with the placement
//    core, assume, encode. Target p99 <= 0.5 ms for both verbs together.
//  - BM_ObjectsMode: the same verbs with 500 real-sized Node objects (~17 KB each: cloud and GPU
//    feature discovery labels, 50 images) in the request. Target p99 <= 25 ms.
//  - BM_CacheMemory: resident memory of the cache holding 5,000 nodes and 150,000 pods.
// Percentiles are computed from per-iteration wall times and reported as counters (microseconds).

#include <benchmark/benchmark.h>
#include <malloc.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "extender/cache.hpp"
#include "extender/extender.hpp"
#include "kube/json.hpp"
#include "kube/objects.hpp"

namespace {

using spotfit::extender::ClusterCache;
using spotfit::extender::Extender;
using spotfit::kube::SystemClock;

constexpr int kNodes = 5000;
constexpr int kPodsPerNode = 30;  // 150,000 pods
constexpr int kCandidates = 500;

std::string readFile(const std::string& relative) {
  std::ifstream in(std::string(SPOTFIT_SOURCE_DIR) + "/" + relative, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + relative);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string toJson(const spotfit::kube::json::Value& v) {
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  v.Accept(w);
  return {buf.GetString(), buf.GetSize()};
}

std::string nodeName(int i) {
  return "ip-10-" + std::to_string(i / 250) + "-" + std::to_string(i % 250) + ".ec2.internal";
}

// The golden request: a CPU pod that tolerates the GPU taint (so GPU and CPU nodes both stay candidates)
// plus the six real-shaped Node objects used as templates.
struct Templates {
  spotfit::kube::json::Document doc;
  std::string podJson;
  std::vector<spotfit::placement::NodeInfo> nodes;
};

const Templates& templates() {
  static const Templates t = [] {
    Templates out;
    std::string text = readFile("tests/extender/testdata/args/budget-nodes.json");
    out.doc.Parse(text.c_str(), text.size());
    if (out.doc.HasParseError()) throw std::runtime_error("bad template");
    out.podJson = toJson(out.doc["Pod"]);
    for (const auto& item : out.doc["Nodes"]["items"].GetArray()) {
      auto node = spotfit::kube::decodeNode(item);
      if (!node.ok()) throw std::runtime_error(node.error().message);
      out.nodes.push_back(node->info);
    }
    return out;
  }();
  return t;
}

spotfit::placement::Resources smallPod(int i) {
  spotfit::placement::Resources r;
  r.cpuMilli = 50 + (i % 7) * 10;
  r.memory = (int64_t{64} + (i % 5) * 32) << 20;
  r.pods = 1;
  return r;
}

void fillCache(ClusterCache& cache) {
  const auto& t = templates();
  for (int i = 0; i < kNodes; ++i) {
    spotfit::placement::NodeInfo n = t.nodes[static_cast<std::size_t>(i) % t.nodes.size()];
    n.name = nodeName(i);
    n.labels["kubernetes.io/hostname"] = n.name;
    cache.nodeUpserted(std::move(n));
  }
  char uid[40];
  for (int i = 0; i < kNodes * kPodsPerNode; ++i) {
    std::snprintf(uid, sizeof uid, "%08x-1f2e-4d3c-8b4a-%012x", static_cast<unsigned>(i),
                  static_cast<unsigned>(i) * 2654435761u);
    cache.podUpserted(uid, nodeName(i % kNodes), false, smallPod(i));
  }
  cache.synced();
}

std::string namesRequest() {
  std::string body = "{\"Pod\":" + templates().podJson + ",\"Nodes\":null,\"NodeNames\":[";
  for (int i = 0; i < kCandidates; ++i) {
    if (i) body += ",";
    body += "\"" + nodeName(i * (kNodes / kCandidates) + 3) + "\"";  // spread over the cluster
  }
  return body + "]}";
}

std::string objectsRequest() {
  const auto& t = templates();
  const auto& items = t.doc["Nodes"]["items"];
  std::string body = "{\"Pod\":" + t.podJson + ",\"Nodes\":{\"metadata\":{},\"items\":[";
  spotfit::kube::json::Document scratch;
  for (int i = 0; i < kCandidates; ++i) {
    scratch.CopyFrom(items[static_cast<rapidjson::SizeType>(i % items.Size())], scratch.GetAllocator());
    const std::string name = nodeName(i * (kNodes / kCandidates) + 3);
    scratch["metadata"]["name"].SetString(name.c_str(), static_cast<rapidjson::SizeType>(name.size()),
                                          scratch.GetAllocator());
    if (i) body += ",";
    body += toJson(scratch);
  }
  return body + "]},\"NodeNames\":null}";
}

double threadCpuMicros() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6 + static_cast<double>(ts.tv_nsec) / 1e3;
}

// Wall-clock percentiles include time the thread spent preempted (the benchmark host is shared);
// thread-CPU percentiles are what one request costs a core.
void reportPercentiles(benchmark::State& state, std::vector<double>& wall, std::vector<double>& cpu) {
  auto pct = [](std::vector<double>& v, double p) {
    std::sort(v.begin(), v.end());
    return v[static_cast<std::size_t>(p * static_cast<double>(v.size() - 1))];
  };
  state.counters["wall_p50_us"] = pct(wall, 0.50);
  state.counters["wall_p99_us"] = pct(wall, 0.99);
  state.counters["cpu_p50_us"] = pct(cpu, 0.50);
  state.counters["cpu_p99_us"] = pct(cpu, 0.99);
}

void runVerbs(benchmark::State& state, const std::string& body, bool objects) {
  SystemClock clock;
  ClusterCache cache(clock);
  fillCache(cache);
  Extender extender(cache, nullptr);
  const int verbs = static_cast<int>(state.range(0));  // 0 filter, 1 prioritize, 2 both
  std::vector<double> wall, cpu;
  std::size_t passed = 0;
  for (auto _ : state) {
    const auto t0 = std::chrono::steady_clock::now();
    const double c0 = threadCpuMicros();
    if (verbs != 1) {
      auto f = extender.filterBody(body);
      if (f.status != 200) throw std::runtime_error(f.body);
      passed = f.body.size();
      benchmark::DoNotOptimize(f);
    }
    if (verbs != 0) {
      auto p = extender.prioritizeBody(body);
      if (p.status != 200) throw std::runtime_error(p.body);
      benchmark::DoNotOptimize(p);
    }
    cpu.push_back(threadCpuMicros() - c0);
    wall.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  reportPercentiles(state, wall, cpu);
  state.counters["request_KiB"] = static_cast<double>(body.size()) / 1024.0;
  if (objects) state.counters["filter_response_KiB"] = static_cast<double>(passed) / 1024.0;
  state.SetLabel(verbs == 0 ? "filter" : verbs == 1 ? "prioritize" : "filter+prioritize");
}

void BM_NamesMode(benchmark::State& state) {
  static const std::string body = namesRequest();
  runVerbs(state, body, false);
}
BENCHMARK(BM_NamesMode)->Arg(0)->Arg(1)->Arg(2)->Iterations(3000)->Unit(benchmark::kMicrosecond);

void BM_ObjectsMode(benchmark::State& state) {
  static const std::string body = objectsRequest();
  runVerbs(state, body, true);
}
BENCHMARK(BM_ObjectsMode)->Arg(0)->Arg(1)->Arg(2)->Iterations(200)->Unit(benchmark::kMillisecond);

// Where full-Node mode spends its time: the envelope parse, the 500 Node decodes, the echo encode.
void BM_ObjectsModeParts(benchmark::State& state) {
  static const std::string body = objectsRequest();
  const int part = static_cast<int>(state.range(0));
  auto args = spotfit::extender::decodeExtenderArgs(body);
  if (!args.ok()) throw std::runtime_error(args.error().message);
  spotfit::extender::FilterOutcome all;
  for (std::size_t i = 0; i < args->nodes.size(); ++i) all.passed.push_back(i);
  for (auto _ : state) {
    if (part == 0) {
      auto a = spotfit::extender::decodeExtenderArgs(body);
      benchmark::DoNotOptimize(a);
    } else if (part == 1) {
      for (const auto* n : args->nodes) {
        auto node = spotfit::kube::decodeNode(*n);
        benchmark::DoNotOptimize(node);
      }
    } else {
      auto out = spotfit::extender::encodeFilterResult(*args, all);
      benchmark::DoNotOptimize(out);
    }
  }
  state.SetLabel(part == 0   ? "decode ExtenderArgs (6 MiB)"
                 : part == 1 ? "kube::decodeNode x500"
                             : "encode 500 echoed Nodes");
}
BENCHMARK(BM_ObjectsModeParts)->Arg(0)->Arg(1)->Arg(2)->Unit(benchmark::kMillisecond);

double rssMiB() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double heapInUseMiB() {
  return static_cast<double>(mallinfo2().uordblks) / (1024.0 * 1024.0);
}

// Run it alone (--benchmark_filter=CacheMemory) for a clean RSS figure: freed memory of earlier
// benchmarks stays in the process. heap_MiB (live malloc bytes) does not depend on that.
void BM_CacheMemory(benchmark::State& state) {
  templates();
  for (auto _ : state) {
    const double rssBefore = rssMiB();
    const double heapBefore = heapInUseMiB();
    SystemClock clock;
    auto cache = std::make_unique<ClusterCache>(clock);
    fillCache(*cache);
    state.counters["nodes"] = static_cast<double>(cache->stats().nodes);
    state.counters["pods"] = static_cast<double>(cache->stats().boundPods);
    state.counters["cache_heap_MiB"] = heapInUseMiB() - heapBefore;
    state.counters["cache_rss_MiB"] = rssMiB() - rssBefore;
    state.counters["process_rss_MiB"] = rssMiB();
  }
}
BENCHMARK(BM_CacheMemory)->Iterations(1)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

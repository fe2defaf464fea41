// Placement core benchmarks (issue 3). Figures are recorded in docs/benchmarks.md.
//
//   BM_PlanScaleUp/<gpuTaint>/<uniformGpuSpot>  20,000 pending pods (cpu 100–1500m, memory 100Mi–4Gi, 5% with 1–8 GPUs)
//                                 against 400 instance types; counters: pods/s and quality = plan cost ÷
//                                 fractional lower bound.
//   BM_PlanScaleUpReplicas        the same demand as 400 jobs of 50 identical pods (equivalence classes).
//   BM_Compare1000               spotfit vs Karpenter-style FFD vs CA least-waste, 1,000 pods, same catalog.
//   BM_FitAndScore5000Nodes       fit + score of one pod against 5,000 nodes (rankNodes).
//   BM_PlanGang64/<zonal>         a 64-member GPU gang planned all or nothing (placement::planGang).
#include <benchmark/benchmark.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "placement/baselines.hpp"
#include "placement/gang.hpp"
#include "placement/score.hpp"
#include "placement/solver.hpp"

namespace {

using namespace spotfit::placement;

constexpr int64_t kMi = int64_t{1} << 20;
constexpr int64_t kGi = int64_t{1} << 30;

Resources res(int64_t cpuMilli, int64_t memory, int64_t gpus, int64_t pods) {
  Resources r;
  r.cpuMilli = cpuMilli;
  r.memory = memory;
  r.pods = pods;
  if (gpus > 0) r.set("nvidia.com/gpu", gpus);
  return r;
}

// What kubelet leaves for pods on a node of this size (roughly the EKS/GKE reservation curve).
Resources allocatable(int64_t vcpu, int64_t gib, int64_t gpus) {
  int64_t cpuReserved = 60 + 10 * vcpu;
  int64_t memReserved = 255 * kMi + static_cast<int64_t>(static_cast<double>(gib * kGi) * 0.03);
  return res(vcpu * 1000 - cpuReserved, gib * kGi - memReserved, gpus, 110);
}

// 400 instance types: 44 CPU families (compute 2 GiB/vCPU, general 4, memory 8, memory-extreme 16;
// 11 generations/variants each) × 8 sizes = 352, plus 48 GPU types (6 families × 8 sizes, GPU count
// 1..8 with per-GPU pricing linear within a family, as on p3/p4d). On-demand prices follow AWS-like
// per-vCPU rates per shape with ±10% per variant; spot is 25–45% of on-demand, 5% of offerings
// unavailable. Seeded: the same catalog every run.
// uniformGpuSpot: one spot discount per GPU family and every GPU spot offering available, so an 8-GPU
// type costs the same per GPU as a 1-GPU type of its family (the case where the fractional bound is
// attainable).
NodePool catalog(bool uniformGpuSpot = false) {
  std::mt19937 rng(2026);
  std::uniform_real_distribution<double> variant(0.9, 1.1);
  std::uniform_real_distribution<double> spotFactor(0.25, 0.45);
  std::uniform_real_distribution<double> unit(0, 1);
  NodePool pool;
  pool.name = "all";
  struct Shape {
    const char* prefix;
    int64_t gibPerVcpu;
    double perVcpu;
  };
  const Shape shapes[] = {{"c", 2, 0.0425}, {"m", 4, 0.048}, {"r", 8, 0.063}, {"x", 16, 0.0835}};
  const int64_t sizes[] = {2, 4, 8, 16, 32, 48, 64, 96};
  for (const Shape& s : shapes) {
    for (int gen = 0; gen < 11; ++gen) {
      double f = variant(rng);
      for (int64_t vcpu : sizes) {
        InstanceType t;
        t.name = std::string(s.prefix) + std::to_string(gen) + "." + std::to_string(vcpu);
        t.allocatable = allocatable(vcpu, vcpu * s.gibPerVcpu, 0);
        double od = s.perVcpu * static_cast<double>(vcpu) * f;
        t.offerings.push_back(Offering{CapacityType::OnDemand, od, unit(rng) > 0.05});
        t.offerings.push_back(Offering{CapacityType::Spot, od * spotFactor(rng), unit(rng) > 0.05});
        pool.instanceTypes.push_back(std::move(t));
      }
    }
  }
  struct GpuFamily {
    const char* name;
    const char* product;
    double perGpu;
    int64_t vcpuPerGpu;
    int64_t gibPerGpu;
  };
  const GpuFamily gpus[] = {{"g4", "Tesla-T4", 0.526, 4, 16},
                            {"g5", "NVIDIA-A10G", 1.006, 4, 16},
                            {"g6", "NVIDIA-L4", 0.805, 4, 16},
                            {"p3", "Tesla-V100-SXM2-16GB", 3.06, 8, 61},
                            {"p4", "NVIDIA-A100-SXM4-40GB", 4.096, 12, 144},
                            {"p5", "NVIDIA-H100-80GB-HBM3", 12.29, 24, 256}};
  const int64_t counts[] = {1, 2, 3, 4, 5, 6, 7, 8};
  for (const GpuFamily& g : gpus) {
    double f = variant(rng);
    double familySpot = spotFactor(rng);
    for (int64_t n : counts) {
      InstanceType t;
      t.name = std::string(g.name) + "." + std::to_string(n) + "gpu";
      t.gpuProduct = g.product;
      t.allocatable = allocatable(g.vcpuPerGpu * n, g.gibPerGpu * n, n);
      double od = g.perGpu * static_cast<double>(n) * f;
      t.offerings.push_back(Offering{CapacityType::OnDemand, od, true});
      double sf = spotFactor(rng);
      bool available = unit(rng) > 0.05;
      if (uniformGpuSpot) {
        sf = familySpot;
        available = true;
      }
      t.offerings.push_back(Offering{CapacityType::Spot, od * sf, available});
      pool.instanceTypes.push_back(std::move(t));
    }
  }
  return pool;
}

// gpuTaint: GPU types in a pool of their own, tainted, so pods without GPUs cannot use their spare room.
std::vector<NodePool> pools(bool taintGpu, bool uniformGpuSpot = false) {
  NodePool all = catalog(uniformGpuSpot);
  if (!taintGpu) return {all};
  NodePool cpu = all;
  NodePool gpu = all;
  cpu.name = "cpu";
  gpu.name = "gpu";
  std::erase_if(cpu.instanceTypes, [](const InstanceType& t) { return !t.gpuProduct.empty(); });
  std::erase_if(gpu.instanceTypes, [](const InstanceType& t) { return t.gpuProduct.empty(); });
  gpu.taints.push_back(Taint{"nvidia.com/gpu", "true", TaintEffect::NoSchedule});
  return {cpu, gpu};
}

PodInfo makePod(int i, int64_t cpu, int64_t mem, int64_t gpus) {
  PodInfo p;
  p.namespace_ = "batch";
  p.name = "pod-" + std::to_string(i);
  p.hasController = true;
  Container c;
  c.requests = res(cpu, mem, gpus, 0);
  p.containers.push_back(std::move(c));
  if (gpus > 0) {
    Toleration t;
    t.key = "nvidia.com/gpu";
    t.op = TolerationOperator::Exists;
    p.tolerations.push_back(t);
  }
  return p;
}

// 20,000 pods: cpu uniform 100–1500m, memory uniform 100Mi–4Gi, 5% asking for 1–8 GPUs.
std::vector<PodInfo> pendingPods(int n, int replicas) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int64_t> cpu(100, 1500);
  std::uniform_int_distribution<int64_t> mem(100, 4096);
  std::uniform_int_distribution<int64_t> gpus(1, 8);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<PodInfo> out;
  out.reserve(static_cast<size_t>(n));
  while (static_cast<int>(out.size()) < n) {
    int64_t g = unit(rng) < 0.05 ? gpus(rng) : 0;
    int64_t c = cpu(rng);
    int64_t m = mem(rng) * kMi;
    for (int r = 0; r < replicas && static_cast<int>(out.size()) < n; ++r) {
      out.push_back(makePod(static_cast<int>(out.size()), c, m, g));
    }
  }
  return out;
}

void reportPlan(benchmark::State& state, const ScaleUpInput& in, const ScaleUpPlan& plan) {
  double bound = fractionalLowerBound(in.pods, in.pools);
  double sizeAware = sizeAwareLowerBound(in.pods, in.pools);
  state.counters["pods_per_s"] = benchmark::Counter(
      static_cast<double>(in.pods.size()) * static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["quality"] = plan.newNodesHourlyCost() / bound;
  state.counters["cost_per_h"] = plan.newNodesHourlyCost();
  state.counters["bound_per_h"] = bound;
  state.counters["quality_size_aware"] = plan.newNodesHourlyCost() / sizeAware;
  state.counters["nodes"] = static_cast<double>(plan.newNodes.size());
  state.counters["unplaced"] = static_cast<double>(plan.unschedulable.size());
}

void BM_PlanScaleUp(benchmark::State& state) {
  ScaleUpInput in;
  in.pools = pools(state.range(0) != 0, state.range(1) != 0);
  in.pods = pendingPods(20000, 1);
  ScaleUpPlan plan;
  for (auto _ : state) {
    plan = planScaleUp(in);
    benchmark::DoNotOptimize(plan);
  }
  reportPlan(state, in, plan);
}
BENCHMARK(BM_PlanScaleUp)
    ->Args({0, 0})
    ->Args({1, 0})
    ->Args({0, 1})
    ->ArgNames({"gpu_taint", "uniform_gpu_spot"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_PlanScaleUpReplicas(benchmark::State& state) {
  ScaleUpInput in;
  in.pools = pools(false);
  in.pods = pendingPods(20000, 50);
  ScaleUpPlan plan;
  for (auto _ : state) {
    plan = planScaleUp(in);
    benchmark::DoNotOptimize(plan);
  }
  reportPlan(state, in, plan);
}
BENCHMARK(BM_PlanScaleUpReplicas)->Unit(benchmark::kMillisecond)->UseRealTime();

// The baselines are O(pods × types) or worse per step; compare on 1,000 pods.
void BM_Compare1000(benchmark::State& state) {
  ScaleUpInput in;
  in.pools = pools(state.range(1) != 0);
  in.pods = pendingPods(1000, 1);
  ScaleUpPlan plan;
  int which = static_cast<int>(state.range(0));
  for (auto _ : state) {
    plan = which == 0 ? planScaleUp(in) : which == 1 ? planFirstFitDecreasing(in) : planLeastWaste(in);
    benchmark::DoNotOptimize(plan);
  }
  reportPlan(state, in, plan);
  state.SetLabel(which == 0 ? "spotfit" : which == 1 ? "karpenter-ffd" : "ca-least-waste");
}
BENCHMARK(BM_Compare1000)
    ->ArgsProduct({{0, 1, 2}, {0, 1}})
    ->ArgNames({"planner", "gpu_taint"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(1);

void BM_FitAndScore5000Nodes(benchmark::State& state) {
  NodePool all = catalog();
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> unit(0, 1);
  std::vector<NodeInfo> nodes;
  for (int i = 0; i < 5000; ++i) {
    const InstanceType& t = all.instanceTypes[static_cast<size_t>(i) % all.instanceTypes.size()];
    NodeInfo n = nodeFromOffering(all, t, t.offerings[static_cast<size_t>(i % 2)], "node-" + std::to_string(i));
    n.labels["topology.kubernetes.io/zone"] = "zone-" + std::to_string(i % 3);
    n.labels["kubernetes.io/hostname"] = n.name;
    n.requested = res(static_cast<int64_t>(unit(rng) * static_cast<double>(n.allocatable.cpuMilli)),
                      static_cast<int64_t>(unit(rng) * static_cast<double>(n.allocatable.memory)), 0,
                      static_cast<int64_t>(unit(rng) * 60));
    if (i % 10 == 0) n.taints.push_back(Taint{"dedicated", "infra", TaintEffect::NoSchedule});
    nodes.push_back(std::move(n));
  }
  PodInfo pod = makePod(0, 500, 2 * kGi, state.range(0));
  pod.nodeSelector["topology.kubernetes.io/zone"] = "zone-1";
  Toleration t;
  t.key = "spot";
  t.op = TolerationOperator::Exists;
  pod.tolerations.push_back(t);
  size_t fitting = 0;
  for (auto _ : state) {
    auto ranked = rankNodes(pod, nodes);
    fitting = ranked.size();
    benchmark::DoNotOptimize(ranked);
  }
  state.counters["fitting_nodes"] = static_cast<double>(fitting);
  state.counters["ns_per_node"] = benchmark::Counter(5000.0 * static_cast<double>(state.iterations()),
                                                     benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_FitAndScore5000Nodes)->Arg(0)->Arg(1)->ArgName("gpus")->Unit(benchmark::kMicrosecond);

// Gangs (issue 19): one 64-member gang (each member 8 cpu / 32Gi / 1 GPU) planned all or nothing over the
// 400-type catalog: spot first, the whole gang on-demand if spot cannot hold it. zonal = 1: the catalog
// offered in 3 zones (1,200 types) and the gang asks for one zone (2 capacity types × 3 zones tried).
void BM_PlanGang64(benchmark::State& state) {
  const bool zonal = state.range(0) == 1;
  ScaleUpInput in;
  NodePool all = catalog();
  if (zonal) {
    std::vector<InstanceType> perZone;
    for (int z = 0; z < 3; ++z) {
      for (InstanceType t : all.instanceTypes) {
        t.labels[std::string(kLabelTopologyZone)] = "zone-" + std::to_string(z);
        perZone.push_back(std::move(t));
      }
    }
    all.instanceTypes = std::move(perZone);
  }
  all.limits.set("nvidia.com/gpu", 200);
  in.pools = {all};
  for (int i = 0; i < 64; ++i) in.pods.push_back(makePod(i, 8000, 32 * kGi, 1));
  GangOptions options;
  options.topology = zonal ? GangTopology::Zone : GangTopology::Any;
  GangPlan plan;
  for (auto _ : state) {
    plan = planGang(in, options);
    benchmark::DoNotOptimize(plan);
  }
  if (!plan.feasible) state.SkipWithError(plan.reason.c_str());
  state.counters["nodes"] = static_cast<double>(plan.plan.newNodes.size());
  state.counters["usd_per_hour"] = plan.plan.newNodesHourlyCost();
  state.counters["spot"] = plan.capacityType == CapacityType::Spot ? 1 : 0;
}
BENCHMARK(BM_PlanGang64)->Arg(0)->Arg(1)->ArgName("zonal")->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();

// spotfit simulate -f WORKLOAD: run spotfit's decision code and the status quo against an in-process
// simulated cluster on a virtual clock, and compare cost, utilization and completion times.

#include <iostream>
#include <sstream>

#include "cli/args.hpp"
#include "sim/engine.hpp"
#include "sim/report.hpp"
#include "sim/workload.hpp"

namespace spotfit::cli {
namespace {

std::vector<std::string> splitComma(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

int runSimulate(const std::vector<std::string>& args) {
  Flags flags("simulate", "-f WORKLOAD [flags]",
              "Simulate a workload (docs/simulate.md) on an in-process cluster with a virtual clock, once per\n"
              "strategy, and compare cost, utilization and completion times. No cluster needed.\n"
              "Strategies: baseline (on-demand, requests as written, LeastAllocated, Cluster-Autoscaler-like),\n"
              "spot-only, binpack-only, rightsize-only (ablations), spotfit (everything spotfit does) and\n"
              "spotfit-moves (spotfit, plus consolidation that moves resumable running Job pods when it pays),\n"
              "spotfit-risk (spotfit, choosing spot offerings by their learnt interruption rate), karpenter and\n"
              "karpenter-dnd (a model of the real Karpenter, without and with do-not-disrupt Job pods).");
  flags.string("file", "FILE", "workload file (YAML)");
  flags.string("strategies", "LIST", "comma-separated strategies to compare", std::string("baseline,spotfit"));
  flags.integer("seed", "N", "random seed (overrides the file's seed)", std::nullopt, 0, INT64_MAX);
  flags.string("output", "FORMAT", "table or json", std::string("table"));
  flags.string("report", "DIR", "also write DIR/index.html (charts), DIR/summary.json and CSV time series");
  if (!flags.parse(args)) return kExitOk;
  flags.require("file");
  std::string output = flags.get("output");
  if (output != "table" && output != "json")
    throw UsageError{"flag --output takes table or json, got '" + output + "'"};
  std::vector<sim::StrategyConfig> strategies;
  for (const auto& name : splitComma(flags.get("strategies"))) {
    auto s = sim::strategyByName(name);
    if (!s) throw UsageError{s.error().message};
    for (const auto& have : strategies)
      if (have.name == name) throw UsageError{"strategy '" + name + "' given twice"};
    strategies.push_back(*s);
  }
  if (strategies.empty()) throw UsageError{"flag --strategies needs at least one strategy"};

  auto workload = sim::loadWorkload(flags.get("file"));
  if (!workload) {
    std::cerr << "spotfit simulate: " << workload.error().message << "\n";
    return kExitFailure;
  }
  for (const auto& s : strategies) {
    if (auto st = sim::checkPlaceable(*workload, s); !st) {
      std::cerr << "spotfit simulate: " << st.error().message << "\n";
      return kExitFailure;
    }
  }
  sim::SimulationOptions options;
  options.seed = flags.given("seed") ? static_cast<uint64_t>(flags.getInt("seed")) : workload->seed;

  sim::RunSummary run;
  run.source = flags.get("file");
  run.seed = options.seed;
  for (const auto& s : strategies) run.results.push_back(sim::simulate(*workload, s, options));

  if (output == "json") {
    std::cout << sim::toJson(run);
  } else {
    std::cout << sim::formatTable(run);
  }
  if (flags.given("report")) {
    auto st = sim::writeReport(flags.get("report"), run);
    if (!st) {
      std::cerr << "spotfit simulate: " << st.error().message << "\n";
      return kExitFailure;
    }
    if (output == "table") std::cout << "\nreport: " << flags.get("report") << "/index.html\n";
  }
  return kExitOk;
}

const Command kSimulate("simulate", "compare spotfit with the status quo on a simulated cluster (no cluster needed)",
                        runSimulate);

}  // namespace
}  // namespace spotfit::cli

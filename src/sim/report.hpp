#pragma once
// Presenting simulation results: a text table, JSON for scripts, and a report directory with an HTML
// page (inline SVG charts) plus the raw time series as CSV.

#include <string>
#include <vector>

#include "base/result.hpp"
#include "sim/engine.hpp"
#include "sim/workload.hpp"

namespace spotfit::sim {

struct RunSummary {
  std::string source;
  uint64_t seed = 0;
  std::vector<StrategyResult> results;  // baseline (when run) first
};

// Savings of `r` relative to the baseline result in `all` (0 when there is no baseline).
double savingsVsBaseline(const RunSummary& all, const StrategyResult& r);

std::string formatTable(const RunSummary& run);
std::string toJson(const RunSummary& run);
std::string seriesCsv(const StrategyResult& r);
std::string htmlReport(const RunSummary& run);

// Writes DIR/index.html, DIR/summary.json and DIR/timeseries-<strategy>.csv (creating DIR).
Status writeReport(const std::string& dir, const RunSummary& run);

}  // namespace spotfit::sim

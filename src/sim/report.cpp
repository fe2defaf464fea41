#include "sim/report.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include "base/json_escape.hpp"

namespace spotfit::sim {

namespace {

std::string fixed(double v, int decimals) {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(decimals);
  o << v;
  return o.str();
}

std::string pct(double fraction) {
  return fixed(fraction * 100.0, 1) + "%";
}

std::string usd(double v) {
  return "$" + fixed(v, v < 10 ? 3 : 2);
}

std::string secondsText(double s) {
  return formatDuration(static_cast<Millis>(std::llround(s * 1000)));
}

std::string htmlEscape(const std::string& s) {
  std::string o;
  for (char c : s) {
    switch (c) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += c;
    }
  }
  return o;
}

// A finite number for JSON (NaN/inf would make the document invalid).
std::string num(double v) {
  if (!std::isfinite(v)) return "0";
  std::ostringstream o;
  o << std::setprecision(10) << v;
  return o.str();
}

const StrategyResult* baselineOf(const RunSummary& run) {
  for (const auto& r : run.results)
    if (r.strategy == "baseline") return &r;
  return nullptr;
}

struct Row {
  std::string label;
  std::vector<std::string> cells;
};

std::vector<Row> tableRows(const RunSummary& run) {
  std::vector<Row> rows;
  auto add = [&](const std::string& label, auto cell) {
    Row r{label, {}};
    for (const auto& res : run.results) r.cells.push_back(cell(res));
    rows.push_back(std::move(r));
  };
  const StrategyResult* base = baselineOf(run);
  add("total cost", [](const StrategyResult& r) { return usd(r.totalCostUsd); });
  add("cost per workflow", [](const StrategyResult& r) { return usd(r.costPerWorkflowUsd); });
  add("savings vs baseline", [&](const StrategyResult& r) {
    return base ? (&r == base ? std::string("-") : pct(savingsVsBaseline(run, r))) : std::string("n/a");
  });
  add("spot share (vCPU-hours)", [](const StrategyResult& r) { return pct(r.spotShare); });
  add("idle cost (no pod requested it)", [](const StrategyResult& r) { return usd(r.idleCostUsd); });
  add("node-hours", [](const StrategyResult& r) { return fixed(r.nodeHours, 1); });
  add("cpu allocation mean / p50",
      [](const StrategyResult& r) { return pct(r.cpuAllocation.mean) + " / " + pct(r.cpuAllocation.p50); });
  add("memory allocation mean / p50",
      [](const StrategyResult& r) { return pct(r.memoryAllocation.mean) + " / " + pct(r.memoryAllocation.p50); });
  add("node-hours >= 85% cpu / memory allocated",
      [](const StrategyResult& r) { return pct(r.cpuAllocatedAtLeast85) + " / " + pct(r.memoryAllocatedAtLeast85); });
  add("cpu / memory usage mean",
      [](const StrategyResult& r) { return pct(r.cpuUsage.mean) + " / " + pct(r.memoryUsage.mean); });
  add("workflows completed",
      [](const StrategyResult& r) { return std::to_string(r.workflowsCompleted) + "/" + std::to_string(r.workflows); });
  add("workflow time p50 / p95", [](const StrategyResult& r) {
    return secondsText(r.workflowCompletion.p50) + " / " + secondsText(r.workflowCompletion.p95);
  });
  add("makespan", [](const StrategyResult& r) { return secondsText(r.makespanSeconds); });
  add("tasks completed / lost",
      [](const StrategyResult& r) { return std::to_string(r.tasksCompleted) + " / " + std::to_string(r.tasksLost); });
  add("pods interrupted / evicted", [](const StrategyResult& r) {
    return std::to_string(r.podsInterrupted) + " / " + std::to_string(r.podsEvicted);
  });
  add("work lost (task-hours)", [](const StrategyResult& r) { return fixed(r.workLostHours, 2); });
  add("scale-up latency p50 / p95", [](const StrategyResult& r) {
    return secondsText(r.scaleUpLatency.p50) + " / " + secondsText(r.scaleUpLatency.p95);
  });
  add("nodes launched / peak",
      [](const StrategyResult& r) { return std::to_string(r.nodesLaunched) + " / " + std::to_string(r.peakNodes); });
  add("spot interruptions", [](const StrategyResult& r) { return std::to_string(r.spotInterruptions); });
  add("launch failures (no capacity)", [](const StrategyResult& r) { return std::to_string(r.launchFailures); });
  add("gang idle member-hours",
      [](const StrategyResult& r) { return r.gangs == 0 ? std::string("-") : fixed(r.gangIdleMemberHours, 2); });
  add("gang submit -> all running p50 / p95", [](const StrategyResult& r) {
    return r.gangs == 0 ? std::string("-")
                        : secondsText(r.gangTimeToAllRunning.p50) + " / " + secondsText(r.gangTimeToAllRunning.p95);
  });
  return rows;
}

}  // namespace

double savingsVsBaseline(const RunSummary& all, const StrategyResult& r) {
  const StrategyResult* base = baselineOf(all);
  if (!base || base->totalCostUsd <= 0) return 0;
  return 1.0 - r.totalCostUsd / base->totalCostUsd;
}

std::string formatTable(const RunSummary& run) {
  std::ostringstream o;
  int64_t tasks = run.results.empty() ? 0 : run.results.front().tasks;
  int64_t wfs = run.results.empty() ? 0 : run.results.front().workflows;
  o << "spotfit simulate: " << run.source << " (seed " << run.seed << ", " << wfs << " workflows, " << tasks
    << " tasks)\n\n";
  std::vector<Row> rows = tableRows(run);
  size_t labelW = 0;
  for (const auto& r : rows) labelW = std::max(labelW, r.label.size());
  std::vector<size_t> colW(run.results.size(), 0);
  for (size_t c = 0; c < run.results.size(); ++c) {
    colW[c] = run.results[c].strategy.size();
    for (const auto& r : rows) colW[c] = std::max(colW[c], r.cells[c].size());
  }
  o << std::string(labelW, ' ');
  for (size_t c = 0; c < run.results.size(); ++c)
    o << "  " << std::string(colW[c] - run.results[c].strategy.size(), ' ') << run.results[c].strategy;
  o << "\n";
  for (const auto& r : rows) {
    o << r.label << std::string(labelW - r.label.size(), ' ');
    for (size_t c = 0; c < r.cells.size(); ++c)
      o << "  " << std::string(colW[c] - r.cells[c].size(), ' ') << r.cells[c];
    o << "\n";
  }
  // Jobs right-sized from a learned profile (spotfit.io/right-size: profile): requests over usage of the
  // pods created before the profile had its runs (as written) and after (learned).
  bool profiled = false;
  for (const auto& res : run.results) {
    for (const auto& [name, wc] : res.byWorkflow) profiled = profiled || wc.asWritten.pods + wc.learned.pods > 0;
  }
  if (profiled) {
    o << "\nrequest/usage of right-size: profile jobs (cpu, memory): first runs as written -> learned\n";
    for (const auto& res : run.results) {
      for (const auto& [name, wc] : res.byWorkflow) {
        if (wc.asWritten.pods + wc.learned.pods == 0) continue;
        auto ratios = [](const WorkflowCost::RequestUsage& ru) {
          return ru.pods == 0 ? std::string("-") : fixed(ru.cpuRatio(), 2) + ", " + fixed(ru.memoryRatio(), 2);
        };
        o << "  " << res.strategy << " " << name << ": " << ratios(wc.asWritten) << " -> " << ratios(wc.learned) << " ("
          << wc.asWritten.pods << " -> " << wc.learned.pods << " pods)\n";
      }
    }
  }
  for (const auto& res : run.results) {
    if (res.lostReasons.empty()) continue;
    o << "\n" << res.strategy << ": unfinished work\n";
    size_t shown = 0;
    for (const auto& l : res.lostReasons) {
      if (++shown > 10) {
        o << "  ... " << res.lostReasons.size() - 10 << " more\n";
        break;
      }
      o << "  " << l << "\n";
    }
  }
  // Pod pending time (created -> bound) per workflow, p50 / p95, and the pre-warm ledger line when any.
  if (!run.results.empty() && !run.results.front().byWorkflow.empty()) {
    o << "\npod pending p50 / p95 by workflow";
    for (const auto& res : run.results) o << " | " << res.strategy;
    o << "\n";
    for (const auto& [name, unused] : run.results.front().byWorkflow) {
      o << "  " << name;
      for (const auto& res : run.results) {
        auto it = res.byWorkflow.find(name);
        if (it == res.byWorkflow.end()) continue;
        o << " | " << secondsText(it->second.pendingSeconds.p50) << " / " << secondsText(it->second.pendingSeconds.p95);
        if (it->second.prewarmUsd > 0) o << " (prewarm " << usd(it->second.prewarmUsd) << ")";
      }
      o << "\n";
    }
  }
  return o.str();
}

std::string toJson(const RunSummary& run) {
  std::ostringstream o;
  auto pctl = [](const Percentiles& p) {
    return "{\"mean\":" + num(p.mean) + ",\"p50\":" + num(p.p50) + ",\"p95\":" + num(p.p95) + "}";
  };
  o << "{\"source\":\"" << base::jsonEscaped(run.source) << "\",\"seed\":" << run.seed << ",\"strategies\":[";
  for (size_t i = 0; i < run.results.size(); ++i) {
    const StrategyResult& r = run.results[i];
    if (i) o << ",";
    o << "{\"strategy\":\"" << base::jsonEscaped(r.strategy) << "\"";
    o << ",\"simulatedSeconds\":" << num(static_cast<double>(r.simulatedUntil) / kSecond);
    o << ",\"totalCostUsd\":" << num(r.totalCostUsd) << ",\"spotCostUsd\":" << num(r.spotCostUsd)
      << ",\"idleCostUsd\":" << num(r.idleCostUsd) << ",\"costPerWorkflowUsd\":" << num(r.costPerWorkflowUsd)
      << ",\"savingsVsBaseline\":" << num(savingsVsBaseline(run, r)) << ",\"spotShare\":" << num(r.spotShare)
      << ",\"nodeHours\":" << num(r.nodeHours);
    o << ",\"cpuAllocation\":" << pctl(r.cpuAllocation) << ",\"memoryAllocation\":" << pctl(r.memoryAllocation)
      << ",\"cpuUsage\":" << pctl(r.cpuUsage) << ",\"memoryUsage\":" << pctl(r.memoryUsage)
      << ",\"cpuAllocatedAtLeast85\":" << num(r.cpuAllocatedAtLeast85)
      << ",\"memoryAllocatedAtLeast85\":" << num(r.memoryAllocatedAtLeast85);
    o << ",\"workflows\":" << r.workflows << ",\"workflowsCompleted\":" << r.workflowsCompleted
      << ",\"tasks\":" << r.tasks << ",\"tasksCompleted\":" << r.tasksCompleted << ",\"tasksLost\":" << r.tasksLost
      << ",\"duplicateCompletions\":" << r.duplicateCompletions;
    o << ",\"workflowCompletionSeconds\":" << pctl(r.workflowCompletion)
      << ",\"makespanSeconds\":" << num(r.makespanSeconds);
    o << ",\"podsInterrupted\":" << r.podsInterrupted << ",\"podsEvicted\":" << r.podsEvicted
      << ",\"workLostHours\":" << num(r.workLostHours);
    o << ",\"scaleUpLatencySeconds\":" << pctl(r.scaleUpLatency) << ",\"nodesLaunched\":" << r.nodesLaunched
      << ",\"launchFailures\":" << r.launchFailures << ",\"spotInterruptions\":" << r.spotInterruptions
      << ",\"peakNodes\":" << r.peakNodes;
    o << ",\"gangs\":" << r.gangs << ",\"gangIdleMemberHours\":" << num(r.gangIdleMemberHours)
      << ",\"gangTimeToAllRunningSeconds\":" << pctl(r.gangTimeToAllRunning);
    o << ",\"workflowCosts\":{";
    bool first = true;
    for (const auto& [name, wc] : r.byWorkflow) {
      if (!first) o << ",";
      first = false;
      o << "\"" << base::jsonEscaped(name) << "\":{\"runs\":" << wc.runs << ",\"completed\":" << wc.completed
        << ",\"attributedUsd\":" << num(wc.attributedUsd) << ",\"pendingSeconds\":" << pctl(wc.pendingSeconds)
        << ",\"prewarmUsd\":" << num(wc.prewarmUsd);
      if (wc.asWritten.pods + wc.learned.pods > 0) {
        auto ratios = [&](const char* key, const WorkflowCost::RequestUsage& ru) {
          o << ",\"" << key << "\":{\"pods\":" << ru.pods << ",\"cpuRequestUsage\":" << num(ru.cpuRatio())
            << ",\"memoryRequestUsage\":" << num(ru.memoryRatio()) << "}";
        };
        ratios("asWritten", wc.asWritten);
        ratios("learned", wc.learned);
      }
      o << "}";
    }
    o << "},\"unfinished\":[";
    for (size_t k = 0; k < r.lostReasons.size(); ++k)
      o << (k ? "," : "") << "\"" << base::jsonEscaped(r.lostReasons[k]) << "\"";
    o << "]}";
  }
  o << "]}\n";
  return o.str();
}

std::string seriesCsv(const StrategyResult& r) {
  std::ostringstream o;
  for (size_t i = 0; i < r.series.columns.size(); ++i) o << (i ? "," : "") << r.series.columns[i];
  o << "\n";
  for (const auto& row : r.series.rows) {
    for (size_t i = 0; i < row.size(); ++i) o << (i ? "," : "") << num(row[i]);
    o << "\n";
  }
  return o.str();
}

// ------------------------------------------------------------------------------------------------------
// SVG charts

namespace {

const char* kPalette[] = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
                          "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

struct Line {
  std::string name;
  std::string color;
  std::vector<std::pair<double, double>> points;  // (x, y)
};

double niceStep(double range, int targetTicks) {
  if (range <= 0) return 1;
  double raw = range / targetTicks;
  double mag = std::pow(10.0, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0})
    if (raw <= m * mag) return m * mag;
  return 10 * mag;
}

std::string tickLabel(double v, bool percent, bool money) {
  if (percent) return fixed(v * 100, 0) + "%";
  std::string s = std::abs(v - std::round(v)) < 1e-9 ? fixed(v, 0) : fixed(v, std::abs(v) < 1 ? 2 : 1);
  return money ? "$" + s : s;
}

// Line chart, or stacked areas when `stacked`. x in hours.
std::string chart(const std::string& title, const std::string& yLabel, const std::vector<Line>& lines, bool stacked,
                  bool percent, bool money, double yMaxHint = 0) {
  const double W = 880, H = 300, L = 64, R = 170, T = 34, B = 40;
  const double pw = W - L - R, ph = H - T - B;
  double xMax = 0, yMax = yMaxHint;
  std::vector<Line> drawn = lines;
  if (stacked) {
    // Cumulative sums, series by series (all share the same x samples).
    for (size_t s = 1; s < drawn.size(); ++s)
      for (size_t i = 0; i < drawn[s].points.size() && i < drawn[s - 1].points.size(); ++i)
        drawn[s].points[i].second += drawn[s - 1].points[i].second;
  }
  for (const auto& l : drawn)
    for (const auto& [x, y] : l.points) {
      xMax = std::max(xMax, x);
      if (std::isfinite(y)) yMax = std::max(yMax, y);
    }
  if (xMax <= 0) xMax = 1;
  if (yMax <= 0) yMax = 1;
  double yStep = niceStep(yMax, 5);
  yMax = std::ceil(yMax / yStep) * yStep;
  double xStep = niceStep(xMax, 8);
  auto X = [&](double x) { return L + x / xMax * pw; };
  auto Y = [&](double y) { return T + ph - y / yMax * ph; };
  std::ostringstream o;
  o << "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 " << W << " " << H << "\" width=\"" << W
    << "\" height=\"" << H << "\" role=\"img\" aria-label=\"" << htmlEscape(title) << "\">\n";
  o << "<rect x=\"0\" y=\"0\" width=\"" << W << "\" height=\"" << H << "\" fill=\"#ffffff\"/>\n";
  o << "<text x=\"" << L << "\" y=\"20\" font-size=\"15\" font-weight=\"600\" fill=\"#222\">" << htmlEscape(title)
    << "</text>\n";
  // Grid and y ticks.
  for (double y = 0; y <= yMax + 1e-9; y += yStep) {
    o << "<line x1=\"" << L << "\" x2=\"" << L + pw << "\" y1=\"" << fixed(Y(y), 1) << "\" y2=\"" << fixed(Y(y), 1)
      << "\" stroke=\"#e4e4e4\"/>\n";
    o << "<text x=\"" << L - 6 << "\" y=\"" << fixed(Y(y) + 4, 1)
      << "\" font-size=\"11\" text-anchor=\"end\" fill=\"#555\">" << tickLabel(y, percent, money) << "</text>\n";
  }
  for (double x = 0; x <= xMax + 1e-9; x += xStep) {
    o << "<line x1=\"" << fixed(X(x), 1) << "\" x2=\"" << fixed(X(x), 1) << "\" y1=\"" << T + ph << "\" y2=\""
      << T + ph + 4 << "\" stroke=\"#888\"/>\n";
    o << "<text x=\"" << fixed(X(x), 1) << "\" y=\"" << T + ph + 17
      << "\" font-size=\"11\" text-anchor=\"middle\" fill=\"#555\">" << tickLabel(x, false, false) << "</text>\n";
  }
  o << "<line x1=\"" << L << "\" x2=\"" << L + pw << "\" y1=\"" << T + ph << "\" y2=\"" << T + ph
    << "\" stroke=\"#888\"/>\n";
  o << "<text x=\"" << L + pw / 2 << "\" y=\"" << H - 6
    << "\" font-size=\"12\" text-anchor=\"middle\" fill=\"#333\">"
       "simulated time (hours)</text>\n";
  o << "<text transform=\"translate(16," << T + ph / 2
    << ") rotate(-90)\" font-size=\"12\" text-anchor=\"middle\" fill=\"#333\">" << htmlEscape(yLabel) << "</text>\n";
  // Series (stacked areas drawn top-down so lower layers stay visible).
  for (size_t s = drawn.size(); s-- > 0;) {
    const Line& l = drawn[s];
    if (l.points.empty()) continue;
    std::ostringstream pts;
    if (stacked)
      for (const auto& [x, y] : l.points) pts << fixed(X(x), 1) << "," << fixed(Y(std::isfinite(y) ? y : 0), 1) << " ";
    if (stacked) {
      std::ostringstream poly;
      poly << pts.str();
      if (s > 0) {
        const Line& below = drawn[s - 1];
        for (size_t i = below.points.size(); i-- > 0;)
          poly << fixed(X(below.points[i].first), 1) << "," << fixed(Y(below.points[i].second), 1) << " ";
      } else {
        poly << fixed(X(l.points.back().first), 1) << "," << fixed(Y(0), 1) << " "
             << fixed(X(l.points.front().first), 1) << "," << fixed(Y(0), 1);
      }
      o << "<polygon points=\"" << poly.str() << "\" fill=\"" << l.color
        << "\" fill-opacity=\"0.85\" stroke=\"none\"/>\n";
    } else {
      // One polyline per run of finite points: a NaN (no data, e.g. no Ready node) leaves a gap.
      std::ostringstream run;
      size_t count = 0;
      auto flush = [&]() {
        if (count > 0)
          o << "<polyline points=\"" << run.str() << "\" fill=\"none\" stroke=\"" << l.color
            << "\" stroke-width=\"1.8\" stroke-linejoin=\"round\"/>\n";
        run.str("");
        count = 0;
      };
      for (const auto& [x, y] : l.points) {
        if (!std::isfinite(y)) {
          flush();
          continue;
        }
        run << fixed(X(x), 1) << "," << fixed(Y(y), 1) << " ";
        ++count;
      }
      flush();
    }
  }
  // Legend.
  double ly = T + 4;
  for (const auto& l : lines) {
    o << "<rect x=\"" << L + pw + 14 << "\" y=\"" << ly << "\" width=\"12\" height=\"12\" fill=\"" << l.color
      << "\"/>\n";
    o << "<text x=\"" << L + pw + 32 << "\" y=\"" << ly + 10 << "\" font-size=\"12\" fill=\"#333\">"
      << htmlEscape(l.name) << "</text>\n";
    ly += 18;
  }
  o << "</svg>\n";
  return o.str();
}

size_t column(const TimeSeries& s, const std::string& name) {
  for (size_t i = 0; i < s.columns.size(); ++i)
    if (s.columns[i] == name) return i;
  return s.columns.size();
}

// Keeps at most ~600 points per series (charts stay light for multi-day runs).
std::vector<std::pair<double, double>> points(const TimeSeries& s, size_t col) {
  std::vector<std::pair<double, double>> out;
  if (col >= s.columns.size() || s.rows.empty()) return out;
  size_t step = std::max<size_t>(1, s.rows.size() / 600);
  for (size_t i = 0; i < s.rows.size(); i += step) out.emplace_back(s.rows[i][0] / 3600.0, s.rows[i][col]);
  if ((s.rows.size() - 1) % step != 0) out.emplace_back(s.rows.back()[0] / 3600.0, s.rows.back()[col]);
  return out;
}

// Means over buckets of `bucketSeconds`, counting only samples with at least one Ready node (NaN when a
// bucket has none): utilization of an empty cluster is undefined, not 0.
std::vector<std::pair<double, double>> bucketMeans(const TimeSeries& s, size_t col, double bucketSeconds) {
  std::vector<std::pair<double, double>> out;
  size_t total = column(s, "nodes_total"), launching = column(s, "nodes_launching");
  if (col >= s.columns.size() || s.rows.empty()) return out;
  double bucketStart = 0, sum = 0;
  size_t n = 0;
  auto emit = [&](double start) {
    out.emplace_back((start + bucketSeconds / 2) / 3600.0, n ? sum / static_cast<double>(n) : std::nan(""));
    sum = 0;
    n = 0;
  };
  for (const auto& row : s.rows) {
    while (row[0] >= bucketStart + bucketSeconds) {
      emit(bucketStart);
      bucketStart += bucketSeconds;
    }
    if (row[total] - row[launching] > 0) {
      sum += row[col];
      ++n;
    }
  }
  emit(bucketStart);
  return out;
}

}  // namespace

std::string htmlReport(const RunSummary& run) {
  std::ostringstream o;
  o << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>spotfit simulate: "
    << htmlEscape(run.source)
    << "</title>\n<style>\n"
       "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px "
       "auto;max-width:940px;color:#222}\n"
       "h1{font-size:22px;margin-bottom:4px} h2{font-size:17px;margin-top:28px} p.sub{color:#666;margin-top:0}\n"
       "table{border-collapse:collapse;font-size:13px;margin-top:8px} td,th{padding:4px 10px;border-bottom:1px solid "
       "#eee}\n"
       "th{text-align:right;background:#f6f6f6} td{text-align:right} td:first-child,th:first-child{text-align:left}\n"
       "svg{display:block;margin:10px 0;border:1px solid #eee}\n"
       ".files a{margin-right:12px}\n</style></head><body>\n";
  int64_t tasks = run.results.empty() ? 0 : run.results.front().tasks;
  int64_t wfs = run.results.empty() ? 0 : run.results.front().workflows;
  o << "<h1>spotfit simulate</h1>\n<p class=\"sub\">" << htmlEscape(run.source) << " &middot; seed " << run.seed
    << " &middot; " << wfs << " workflows &middot; " << tasks << " tasks</p>\n";
  o << "<h2>Summary</h2>\n<table><tr><th></th>";
  for (const auto& r : run.results) o << "<th>" << htmlEscape(r.strategy) << "</th>";
  o << "</tr>\n";
  for (const auto& row : tableRows(run)) {
    o << "<tr><td>" << htmlEscape(row.label) << "</td>";
    for (const auto& c : row.cells) o << "<td>" << htmlEscape(c) << "</td>";
    o << "</tr>\n";
  }
  o << "</table>\n";

  // Cost over time: one line per strategy.
  std::vector<Line> cost, cpu, mem;
  for (size_t i = 0; i < run.results.size(); ++i) {
    const auto& r = run.results[i];
    std::string color = kPalette[i % 10];
    cost.push_back({r.strategy, color, points(r.series, column(r.series, "cost_usd"))});
    cpu.push_back({r.strategy, color, bucketMeans(r.series, column(r.series, "cpu_allocation"), 900)});
    mem.push_back({r.strategy, color, bucketMeans(r.series, column(r.series, "cpu_usage"), 900)});
  }
  o << "<h2>Cost over time</h2>\n" << chart("Cumulative cost", "USD", cost, false, false, true);
  o << "<h2>Utilization</h2>\n"
    << chart("CPU allocation: requests / allocatable of Ready nodes (15-min means)", "allocated", cpu, false, true,
             false, 1.0)
    << chart("CPU usage: actual use / allocatable of Ready nodes (15-min means)", "used", mem, false, true, false, 1.0)
    << "<p class=\"sub\">Gaps: no Ready node in those 15 minutes.</p>\n";
  o << "<h2>Nodes by pool over time</h2>\n";
  // Same y scale for every strategy so the charts compare at a glance.
  double peak = 0;
  for (const auto& r : run.results) peak = std::max(peak, static_cast<double>(r.peakNodes));
  for (const auto& r : run.results) {
    std::vector<Line> layers;
    size_t k = 0;
    for (size_t c = 0; c < r.series.columns.size(); ++c) {
      const std::string& name = r.series.columns[c];
      if (name.rfind("nodes_", 0) != 0 || name == "nodes_total") continue;
      bool any = false;
      for (const auto& row : r.series.rows) any = any || row[c] > 0;
      if (!any) {
        ++k;
        continue;
      }
      std::string label = name.substr(6);
      std::replace(label.begin(), label.end(), '_', ' ');
      std::string color = name == "nodes_launching" ? "#b8b8b8" : kPalette[k % 10];
      ++k;
      if (name == "nodes_launching") label = "launching";
      layers.push_back({label, color, points(r.series, c)});
    }
    // Ready nodes at the bottom, launching ones on top.
    std::stable_partition(layers.begin(), layers.end(),
                          [](const Line& l) { return l.name.rfind("launching", 0) != 0; });
    o << chart(r.strategy + ": nodes by pool and capacity type", "nodes", layers, true, false, false, peak);
  }
  o << "<h2>Raw data</h2>\n<p class=\"files\">";
  for (const auto& r : run.results)
    o << "<a href=\"timeseries-" << htmlEscape(r.strategy) << ".csv\">timeseries-" << htmlEscape(r.strategy)
      << ".csv</a>";
  o << "<a href=\"summary.json\">summary.json</a></p>\n</body></html>\n";
  return o.str();
}

Status writeReport(const std::string& dir, const RunSummary& run) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return makeError("io", "cannot create " + dir + ": " + ec.message());
  auto write = [&](const std::string& name, const std::string& content) -> Status {
    std::string path = (std::filesystem::path(dir) / name).string();
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) return makeError("io", "cannot write " + path);
    out << content;
    out.close();
    if (!out) return makeError("io", "cannot write " + path);
    return {};
  };
  if (auto s = write("index.html", htmlReport(run)); !s) return s;
  if (auto s = write("summary.json", toJson(run)); !s) return s;
  for (const auto& r : run.results)
    if (auto s = write("timeseries-" + r.strategy + ".csv", seriesCsv(r)); !s) return s;
  return {};
}

}  // namespace spotfit::sim

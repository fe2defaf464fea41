#include "scaler/cost_report.hpp"

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <sstream>

#include "kube/json.hpp"

namespace spotfit::scaler {

namespace {

std::string dayOf(TimePoint day) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(day)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::string money(double usd) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", usd);
  return buf;
}

// CSV field: quoted when it holds a comma, quote or newline (names are DNS labels, but be safe).
std::string csvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

Result<CostGroupBy> parseCostGrouping(std::string_view text) {
  if (text == "namespace") return CostGroupBy{CostGrouping::Namespace, ""};
  if (text == "owner" || text == "cronjob" || text == "workflow") return CostGroupBy{CostGrouping::Owner, ""};
  if (text == "label") return CostGroupBy{CostGrouping::Label, ""};
  if (text.starts_with("label:") && text.size() > 6)
    return CostGroupBy{CostGrouping::Label, std::string(text.substr(6))};
  return makeError("invalid", "--by takes namespace, owner, cronjob, workflow or label:KEY, got '" +
                                  std::string(text.substr(0, 64)) + "'");
}

Result<int> parseCostWindow(std::string_view text) {
  int days = 0;
  if (text.size() >= 2 && text.back() == 'd') {
    auto [p, ec] = std::from_chars(text.data(), text.data() + text.size() - 1, days);
    if (ec == std::errc() && p == text.data() + text.size() - 1 && days >= 1 && days <= 400) return days;
  }
  return makeError("invalid", "--window takes whole days from 1d to 400d, got '" + std::string(text) + "'");
}

Result<CostReport> buildCostReport(const CostLedger& ledger, TimePoint now, int days, const CostGroupBy& groupBy) {
  const CostGrouping by = groupBy.grouping;
  if (by == CostGrouping::Label) {
    if (ledger.labelKey().empty()) {
      return makeError("invalid", "the ledger sums by no label (set scaler.ledgerLabel, e.g. team)");
    }
    if (!groupBy.labelKey.empty() && groupBy.labelKey != ledger.labelKey()) {
      return makeError("invalid",
                       "the ledger sums by label " + ledger.labelKey() + ", not " + groupBy.labelKey.substr(0, 64));
    }
  }
  CostLedger accrued = ledger;  // running pods charged up to now, split at midnight like every charge
  accrued.accrue(now);
  const TimePoint today = TimePoint{} + std::chrono::floor<std::chrono::days>(now.time_since_epoch());
  const TimePoint first = today - std::chrono::days(days - 1);
  CostReport r;
  r.by = by;
  if (by == CostGrouping::Label) r.labelKey = ledger.labelKey();
  for (TimePoint d = first; d <= today; d += std::chrono::days(1)) r.days.push_back(dayOf(d));
  std::map<std::pair<std::string, std::string>, CostRow> rows;
  for (auto it = accrued.days().lower_bound(first); it != accrued.days().end(); ++it) {
    const std::string day = dayOf(it->first);
    auto add = [&](const std::string& ns, const std::string& owner, double usd) {
      auto& row = rows[{ns, owner}];
      if (by == CostGrouping::Label) {
        row.label = owner;
      } else {
        row.namespaceName = ns;
        row.owner = owner;
      }
      row.days[day] += usd;
      row.totalUsd += usd;
      r.totalUsd += usd;
    };
    if (by == CostGrouping::Namespace) {
      for (const auto& [ns, usd] : it->second.namespaces) add(ns, "", usd);
    } else if (by == CostGrouping::Label) {
      for (const auto& [value, usd] : it->second.labels) add("", value, usd);
    } else {
      for (const auto& [o, usd] : it->second.owners) add(o.first, o.second, usd);
    }
  }
  for (auto& [k, row] : rows) r.rows.push_back(std::move(row));
  std::stable_sort(r.rows.begin(), r.rows.end(),
                   [](const CostRow& a, const CostRow& b) { return a.totalUsd > b.totalUsd; });
  return r;
}

std::string costReportJson(const CostReport& r) {
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  auto str = [&](const std::string& s) { w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size())); };
  w.StartObject();
  w.Key("by");
  str(r.by == CostGrouping::Namespace ? "namespace" : r.by == CostGrouping::Owner ? "owner" : "label:" + r.labelKey);
  w.Key("days");
  w.StartArray();
  for (const auto& d : r.days) str(d);
  w.EndArray();
  w.Key("totalUsd");
  w.Double(r.totalUsd);
  w.Key("rows");
  w.StartArray();
  for (const auto& row : r.rows) {
    w.StartObject();
    if (r.by == CostGrouping::Label) {
      w.Key("label");
      str(row.label);
    } else {
      w.Key("namespace");
      str(row.namespaceName);
    }
    if (r.by == CostGrouping::Owner) {
      w.Key("owner");
      str(row.owner);
    }
    w.Key("totalUsd");
    w.Double(row.totalUsd);
    w.Key("days");
    w.StartObject();
    for (const auto& [d, usd] : row.days) {
      w.Key(d.c_str(), static_cast<rapidjson::SizeType>(d.size()));
      w.Double(usd);
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize()) + "\n";
}

std::pair<int, std::string> costEndpoint(const CostLedger* ledger, TimePoint now, std::string_view query) {
  auto error = [](int status, const std::string& message) {
    spotfit::kube::json::StringBuffer buf;
    spotfit::kube::json::Writer<> w(buf);
    w.StartObject();
    w.Key("error");
    w.String(message.c_str(), static_cast<rapidjson::SizeType>(message.size()));
    w.EndObject();
    return std::pair<int, std::string>{status, std::string(buf.GetString(), buf.GetSize()) + "\n"};
  };
  std::string window = "7d", by = "namespace";
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    const auto eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq), value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (key == "window")
      window = std::string(value.substr(0, 16));
    else if (key == "by")
      by = std::string(value.substr(0, 16));
    else if (!key.empty())
      return error(400, "unknown parameter '" + std::string(key.substr(0, 32)) + "' (window, by)");
  }
  auto days = parseCostWindow(window);
  if (!days) return error(400, days.error().message);
  auto grouping = parseCostGrouping(by);
  if (!grouping) return error(400, grouping.error().message);
  if (ledger == nullptr) return error(503, "this replica does not lead: the ledger is with the leader");
  auto report = buildCostReport(*ledger, now, *days, *grouping);
  if (!report) return error(400, report.error().message);
  return {200, costReportJson(*report)};
}

std::string costReportCsv(const CostReport& r) {
  std::ostringstream o;
  o << (r.by == CostGrouping::Label ? r.labelKey : "namespace") << (r.by == CostGrouping::Owner ? ",owner" : "");
  for (const auto& d : r.days) o << "," << d;
  o << ",total\n";
  for (const auto& row : r.rows) {
    o << csvField(r.by == CostGrouping::Label ? row.label : row.namespaceName);
    if (r.by == CostGrouping::Owner) o << "," << csvField(row.owner);
    for (const auto& d : r.days) {
      auto it = row.days.find(d);
      o << "," << money(it == row.days.end() ? 0 : it->second);
    }
    o << "," << money(row.totalUsd) << "\n";
  }
  return o.str();
}

std::string costReportTable(const CostReport& r) {
  // Columns: the group, then at most the last 7 days of the window, then the window's total.
  const size_t shown = std::min<size_t>(r.days.size(), 7);
  std::string first = r.by == CostGrouping::Label ? r.labelKey : "NAMESPACE";
  if (r.by == CostGrouping::Label) std::transform(first.begin(), first.end(), first.begin(), ::toupper);
  std::vector<std::string> header{first};
  if (r.by == CostGrouping::Owner) header.push_back("OWNER");
  for (size_t i = r.days.size() - shown; i < r.days.size(); ++i) header.push_back(r.days[i].substr(5));
  header.push_back("TOTAL (" + std::to_string(r.days.size()) + "d)");
  std::vector<std::vector<std::string>> cells{header};
  for (const auto& row : r.rows) {
    std::vector<std::string> line{r.by == CostGrouping::Label ? row.label : row.namespaceName};
    if (r.by == CostGrouping::Owner) line.push_back(row.owner);
    for (size_t i = r.days.size() - shown; i < r.days.size(); ++i) {
      auto it = row.days.find(r.days[i]);
      line.push_back(money(it == row.days.end() ? 0 : it->second));
    }
    line.push_back(money(row.totalUsd));
    cells.push_back(std::move(line));
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) width[i] = std::max(width[i], line[i].size());
  }
  std::ostringstream o;
  for (const auto& line : cells) {
    for (size_t i = 0; i < line.size(); ++i) {
      o << line[i];
      if (i + 1 < line.size()) o << std::string(width[i] - line[i].size() + 3, ' ');
    }
    o << "\n";
  }
  o << "total: $" << money(r.totalUsd) << " over " << r.days.size() << " day(s), " << r.rows.size() << " row(s)\n";
  return o.str();
}

}  // namespace spotfit::scaler

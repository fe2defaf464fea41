#include "scaler/ledger.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <tuple>

#include "kube/json.hpp"

namespace spotfit::scaler {

namespace {

constexpr auto kDay = std::chrono::hours(24);

TimePoint dayStart(TimePoint t) {
  return TimePoint{} + std::chrono::floor<std::chrono::days>(t.time_since_epoch());
}

std::string dayName(TimePoint day) {
  const std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(day)};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                static_cast<unsigned>(ymd.day()));
  return buf;
}

std::optional<TimePoint> parseDayName(std::string_view s) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (s.size() != 10 || std::sscanf(std::string(s).c_str(), "%4d-%2u-%2u", &y, &m, &d) != 3) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year{y}, std::chrono::month{m}, std::chrono::day{d}};
  if (!ymd.ok()) return std::nullopt;
  return TimePoint{std::chrono::sys_days{ymd}.time_since_epoch()};
}

// Daily windows are kept to the micro-dollar: shorter JSON, and no figure anyone reads is finer.
double microUsd(double usd) {
  return std::round(usd * 1e6) / 1e6;
}

void putString(spotfit::kube::json::Writer<>& w, const std::string& s) {
  w.String(s.c_str(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

std::string ownerOfWorkflow(std::string_view workflow) {
  // A CronJob's pre-warm line ("<cronjob> (prewarm)", scaler/prewarm.hpp) rolls up to the CronJob.
  constexpr std::string_view kPrewarm = " (prewarm)";
  if (workflow.size() > kPrewarm.size() && workflow.substr(workflow.size() - kPrewarm.size()) == kPrewarm) {
    return std::string(workflow.substr(0, workflow.size() - kPrewarm.size()));
  }
  const auto dash = workflow.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || workflow.size() - dash - 1 < 8) return std::string(workflow);
  for (size_t i = dash + 1; i < workflow.size(); ++i) {
    if (workflow[i] < '0' || workflow[i] > '9') return std::string(workflow);
  }
  return std::string(workflow.substr(0, dash));
}

std::string podFingerprint(std::string_view uid) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : uid) {
    h ^= c;
    h *= 1099511628211ull;
  }
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out(8, 'A');
  for (int i = 0; i < 8; ++i) out[i] = kAlphabet[(h >> (42 - 6 * i)) & 63];  // the low 48 bits, big end first
  return out;
}

double CostLedger::hours(TimePoint from, TimePoint to) {
  if (to <= from) return 0;
  return std::chrono::duration<double, std::ratio<3600>>(to - from).count();
}

std::string CostLedger::boundedNamespace(const std::string& ns, const std::map<std::string, double>& in) const {
  if (in.count(ns) || in.size() < limits_.maxNamespaces) return ns;
  return kLedgerOther;
}

void CostLedger::charge(const RunningPod& p, TimePoint from, TimePoint to) {
  if (to <= from) return;
  const double usd = p.ratePerHour * hours(from, to);
  auto& wf = workflows_[p.workflow];
  wf.usd += usd;
  wf.lastActive = std::max(wf.lastActive, to);
  closedNamespace_[boundedNamespace(p.workflow.namespaceName, closedNamespace_)] += usd;
  closedSavings_ += std::max(0.0, p.onDemandRatePerHour - p.ratePerHour) * hours(from, to);
  const std::string owner = ownerOfWorkflow(p.workflow.workflow);
  for (TimePoint t = from; t < to;) {
    const TimePoint day = dayStart(t), end = std::min(to, day + kDay);
    auto& d = days_[day];
    const double part = p.ratePerHour * hours(t, end);
    const std::string ns = boundedNamespace(p.workflow.namespaceName, d.namespaces);
    d.namespaces[ns] += part;
    std::pair<std::string, std::string> key{ns, owner};
    if (!d.owners.count(key) && d.owners.size() >= limits_.maxOwnersPerDay) key.second = kLedgerOther;
    d.owners[key] += part;
    if (!labelKey_.empty()) {
      std::string label = p.label.empty() ? std::string(kLedgerNoLabel) : p.label;
      if (!d.labels.count(label) && d.labels.size() >= limits_.maxOwnersPerDay) label = kLedgerOther;
      d.labels[label] += part;
    }
    t = end;
  }
}

std::map<std::string, RunningPod>::iterator CostLedger::findOpen(const std::string& uid) {
  auto it = open_.find(uid);
  if (it != open_.end()) return it;
  auto restored = open_.find("#" + podFingerprint(uid));
  if (restored == open_.end()) return open_.end();
  RunningPod p = std::move(restored->second);
  p.uid = uid;
  open_.erase(restored);
  return open_.emplace(uid, std::move(p)).first;
}

void CostLedger::podRunning(const std::string& uid, const WorkflowKey& wf, double ratePerHour,
                            double onDemandRatePerHour, TimePoint boundAt, TimePoint now, std::string_view label) {
  auto it = findOpen(uid);
  if (it == open_.end()) {
    open_[uid] = RunningPod{uid, wf, ratePerHour, onDemandRatePerHour, std::min(boundAt, now), std::string(label)};
    return;
  }
  auto& p = it->second;
  if (p.ratePerHour != ratePerHour || p.onDemandRatePerHour != onDemandRatePerHour || p.workflow != wf ||
      p.label != label) {
    charge(p, p.accruedTo, now);
    p = RunningPod{uid, wf, ratePerHour, onDemandRatePerHour, std::max(p.accruedTo, now), std::string(label)};
  }
}

void CostLedger::podStopped(const std::string& uid, TimePoint at) {
  auto it = findOpen(uid);
  if (it == open_.end()) return;
  charge(it->second, it->second.accruedTo, at);
  open_.erase(it);
}

void CostLedger::retainOnly(const std::set<std::string>& live, TimePoint now) {
  for (auto it = open_.begin(); it != open_.end();) {
    if (live.count(it->first)) {
      ++it;
      continue;
    }
    charge(it->second, it->second.accruedTo, now);
    it = open_.erase(it);
  }
}

void CostLedger::accrue(TimePoint now) {
  for (auto& [key, p] : open_) {
    if (now <= p.accruedTo) continue;
    charge(p, p.accruedTo, now);
    p.accruedTo = now;
  }
  expire(now);
}

std::set<WorkflowKey> CostLedger::runningWorkflows() const {
  std::set<WorkflowKey> out;
  for (const auto& [key, p] : open_) out.insert(p.workflow);
  return out;
}

void CostLedger::expire(TimePoint now) {
  const TimePoint cutoff = now - limits_.retention;
  while (!days_.empty() && days_.begin()->first + kDay <= cutoff) days_.erase(days_.begin());
  const auto running = runningWorkflows();
  std::vector<std::pair<TimePoint, WorkflowKey>> closed;
  for (auto it = workflows_.begin(); it != workflows_.end();) {
    auto& total = it->second;
    if (total.lastActive == TimePoint{}) total.lastActive = now;  // read from a version 1 ledger: from now on
    if (running.count(it->first)) {
      ++it;
    } else if (total.lastActive < cutoff) {
      it = workflows_.erase(it);
    } else {
      closed.emplace_back(total.lastActive, it->first);
      ++it;
    }
  }
  if (closed.size() <= limits_.maxClosedWorkflows) return;
  const auto keep = static_cast<std::ptrdiff_t>(limits_.maxClosedWorkflows);
  std::nth_element(closed.begin(), closed.begin() + keep, closed.end(), std::greater<>());
  for (auto it = closed.begin() + keep; it != closed.end(); ++it) workflows_.erase(it->second);
}

std::vector<WorkflowCost> CostLedger::workflowCosts(TimePoint now) const {
  std::map<WorkflowKey, WorkflowCost> out;
  for (const auto& [k, total] : workflows_) out[k] = WorkflowCost{k, total.usd, total.lastActive, false};
  for (const auto& [key, p] : open_) {
    auto& c = out[p.workflow];
    c.workflow = p.workflow;
    c.usd += p.ratePerHour * hours(p.accruedTo, now);
    c.lastActive = std::max(c.lastActive, now);
    c.running = true;
  }
  std::vector<WorkflowCost> v;
  v.reserve(out.size());
  for (auto& [k, c] : out) v.push_back(std::move(c));
  return v;
}

std::map<std::string, double> CostLedger::namespaces(TimePoint now) const {
  auto out = closedNamespace_;
  for (const auto& [key, p] : open_) {
    out[boundedNamespace(p.workflow.namespaceName, out)] += p.ratePerHour * hours(p.accruedTo, now);
  }
  return out;
}

std::map<std::pair<std::string, std::string>, double> CostLedger::owners(TimePoint since, TimePoint now) const {
  std::map<std::pair<std::string, std::string>, double> out;
  for (auto it = days_.lower_bound(dayStart(since)); it != days_.end(); ++it) {
    for (const auto& [o, usd] : it->second.owners) out[o] += usd;
  }
  for (const auto& [key, p] : open_) {
    const double usd = p.ratePerHour * hours(std::max(p.accruedTo, since), now);
    if (usd > 0) out[{p.workflow.namespaceName, ownerOfWorkflow(p.workflow.workflow)}] += usd;
  }
  return out;
}

double CostLedger::workflowSpend(const WorkflowKey& wf, TimePoint now) const {
  auto it = workflows_.find(wf);
  double total = it == workflows_.end() ? 0 : it->second.usd;
  for (const auto& [key, p] : open_) {
    if (p.workflow == wf) total += p.ratePerHour * hours(p.accruedTo, now);
  }
  return total;
}

std::optional<double> CostLedger::recordedSpend(const WorkflowKey& wf, TimePoint now) const {
  bool known = workflows_.count(wf) > 0;
  for (const auto& [key, p] : open_) known = known || p.workflow == wf;
  if (!known) return std::nullopt;
  return workflowSpend(wf, now);
}

double CostLedger::namespaceSpend(const std::string& ns, TimePoint now) const {
  auto it = closedNamespace_.find(ns);
  double total = it == closedNamespace_.end() ? 0 : it->second;
  for (const auto& [key, p] : open_) {
    if (p.workflow.namespaceName == ns) total += p.ratePerHour * hours(p.accruedTo, now);
  }
  return total;
}

double CostLedger::spotSavings(TimePoint now) const {
  double total = closedSavings_;
  for (const auto& [key, p] : open_) {
    total += std::max(0.0, p.onDemandRatePerHour - p.ratePerHour) * hours(p.accruedTo, now);
  }
  return total;
}

double CostLedger::costPerHour() const {
  double total = 0;
  for (const auto& [key, p] : open_) total += p.ratePerHour;
  return total;
}

std::map<WorkflowKey, double> CostLedger::workflows(TimePoint now) const {
  std::map<WorkflowKey, double> out;
  for (const auto& [k, total] : workflows_) out[k] = total.usd;
  for (const auto& [key, p] : open_) out[p.workflow] += p.ratePerHour * hours(p.accruedTo, now);
  return out;
}

// Version 2 (docs/scaler.md, "Cost ledger"):
//   {"version":2, "workflows":[[ns, workflow, usd, lastActiveMs], ...], "namespaces":{ns: usd},
//    "spotSavingsUsd":x, "running":[[ns, workflow, ratePerHour, onDemandRatePerHour, accruedToMs,
//    "<8-character pod fingerprints>"], ...], "owners":[[ns, owner], ...],
//    "days":[{"day":"YYYY-MM-DD", "namespaces":{ns: usd}, "owners":[ownerIndex, usd, ...]}, ...]}
std::string CostLedger::toJson() const {
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  w.StartObject();
  w.Key("version");
  w.Int(2);
  if (!labelKey_.empty()) {
    w.Key("labelKey");
    putString(w, labelKey_);
  }
  w.Key("workflows");
  w.StartArray();
  for (const auto& [k, total] : workflows_) {
    w.StartArray();
    putString(w, k.namespaceName);
    putString(w, k.workflow);
    w.Double(total.usd);
    w.Int64(total.lastActive == TimePoint{} ? 0 : toEpochMs(total.lastActive));
    w.EndArray();
  }
  w.EndArray();
  w.Key("namespaces");
  w.StartObject();
  for (const auto& [ns, usd] : closedNamespace_) {
    w.Key(ns.c_str(), static_cast<rapidjson::SizeType>(ns.size()));
    w.Double(usd);
  }
  w.EndObject();
  w.Key("spotSavingsUsd");
  w.Double(closedSavings_);
  // Running pods grouped by what they share: a workflow's pods on one node type differ only in identity.
  using Group = std::tuple<WorkflowKey, double, double, int64_t, std::string>;
  std::map<Group, std::string> groups;
  for (const auto& [key, p] : open_) {
    auto& fps = groups[Group{p.workflow, p.ratePerHour, p.onDemandRatePerHour, toEpochMs(p.accruedTo), p.label}];
    fps += key.starts_with('#') ? key.substr(1) : podFingerprint(key);
  }
  w.Key("running");
  w.StartArray();
  for (const auto& [g, fps] : groups) {
    w.StartArray();
    putString(w, std::get<0>(g).namespaceName);
    putString(w, std::get<0>(g).workflow);
    w.Double(std::get<1>(g));
    w.Double(std::get<2>(g));
    w.Int64(std::get<3>(g));
    putString(w, fps);
    if (!std::get<4>(g).empty()) putString(w, std::get<4>(g));  // the pod label's value, when it has one
    w.EndArray();
  }
  w.EndArray();
  std::map<std::pair<std::string, std::string>, int> ownerIndex;
  for (const auto& [day, d] : days_) {
    for (const auto& [o, usd] : d.owners) ownerIndex.emplace(o, 0);
  }
  int next = 0;
  w.Key("owners");
  w.StartArray();
  for (auto& [o, i] : ownerIndex) {
    i = next++;
    w.StartArray();
    putString(w, o.first);
    putString(w, o.second);
    w.EndArray();
  }
  w.EndArray();
  w.Key("days");
  w.StartArray();
  for (const auto& [day, d] : days_) {
    w.StartObject();
    w.Key("day");
    putString(w, dayName(day));
    w.Key("namespaces");
    w.StartObject();
    for (const auto& [ns, usd] : d.namespaces) {
      w.Key(ns.c_str(), static_cast<rapidjson::SizeType>(ns.size()));
      w.Double(microUsd(usd));
    }
    w.EndObject();
    w.Key("owners");
    w.StartArray();
    for (const auto& [o, usd] : d.owners) {
      w.Int(ownerIndex.at(o));
      w.Double(microUsd(usd));
    }
    w.EndArray();
    if (!d.labels.empty()) {
      w.Key("labels");
      w.StartObject();
      for (const auto& [value, usd] : d.labels) {
        w.Key(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
        w.Double(microUsd(usd));
      }
      w.EndObject();
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

Result<CostLedger> CostLedger::fromJson(std::string_view json, LedgerLimits limits) {
  spotfit::kube::json::Document d;
  auto bad = [](const std::string& why) { return makeError("invalid", "cost ledger: " + why); };
  if (Status parsed = kube::json::parseInto(d, json); !parsed) return bad(parsed.error().message);
  if (!d.IsObject()) return bad("not a JSON object");
  if (!d.HasMember("version") || !d["version"].IsInt()) return bad("unsupported version");
  const int version = d["version"].GetInt();
  if (version != 1 && version != 2) return bad("unsupported version");
  auto str = [](const spotfit::kube::json::Value& o, const char* k) -> std::optional<std::string> {
    if (!o.IsObject() || !o.HasMember(k) || !o[k].IsString()) return std::nullopt;
    return std::string(o[k].GetString(), o[k].GetStringLength());
  };
  auto num = [](const spotfit::kube::json::Value& o, const char* k) -> std::optional<double> {
    if (!o.IsObject() || !o.HasMember(k) || !o[k].IsNumber()) return std::nullopt;
    return o[k].GetDouble();
  };
  auto text = [](const spotfit::kube::json::Value& v) { return std::string(v.GetString(), v.GetStringLength()); };
  // A row [string, string, ...numbers..., (string)]: the layout version 2 stores tuples in.
  auto row = [](const spotfit::kube::json::Value& e, size_t strings, size_t numbers, bool trailingString) {
    const size_t n = strings + numbers + (trailingString ? 1 : 0);
    if (!e.IsArray() || e.Size() != n) return false;
    for (size_t i = 0; i < n; ++i) {
      const bool isString = i < strings || (trailingString && i == n - 1);
      if (isString ? !e[static_cast<rapidjson::SizeType>(i)].IsString()
                   : !e[static_cast<rapidjson::SizeType>(i)].IsNumber()) {
        return false;
      }
    }
    return true;
  };
  CostLedger l(limits);
  if (d.HasMember("labelKey")) {
    if (!d["labelKey"].IsString()) return bad("labelKey is not a string");
    l.labelKey_ = text(d["labelKey"]);
  }
  if (d.HasMember("workflows")) {
    if (!d["workflows"].IsArray()) return bad("workflows is not a list");
    for (const auto& e : d["workflows"].GetArray()) {
      if (version == 1) {
        auto ns = str(e, "namespace"), wf = str(e, "workflow");
        auto usd = num(e, "usd");
        if (!ns || !wf || !usd) return bad("malformed workflow entry");
        l.workflows_[{*ns, *wf}].usd = *usd;
        continue;
      }
      if (!row(e, 2, 2, false) || !e[3].IsInt64()) return bad("malformed workflow entry");
      const int64_t last = e[3].GetInt64();
      l.workflows_[{text(e[0]), text(e[1])}] = {e[2].GetDouble(), last == 0 ? TimePoint{} : fromEpochMs(last)};
    }
  }
  if (d.HasMember("namespaces")) {
    if (!d["namespaces"].IsObject()) return bad("namespaces is not an object");
    for (const auto& m : d["namespaces"].GetObject()) {
      if (!m.value.IsNumber()) return bad("malformed namespace entry");
      l.closedNamespace_[text(m.name)] = m.value.GetDouble();
    }
  }
  if (auto s = num(d, "spotSavingsUsd")) l.closedSavings_ = *s;
  if (d.HasMember("running")) {
    if (!d["running"].IsArray()) return bad("running is not a list");
    for (const auto& e : d["running"].GetArray()) {
      if (version == 1) {
        auto uid = str(e, "uid"), ns = str(e, "namespace"), wf = str(e, "workflow");
        auto rate = num(e, "ratePerHour"), od = num(e, "onDemandRatePerHour");
        if (!uid || !ns || !wf || !rate || !od || !e.HasMember("accruedToMs") || !e["accruedToMs"].IsInt64()) {
          return bad("malformed running entry");
        }
        l.open_[*uid] = RunningPod{*uid, {*ns, *wf}, *rate, *od, fromEpochMs(e["accruedToMs"].GetInt64()), ""};
        continue;
      }
      // [ns, workflow, rate, on-demand rate, accruedToMs, fingerprints(, label value)]
      const bool labelled = e.IsArray() && e.Size() == 7 && e[6].IsString();
      if (!row(e, 2, 3, true) && !labelled) return bad("malformed running entry");
      if (!e[0].IsString() || !e[1].IsString() || !e[2].IsNumber() || !e[3].IsNumber() || !e[4].IsInt64() ||
          !e[5].IsString()) {
        return bad("malformed running entry");
      }
      const std::string fps = text(e[5]);
      if (fps.empty() || fps.size() % 8 != 0) return bad("malformed running entry: pod fingerprints");
      const RunningPod p{"",
                         {text(e[0]), text(e[1])},
                         e[2].GetDouble(),
                         e[3].GetDouble(),
                         fromEpochMs(e[4].GetInt64()),
                         labelled ? text(e[6]) : std::string()};
      for (size_t i = 0; i < fps.size(); i += 8) l.open_["#" + fps.substr(i, 8)] = p;
    }
  }
  if (version == 1) return l;
  std::vector<std::pair<std::string, std::string>> owners;
  if (d.HasMember("owners")) {
    if (!d["owners"].IsArray()) return bad("owners is not a list");
    for (const auto& e : d["owners"].GetArray()) {
      if (!row(e, 2, 0, false)) return bad("malformed owner entry");
      owners.emplace_back(text(e[0]), text(e[1]));
    }
  }
  if (d.HasMember("days")) {
    if (!d["days"].IsArray()) return bad("days is not a list");
    for (const auto& e : d["days"].GetArray()) {
      auto name = str(e, "day");
      auto day = name ? parseDayName(*name) : std::nullopt;
      if (!day || !e.HasMember("namespaces") || !e["namespaces"].IsObject() || !e.HasMember("owners") ||
          !e["owners"].IsArray() || e["owners"].Size() % 2 != 0) {
        return bad("malformed day entry");
      }
      auto& into = l.days_[*day];
      for (const auto& m : e["namespaces"].GetObject()) {
        if (!m.value.IsNumber()) return bad("malformed day entry: namespace " + text(m.name));
        into.namespaces[text(m.name)] = m.value.GetDouble();
      }
      if (e.HasMember("labels")) {
        if (!e["labels"].IsObject()) return bad("malformed day entry: labels");
        for (const auto& m : e["labels"].GetObject()) {
          if (!m.value.IsNumber()) return bad("malformed day entry: label " + text(m.name));
          into.labels[text(m.name)] = m.value.GetDouble();
        }
      }
      const auto& o = e["owners"];
      for (rapidjson::SizeType i = 0; i < o.Size(); i += 2) {
        if (!o[i].IsUint() || o[i].GetUint() >= owners.size() || !o[i + 1].IsNumber()) {
          return bad("malformed day entry: owner " + std::to_string(i / 2));
        }
        into.owners[owners[o[i].GetUint()]] = o[i + 1].GetDouble();
      }
    }
  }
  return l;
}

}  // namespace spotfit::scaler

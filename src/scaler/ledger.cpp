#include "scaler/ledger.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <algorithm>

#include "kube/json.hpp"

namespace spotfit::scaler {

double CostLedger::hours(TimePoint from, TimePoint to) {
  if (to <= from) return 0;
  return std::chrono::duration<double, std::ratio<3600>>(to - from).count();
}

void CostLedger::podRunning(const std::string& uid, const WorkflowKey& wf, double ratePerHour,
                            double onDemandRatePerHour, TimePoint boundAt, TimePoint now) {
  auto it = open_.find(uid);
  if (it == open_.end()) {
    open_[uid] = RunningPod{uid, wf, ratePerHour, onDemandRatePerHour, std::min(boundAt, now)};
    return;
  }
  if (it->second.ratePerHour != ratePerHour || it->second.onDemandRatePerHour != onDemandRatePerHour ||
      it->second.workflow != wf) {
    podStopped(uid, now);
    open_[uid] = RunningPod{uid, wf, ratePerHour, onDemandRatePerHour, now};
  }
}

void CostLedger::podStopped(const std::string& uid, TimePoint at) {
  auto it = open_.find(uid);
  if (it == open_.end()) return;
  const auto& p = it->second;
  double h = hours(p.accruedTo, at);
  closedWorkflow_[p.workflow] += p.ratePerHour * h;
  closedNamespace_[p.workflow.namespaceName] += p.ratePerHour * h;
  closedSavings_ += std::max(0.0, p.onDemandRatePerHour - p.ratePerHour) * h;
  open_.erase(it);
}

void CostLedger::retainOnly(const std::set<std::string>& live, TimePoint now) {
  std::vector<std::string> gone;
  for (const auto& [uid, p] : open_) {
    if (!live.count(uid)) gone.push_back(uid);
  }
  for (const auto& uid : gone) podStopped(uid, now);
}

void CostLedger::accrue(TimePoint now) {
  for (auto& [uid, p] : open_) {
    if (now <= p.accruedTo) continue;
    double h = hours(p.accruedTo, now);
    closedWorkflow_[p.workflow] += p.ratePerHour * h;
    closedNamespace_[p.workflow.namespaceName] += p.ratePerHour * h;
    closedSavings_ += std::max(0.0, p.onDemandRatePerHour - p.ratePerHour) * h;
    p.accruedTo = now;
  }
}

double CostLedger::workflowSpend(const WorkflowKey& wf, TimePoint now) const {
  auto it = closedWorkflow_.find(wf);
  double total = it == closedWorkflow_.end() ? 0 : it->second;
  for (const auto& [uid, p] : open_) {
    if (p.workflow == wf) total += p.ratePerHour * hours(p.accruedTo, now);
  }
  return total;
}

std::optional<double> CostLedger::recordedSpend(const WorkflowKey& wf, TimePoint now) const {
  bool known = closedWorkflow_.count(wf) > 0;
  for (const auto& [uid, p] : open_) known = known || p.workflow == wf;
  if (!known) return std::nullopt;
  return workflowSpend(wf, now);
}

double CostLedger::namespaceSpend(const std::string& ns, TimePoint now) const {
  auto it = closedNamespace_.find(ns);
  double total = it == closedNamespace_.end() ? 0 : it->second;
  for (const auto& [uid, p] : open_) {
    if (p.workflow.namespaceName == ns) total += p.ratePerHour * hours(p.accruedTo, now);
  }
  return total;
}

double CostLedger::spotSavings(TimePoint now) const {
  double total = closedSavings_;
  for (const auto& [uid, p] : open_) total += std::max(0.0, p.onDemandRatePerHour - p.ratePerHour) * hours(p.accruedTo, now);
  return total;
}

double CostLedger::costPerHour() const {
  double total = 0;
  for (const auto& [uid, p] : open_) total += p.ratePerHour;
  return total;
}

std::map<WorkflowKey, double> CostLedger::workflows(TimePoint now) const {
  auto out = closedWorkflow_;
  for (const auto& [uid, p] : open_) out[p.workflow] += p.ratePerHour * hours(p.accruedTo, now);
  return out;
}

std::string CostLedger::toJson() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("version");
  w.Int(1);
  w.Key("workflows");
  w.StartArray();
  for (const auto& [k, usd] : closedWorkflow_) {
    w.StartObject();
    w.Key("namespace");
    w.String(k.namespaceName.c_str(), static_cast<rapidjson::SizeType>(k.namespaceName.size()));
    w.Key("workflow");
    w.String(k.workflow.c_str(), static_cast<rapidjson::SizeType>(k.workflow.size()));
    w.Key("usd");
    w.Double(usd);
    w.EndObject();
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
  w.Key("running");
  w.StartArray();
  for (const auto& [uid, p] : open_) {
    w.StartObject();
    w.Key("uid");
    w.String(uid.c_str(), static_cast<rapidjson::SizeType>(uid.size()));
    w.Key("namespace");
    w.String(p.workflow.namespaceName.c_str(), static_cast<rapidjson::SizeType>(p.workflow.namespaceName.size()));
    w.Key("workflow");
    w.String(p.workflow.workflow.c_str(), static_cast<rapidjson::SizeType>(p.workflow.workflow.size()));
    w.Key("ratePerHour");
    w.Double(p.ratePerHour);
    w.Key("onDemandRatePerHour");
    w.Double(p.onDemandRatePerHour);
    w.Key("accruedToMs");
    w.Int64(toEpochMs(p.accruedTo));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

Result<CostLedger> CostLedger::fromJson(std::string_view json) {
  rapidjson::Document d;
  auto bad = [](const std::string& why) { return makeError("invalid", "cost ledger: " + why); };
  if (Status parsed = kube::json::parseInto(d, json); !parsed) return bad(parsed.error().message);
  if (!d.IsObject()) return bad("not a JSON object");
  if (!d.HasMember("version") || !d["version"].IsInt() || d["version"].GetInt() != 1) return bad("unsupported version");
  auto str = [](const rapidjson::Value& o, const char* k) -> std::optional<std::string> {
    if (!o.IsObject() || !o.HasMember(k) || !o[k].IsString()) return std::nullopt;
    return std::string(o[k].GetString(), o[k].GetStringLength());
  };
  auto num = [](const rapidjson::Value& o, const char* k) -> std::optional<double> {
    if (!o.IsObject() || !o.HasMember(k) || !o[k].IsNumber()) return std::nullopt;
    return o[k].GetDouble();
  };
  CostLedger l;
  if (d.HasMember("workflows")) {
    if (!d["workflows"].IsArray()) return bad("workflows is not a list");
    for (const auto& e : d["workflows"].GetArray()) {
      auto ns = str(e, "namespace"), wf = str(e, "workflow");
      auto usd = num(e, "usd");
      if (!ns || !wf || !usd) return bad("malformed workflow entry");
      l.closedWorkflow_[{*ns, *wf}] = *usd;
    }
  }
  if (d.HasMember("namespaces")) {
    if (!d["namespaces"].IsObject()) return bad("namespaces is not an object");
    for (const auto& m : d["namespaces"].GetObject()) {
      if (!m.value.IsNumber()) return bad("malformed namespace entry");
      l.closedNamespace_[std::string(m.name.GetString(), m.name.GetStringLength())] = m.value.GetDouble();
    }
  }
  if (auto s = num(d, "spotSavingsUsd")) l.closedSavings_ = *s;
  if (d.HasMember("running")) {
    if (!d["running"].IsArray()) return bad("running is not a list");
    for (const auto& e : d["running"].GetArray()) {
      auto uid = str(e, "uid"), ns = str(e, "namespace"), wf = str(e, "workflow");
      auto rate = num(e, "ratePerHour"), od = num(e, "onDemandRatePerHour");
      if (!uid || !ns || !wf || !rate || !od || !e.HasMember("accruedToMs") || !e["accruedToMs"].IsInt64()) {
        return bad("malformed running entry");
      }
      l.open_[*uid] = RunningPod{*uid, {*ns, *wf}, *rate, *od, fromEpochMs(e["accruedToMs"].GetInt64())};
    }
  }
  return l;
}

}  // namespace spotfit::scaler

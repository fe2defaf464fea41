#include "scaler/scaler_state.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <cmath>
#include <optional>

#include "kube/json.hpp"

namespace spotfit::scaler {
namespace {

using Writer = spotfit::kube::json::Writer<>;

void str(Writer& w, const char* key, const std::string& v) {
  w.Key(key);
  w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
}

std::optional<std::string> getString(const spotfit::kube::json::Value& o, const char* k) {
  if (!o.IsObject() || !o.HasMember(k) || !o[k].IsString()) return std::nullopt;
  return std::string(o[k].GetString(), o[k].GetStringLength());
}

// An absent optional string member is "", a present one must be a string.
bool optString(const spotfit::kube::json::Value& o, const char* k, std::string& out) {
  if (!o.HasMember(k)) return true;
  if (!o[k].IsString()) return false;
  out.assign(o[k].GetString(), o[k].GetStringLength());
  return true;
}

std::optional<TimePoint> getTime(const spotfit::kube::json::Value& o, const char* k) {
  if (!o.IsObject() || !o.HasMember(k) || !o[k].IsInt64()) return std::nullopt;
  return fromEpochMs(o[k].GetInt64());
}

}  // namespace

std::string ScalerMemory::toJson() const {
  spotfit::kube::json::StringBuffer buf;
  Writer w(buf);
  w.StartObject();
  w.Key("version");
  w.Int(1);
  w.Key("unavailableOfferings");
  w.StartArray();
  for (const auto& e : unavailable) {
    w.StartObject();
    str(w, "pool", e.key.pool);
    str(w, "instanceType", e.key.instanceType);
    str(w, "capacityType", std::string(toString(e.key.capacityType)));
    str(w, "zone", e.key.zone);
    w.Key("untilMs");
    w.Int64(toEpochMs(e.until));
    str(w, "reason", e.reason);
    w.EndObject();
  }
  w.EndArray();
  w.Key("interruptions");
  w.StartArray();
  for (const auto& r : interruptions) {
    w.StartObject();
    str(w, "pool", r.pool);
    str(w, "instanceType", r.instanceType);
    str(w, "node", r.node);
    w.Key("atMs");
    w.Int64(toEpochMs(r.at));
    w.EndObject();
  }
  w.EndArray();
  w.Key("coolOffs");
  w.StartArray();
  for (const auto& [pool, until] : coolOffUntil) {
    w.StartObject();
    str(w, "pool", pool);
    w.Key("untilMs");
    w.Int64(toEpochMs(until));
    w.EndObject();
  }
  w.EndArray();
  w.Key("scaleUps");
  w.StartArray();
  for (const auto& [pool, at] : lastScaleUp) {
    w.StartObject();
    str(w, "pool", pool);
    w.Key("atMs");
    w.Int64(toEpochMs(at));
    w.EndObject();
  }
  w.EndArray();
  w.Key("offeringRisk");
  w.StartArray();
  for (const auto& r : offeringRisk) {
    w.StartObject();
    str(w, "pool", r.key.pool);
    str(w, "instanceType", r.key.instanceType);
    str(w, "capacityType", std::string(toString(r.key.capacityType)));
    str(w, "zone", r.key.zone);
    w.Key("interruptions");
    w.Double(r.interruptions);
    w.Key("exposureHours");
    w.Double(r.exposureHours);
    w.Key("atMs");
    w.Int64(toEpochMs(r.at));
    w.EndObject();
  }
  w.EndArray();
  w.Key("launchLeads");
  w.StartArray();
  for (const auto& [key, samples] : launchLeads) {
    w.StartObject();
    str(w, "pool", key.first);
    str(w, "instanceType", key.second);
    w.Key("ms");
    w.StartArray();
    for (const auto& d : samples) w.Int64(d.count());
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return {buf.GetString(), buf.GetSize()};
}

Result<ScalerMemory> ScalerMemory::fromJson(std::string_view json) {
  spotfit::kube::json::Document d;
  auto bad = [](const std::string& why) { return makeError("invalid", "scaler state: " + why); };
  if (Status parsed = kube::json::parseInto(d, json); !parsed) return bad(parsed.error().message);
  if (!d.IsObject()) return bad("not a JSON object");
  if (!d.HasMember("version") || !d["version"].IsInt() || d["version"].GetInt() != 1) return bad("unsupported version");
  auto list = [&](const char* k) -> const spotfit::kube::json::Value* {
    if (!d.HasMember(k)) return nullptr;
    return &d[k];
  };
  ScalerMemory m;
  if (const auto* v = list("unavailableOfferings")) {
    if (!v->IsArray()) return bad("unavailableOfferings is not a list");
    for (const auto& e : v->GetArray()) {
      auto pool = getString(e, "pool"), ct = getString(e, "capacityType");
      auto until = getTime(e, "untilMs");
      if (!pool || pool->empty() || !ct || !until) return bad("malformed unavailable offering");
      auto type = placement::parseCapacityType(*ct);
      if (!type) return bad("unknown capacity type \"" + *ct + "\"");
      UnavailableOfferings::Entry entry{{*pool, "", *type, ""}, *until, ""};
      if (!optString(e, "instanceType", entry.key.instanceType) || !optString(e, "zone", entry.key.zone) ||
          !optString(e, "reason", entry.reason)) {
        return bad("malformed unavailable offering");
      }
      m.unavailable.push_back(std::move(entry));
    }
  }
  if (const auto* v = list("interruptions")) {
    if (!v->IsArray()) return bad("interruptions is not a list");
    for (const auto& e : v->GetArray()) {
      auto pool = getString(e, "pool");
      auto at = getTime(e, "atMs");
      if (!pool || pool->empty() || !at) return bad("malformed interruption");
      InterruptionRecord r{*pool, "", "", *at};
      if (!optString(e, "instanceType", r.instanceType) || !optString(e, "node", r.node)) {
        return bad("malformed interruption");
      }
      m.interruptions.push_back(std::move(r));
    }
  }
  if (const auto* v = list("coolOffs")) {
    if (!v->IsArray()) return bad("coolOffs is not a list");
    for (const auto& e : v->GetArray()) {
      auto pool = getString(e, "pool");
      auto until = getTime(e, "untilMs");
      if (!pool || pool->empty() || !until) return bad("malformed cool-off");
      auto& slot = m.coolOffUntil[*pool];
      if (slot < *until) slot = *until;
    }
  }
  if (const auto* v = list("scaleUps")) {
    if (!v->IsArray()) return bad("scaleUps is not a list");
    for (const auto& e : v->GetArray()) {
      auto pool = getString(e, "pool");
      auto at = getTime(e, "atMs");
      if (!pool || pool->empty() || !at) return bad("malformed scale-up");
      auto& slot = m.lastScaleUp[*pool];
      if (slot < *at) slot = *at;
    }
  }
  if (const auto* v = list("offeringRisk")) {
    if (!v->IsArray()) return bad("offeringRisk is not a list");
    if (v->Size() > OfferingRisk::kMaxOfferings) return bad("offeringRisk has more than 1024 offerings");
    for (const auto& e : v->GetArray()) {
      auto pool = getString(e, "pool"), ct = getString(e, "capacityType");
      auto at = getTime(e, "atMs");
      auto number = [&](const char* k) -> std::optional<double> {
        if (!e.IsObject() || !e.HasMember(k) || !e[k].IsNumber()) return std::nullopt;
        const double x = e[k].GetDouble();
        if (!std::isfinite(x) || x < 0) return std::nullopt;
        return x;
      };
      auto interruptions = number("interruptions"), exposure = number("exposureHours");
      if (!pool || pool->empty() || !ct || !at || !interruptions || !exposure) return bad("malformed offering risk");
      auto type = placement::parseCapacityType(*ct);
      if (!type) return bad("unknown capacity type \"" + *ct + "\"");
      OfferingRiskRecord r{{*pool, "", *type, ""}, *interruptions, *exposure, *at};
      if (!optString(e, "instanceType", r.key.instanceType) || !optString(e, "zone", r.key.zone)) {
        return bad("malformed offering risk");
      }
      m.offeringRisk.push_back(std::move(r));
    }
  }
  if (const auto* v = list("launchLeads")) {
    if (!v->IsArray()) return bad("launchLeads is not a list");
    if (v->Size() > kMaxStoredLeadKeys) return bad("more than " + std::to_string(kMaxStoredLeadKeys) + " launch leads");
    for (const auto& e : v->GetArray()) {
      auto pool = getString(e, "pool");
      std::string type;
      if (!pool || pool->empty() || !optString(e, "instanceType", type) || !e.HasMember("ms") || !e["ms"].IsArray() ||
          e["ms"].Size() > kMaxStoredLeadSamples) {
        return bad("malformed launch lead");
      }
      auto& samples = m.launchLeads[{*pool, type}];
      for (const auto& ms : e["ms"].GetArray()) {
        if (!ms.IsInt64() || ms.GetInt64() < 0 || ms.GetInt64() > int64_t{24} * 3600 * 1000)
          return bad("malformed launch lead");
        samples.emplace_back(ms.GetInt64());
      }
    }
  }
  return m;
}

}  // namespace spotfit::scaler

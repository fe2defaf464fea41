#include "webhook/vpa.hpp"

#include <algorithm>
#include <cstdint>

#include "placement/quantity.hpp"

namespace spotfit::webhook {
namespace {

using json::Value;

Result<std::map<std::string, std::string>> quantityMap(const Value& obj, std::string_view key,
                                                       const std::string& where) {
  std::map<std::string, std::string> out;
  const Value* m = json::member(obj, key);
  if (!m || m->IsNull()) return out;
  if (!m->IsObject()) return makeError("invalid", where + "." + std::string(key) + " must be an object");
  for (auto it = m->MemberBegin(); it != m->MemberEnd(); ++it) {
    std::string name(json::view(it->name));
    std::string q;
    if (it->value.IsString()) {
      q = std::string(json::view(it->value));
    } else if (it->value.IsNumber()) {
      q = json::serialize(it->value);
    } else {
      return makeError("invalid", where + "." + std::string(key) + "." + name + " must be a quantity");
    }
    if (!placement::parseQuantity(q)) {
      return makeError("invalid", where + "." + std::string(key) + "." + name + ": '" + q + "' is not a quantity");
    }
    out.emplace(std::move(name), std::move(q));
  }
  return out;
}

// minAllowed/maxAllowed bound in milli; a bound of 0 is no bound (capping.go maybeCapToMin/Max).
std::optional<int64_t> boundOf(const std::map<std::string, std::string>& m, const std::string& resource) {
  auto it = m.find(resource);
  if (it == m.end()) return std::nullopt;
  auto v = placement::parseMilli(it->second);
  if (!v || *v == 0) return std::nullopt;
  return *v;
}

// A quantity as the VPA compares it: cpu in milli (MilliValue), everything else in whole units rounded up
// (Value), plus the milli value and the format for printing.
struct Amount {
  int64_t milli = 0;
  int64_t units = 0;  // cpu: milli; others: whole units
  placement::QuantityFormat format = placement::QuantityFormat::DecimalSI;
  std::string text;  // canonical text
};

std::optional<Amount> amountOf(std::string_view resource, std::string_view text) {
  auto q = placement::parseQuantity(text);
  if (!q) return std::nullopt;
  Amount a;
  a.milli = q->milli;
  a.format = q->format;
  a.text = placement::formatQuantity(*q);
  if (resource == "cpu") {
    a.units = q->milli;
  } else {
    auto v = placement::parseValue(text);
    if (!v) return std::nullopt;
    a.units = *v;
  }
  return a;
}

// VPA's GetProportionalLimit for a limit and request that differ: limit × target / request, truncated, in
// milli for cpu and whole units otherwise, capped at int64 max; printed in the limit's format.
std::string proportionalLimit(std::string_view resource, const Amount& limit, const Amount& request,
                              const Amount& target) {
  __extension__ using Int128 = __int128;
  Int128 v = static_cast<Int128>(limit.units) * target.units / request.units;
  if (v > INT64_MAX) v = INT64_MAX;
  const auto units = static_cast<int64_t>(v);
  if (resource == "cpu") return placement::formatQuantity({units, limit.format});
  if (units > INT64_MAX / 1000) {
    return limit.format == placement::QuantityFormat::BinarySI ? placement::formatBytes(units)
                                                               : placement::formatDecimal(units);
  }
  return placement::formatQuantity({units * 1000, limit.format});
}

}  // namespace

const VpaContainerPolicy* Vpa::policyFor(std::string_view container) const {
  const VpaContainerPolicy* fallback = nullptr;
  for (const auto& p : policies) {
    if (p.containerName == container) return &p;
    if (p.containerName == "*") fallback = &p;
  }
  return fallback;
}

Result<Vpa> decodeVpa(const json::Value& obj) {
  if (!obj.IsObject()) return makeError("invalid", "VerticalPodAutoscaler must be a JSON object");
  Vpa v;
  if (const Value* meta = json::object(obj, "metadata")) {
    v.name = json::string(*meta, "name").value_or("");
    v.namespace_ = json::string(*meta, "namespace").value_or("");
  }
  const Value* spec = json::object(obj, "spec");
  const Value* target = spec ? json::object(*spec, "targetRef") : nullptr;
  if (!target || !json::string(*target, "kind") || !json::string(*target, "name")) {
    return makeError("invalid", "VerticalPodAutoscaler " + v.name + ": spec.targetRef needs kind and name");
  }
  v.targetKind = std::string(*json::string(*target, "kind"));
  v.targetName = std::string(*json::string(*target, "name"));
  if (const Value* up = json::object(*spec, "updatePolicy")) {
    v.updateOff = json::string(*up, "updateMode") == std::string_view("Off");
  }
  if (const Value* rp = json::object(*spec, "resourcePolicy")) {
    if (const Value* cps = json::member(*rp, "containerPolicies"); cps && !cps->IsNull()) {
      if (!cps->IsArray()) return makeError("invalid", "spec.resourcePolicy.containerPolicies must be an array");
      for (rapidjson::SizeType i = 0; i < cps->Size(); ++i) {
        const Value& c = (*cps)[i];
        const std::string where = "spec.resourcePolicy.containerPolicies[" + std::to_string(i) + "]";
        if (!c.IsObject()) return makeError("invalid", where + " must be an object");
        VpaContainerPolicy p;
        p.containerName = std::string(json::string(c, "containerName").value_or("*"));
        auto mode = json::string(c, "mode");
        if (mode && *mode != "Auto" && *mode != "Off") return makeError("invalid", where + ".mode must be Auto or Off");
        p.off = mode == std::string_view("Off");
        auto minAllowed = quantityMap(c, "minAllowed", where);
        if (!minAllowed) return minAllowed.error();
        p.minAllowed = std::move(*minAllowed);
        auto maxAllowed = quantityMap(c, "maxAllowed", where);
        if (!maxAllowed) return maxAllowed.error();
        p.maxAllowed = std::move(*maxAllowed);
        if (const Value* cr = json::member(c, "controlledResources"); cr && !cr->IsNull()) {
          if (!cr->IsArray()) return makeError("invalid", where + ".controlledResources must be an array");
          std::vector<std::string> rs;
          for (const auto& r : cr->GetArray()) {
            if (!r.IsString()) return makeError("invalid", where + ".controlledResources must hold strings");
            rs.emplace_back(json::view(r));
          }
          p.controlledResources = std::move(rs);
        }
        auto cv = json::string(c, "controlledValues");
        if (cv && *cv != "RequestsAndLimits" && *cv != "RequestsOnly") {
          return makeError("invalid", where + ".controlledValues must be RequestsAndLimits or RequestsOnly");
        }
        p.requestsAndLimits = !(cv && *cv == "RequestsOnly");
        v.policies.push_back(std::move(p));
      }
    }
  }
  const Value* status = json::object(obj, "status");
  const Value* rec = status ? json::object(*status, "recommendation") : nullptr;
  if (const Value* crs = rec ? json::member(*rec, "containerRecommendations") : nullptr; crs && !crs->IsNull()) {
    if (!crs->IsArray()) return makeError("invalid", "status.recommendation.containerRecommendations must be an array");
    for (rapidjson::SizeType i = 0; i < crs->Size(); ++i) {
      const Value& c = (*crs)[i];
      const std::string where = "status.recommendation.containerRecommendations[" + std::to_string(i) + "]";
      auto name = c.IsObject() ? json::string(c, "containerName") : std::nullopt;
      if (!name) return makeError("invalid", where + " needs a containerName");
      auto t = quantityMap(c, "target", where);
      if (!t) return t.error();
      v.targets[std::string(*name)] = std::move(*t);
    }
  }
  return v;
}

Result<Resize> applyVpa(const Vpa& vpa, PodSpec& spec) {
  Resize out;
  if (vpa.updateOff) return out;
  for (size_t i = 0; i < spec.containerCount(); ++i) {
    Container c = spec.container(i);
    const std::string name(c.name());
    auto rec = vpa.targets.find(name);
    if (rec == vpa.targets.end()) continue;
    const VpaContainerPolicy* policy = vpa.policyFor(name);
    if (policy && policy->off) continue;
    for (const auto& [resource, targetText] : rec->second) {
      if (policy && policy->controlledResources) {
        const auto& cr = *policy->controlledResources;
        if (std::find(cr.begin(), cr.end(), resource) == cr.end()) continue;
      } else if (resource != "cpu" && resource != "memory") {
        continue;
      }
      // The admission controller's arithmetic (vertical-pod-autoscaler v1.8.1: capping.go, then
      // GetProportionalLimit in limit_and_request_scaling.go).
      auto target = amountOf(resource, targetText);
      if (!target) continue;
      Amount want = *target;
      if (policy) {
        // Captures a copy of the name: a structured binding cannot be captured before C++20's clang 16.
        auto capTo = [&want, res = resource](const std::map<std::string, std::string>& m) {
          if (auto a = amountOf(res, m.at(res))) want = *a;
        };
        if (auto lo = boundOf(policy->minAllowed, resource); lo && want.milli < *lo) capTo(policy->minAllowed);
        if (auto hi = boundOf(policy->maxAllowed, resource); hi && want.milli > *hi) capTo(policy->maxAllowed);
      }
      if (want.milli <= 0) continue;
      auto currentText = c.request(resource);
      auto limitText = c.limit(resource);
      std::optional<Amount> current, limit;
      if (currentText) {
        current = amountOf(resource, *currentText);
        if (!current) continue;  // leave a request we cannot read alone
      }
      if (limitText) {
        limit = amountOf(resource, *limitText);
        if (!limit) continue;
      }
      // A request of 0 counts as none, and so does a limit of 0 (no limit).
      if (current && current->units == 0) current.reset();
      if (limit && limit->units == 0) limit.reset();
      const bool scaleLimit = !policy || policy->requestsAndLimits;
      // RequestsOnly: the recommendation is capped at the limit (capRecommendationToContainerLimit).
      if (limit && !scaleLimit && want.milli > limit->milli) want = *limit;
      std::optional<std::string> newLimit;
      if (limit && scaleLimit && (resource == "cpu" || resource == "memory")) {
        // No request (or one equal to the limit): the limit follows the target.
        if (!current || current->milli == limit->milli) {
          newLimit = want.text;
        } else {
          newLimit = proportionalLimit(resource, *limit, *current, want);
        }
      }
      // Never a request above its limit: the apiserver would reject the whole object.
      if (const std::string& lt = newLimit ? *newLimit : (limit ? limit->text : std::string()); !lt.empty()) {
        if (auto l = amountOf(resource, lt); l && want.milli > l->milli) want = *l;
      }
      // What the pod asks for now: a missing request defaults to the limit (Kubernetes defaulting), an
      // explicit 0 stays 0.
      std::optional<int64_t> asked;
      if (currentText) {
        asked = current ? current->milli : 0;
      } else if (limit) {
        asked = limit->milli;
      }
      const bool requestSame = asked == want.milli;
      const bool limitSame = !newLimit || (limit && amountOf(resource, *newLimit)->milli == limit->milli);
      if (requestSame && limitSame) continue;
      if (!requestSame) c.setRequest(resource, want.text);
      if (!limitSame) c.setLimit(resource, *newLimit);
      out.changed.push_back(name + "/" + resource);
    }
  }
  return out;
}

}  // namespace spotfit::webhook

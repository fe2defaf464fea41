#include "webhook/vpa.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "placement/quantity.hpp"

namespace spotfit::webhook {
namespace {

using json::Value;

Result<std::map<std::string, std::string>> quantityMap(const Value& obj, std::string_view key, const std::string& where) {
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

// Quantity text in Kubernetes' canonical form for `resource`.
std::string render(std::string_view resource, int64_t milli, placement::QuantityFormat format) {
  if (resource == "cpu") return placement::formatMilliCpu(milli);
  const int64_t whole = milli / 1000 + (milli % 1000 != 0 ? 1 : 0);
  if (format == placement::QuantityFormat::BinarySI || resource == "memory") return placement::formatBytes(whole);
  if (milli % 1000 != 0) return placement::formatMilliCpu(milli);
  return placement::formatDecimal(whole);
}

std::optional<int64_t> milliOf(const std::map<std::string, std::string>& m, const std::string& resource) {
  auto it = m.find(resource);
  if (it == m.end()) return std::nullopt;
  auto v = placement::parseMilli(it->second);
  if (!v) return std::nullopt;
  return *v;
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
      auto target = placement::parseQuantity(targetText);
      if (!target) continue;
      int64_t want = target->milli;
      if (policy) {
        if (auto lo = milliOf(policy->minAllowed, resource); lo && want < *lo) want = *lo;
        if (auto hi = milliOf(policy->maxAllowed, resource); hi && want > *hi) want = *hi;
      }
      if (want <= 0) continue;
      auto currentText = c.request(resource);
      auto limitText = c.limit(resource);
      std::optional<int64_t> current, limit;
      if (currentText) {
        auto m = placement::parseMilli(*currentText);
        if (!m) continue;  // leave a request we cannot read alone
        current = *m;
      }
      if (limitText) {
        auto m = placement::parseMilli(*limitText);
        if (!m) continue;
        limit = *m;
      }
      const bool scaleLimit = !policy || policy->requestsAndLimits;
      // Without limit scaling a request above the limit would make the pod invalid: cap it.
      if (limit && !scaleLimit && want > *limit) want = *limit;
      // A missing request defaults to the limit (Kubernetes defaulting).
      const std::optional<int64_t> base = current ? current : limit;
      if (base && *base == want) continue;
      c.setRequest(resource, render(resource, want, target->format));
      if (limit && base && *base > 0 && scaleLimit) {
        const long double scaled = static_cast<long double>(*limit) * static_cast<long double>(want) /
                                   static_cast<long double>(*base);
        const long double capped = std::min(scaled, static_cast<long double>(INT64_MAX / 2));
        const int64_t newLimit = static_cast<int64_t>(std::ceil(capped));
        auto limitFormat = placement::parseQuantity(*limitText);
        c.setLimit(resource, render(resource, newLimit, limitFormat ? limitFormat->format : target->format));
      }
      out.changed.push_back(name + "/" + resource);
    }
  }
  return out;
}

}  // namespace spotfit::webhook

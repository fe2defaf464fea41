#include "kube/budget_policy.hpp"

#include <algorithm>
#include <mutex>

namespace spotfit::kube {
namespace {

using placement::LabelRequirement;

Result<std::vector<std::string>> stringArray(const json::Value& arr, const std::string& path, size_t max) {
  if (arr.Size() > max) return json::invalid(path, "at most " + std::to_string(max) + " items");
  std::vector<std::string> out;
  for (rapidjson::SizeType i = 0; i < arr.Size(); ++i) {
    if (!arr[i].IsString()) return json::invalid(json::indexPath(path, i), "must be a string");
    out.emplace_back(json::view(arr[i]));
  }
  return out;
}

Result<placement::PolicySelector> decodeSelector(const json::Value& sel) {
  placement::PolicySelector out;
  KUBE_TRY(const json::Value* ns, json::optArray(sel, "namespaces", "spec.selector"));
  if (ns) {
    KUBE_TRY(out.namespaces, stringArray(*ns, "spec.selector.namespaces", placement::kMaxPolicyNamespaces));
  }
  KUBE_TRY(const json::Value* ml, json::optObject(sel, "matchLabels", "spec.selector"));
  if (ml) {
    if (ml->MemberCount() > placement::kMaxPolicyLabelRequirements) {
      return json::invalid("spec.selector.matchLabels", "at most 16 labels");
    }
    for (auto it = ml->MemberBegin(); it != ml->MemberEnd(); ++it) {
      const std::string path = json::joinPath("spec.selector.matchLabels", json::view(it->name));
      if (!it->value.IsString()) return json::invalid(path, "must be a string");
      out.labels.push_back(
          {std::string(json::view(it->name)), LabelRequirement::Op::In, {std::string(json::view(it->value))}});
    }
  }
  KUBE_TRY(const json::Value* me, json::optArray(sel, "matchExpressions", "spec.selector"));
  if (me) {
    if (me->Size() > placement::kMaxPolicyLabelRequirements) {
      return json::invalid("spec.selector.matchExpressions", "at most 16 expressions");
    }
    for (rapidjson::SizeType i = 0; i < me->Size(); ++i) {
      const std::string path = json::indexPath("spec.selector.matchExpressions", i);
      const json::Value& e = (*me)[i];
      if (!e.IsObject()) return json::invalid(path, "must be an object");
      KUBE_TRY(auto key, json::reqString(e, "key", path));
      KUBE_TRY(auto op, json::reqString(e, "operator", path));
      LabelRequirement r;
      r.key = std::string(key);
      if (op == "In") {
        r.op = LabelRequirement::Op::In;
      } else if (op == "NotIn") {
        r.op = LabelRequirement::Op::NotIn;
      } else if (op == "Exists") {
        r.op = LabelRequirement::Op::Exists;
      } else if (op == "DoesNotExist") {
        r.op = LabelRequirement::Op::DoesNotExist;
      } else {
        return json::invalid(path + ".operator", "must be In, NotIn, Exists or DoesNotExist");
      }
      KUBE_TRY(const json::Value* vals, json::optArray(e, "values", path));
      if (vals) {
        KUBE_TRY(r.values, stringArray(*vals, path + ".values", placement::kMaxPolicyLabelValues));
      }
      out.labels.push_back(std::move(r));
    }
    if (out.labels.size() > placement::kMaxPolicyLabelRequirements) {
      return json::invalid("spec.selector", "at most 16 matchLabels and matchExpressions together");
    }
  }
  KUBE_TRY(auto wf, json::optString(sel, "workflow", "spec.selector"));
  if (wf) out.workflow = std::string(*wf);
  KUBE_TRY(auto cj, json::optString(sel, "cronJob", "spec.selector"));
  if (cj) out.cronJob = std::string(*cj);
  return out;
}

// The first problem of the spec, as "<field>: <what>"; validatePolicy checks the rest.
Result<placement::BudgetPolicy> decodeSpec(const json::Value& spec, base::TimeZoneCache& zones) {
  placement::BudgetPolicy p;
  KUBE_TRY(auto window, json::reqString(spec, "window", "spec"));
  auto w = placement::parseWindowKind(window);
  if (!w) return json::invalid("spec.window", "must be day, week or month");
  p.window = *w;
  const json::Value* limit = json::find(spec, "limitUSD");
  if (limit == nullptr) return makeError("invalid", "spec.limitUSD: required");
  if (!limit->IsNumber()) return json::invalid("spec.limitUSD", "must be a number");
  p.limitUsd = limit->GetDouble();
  KUBE_TRY(auto action, json::optString(spec, "action", "spec"));
  if (action) {
    auto a = placement::parsePolicyAction(*action);
    if (!a) return json::invalid("spec.action", "must be alert, spot-only, suspend or deny");
    p.action = *a;
  }
  KUBE_TRY(const json::Value* th, json::optArray(spec, "thresholds", "spec"));
  if (th) {
    if (th->Size() > placement::kMaxPolicyThresholds) return json::invalid("spec.thresholds", "at most 8 thresholds");
    for (rapidjson::SizeType i = 0; i < th->Size(); ++i) {
      if (!(*th)[i].IsNumber()) return json::invalid(json::indexPath("spec.thresholds", i), "must be a number");
      p.thresholds.push_back((*th)[i].GetDouble());
    }
  }
  KUBE_TRY(auto tz, json::optString(spec, "timeZone", "spec"));
  if (tz) {
    auto zone = zones.get(*tz);
    if (!zone) return makeError("invalid", "spec.timeZone: " + zone.error().message);
    p.timeZone = *zone;
  }
  KUBE_TRY(const json::Value* sel, json::optObject(spec, "selector", "spec"));
  if (sel) {
    KUBE_TRY(p.selector, decodeSelector(*sel));
  }
  return p;
}

BudgetPolicyStatusSeen decodeStatus(const json::Value& v) {
  BudgetPolicyStatusSeen out;
  const json::Value* st = json::find(v, "status");
  if (st == nullptr || !st->IsObject()) return out;
  if (const json::Value* ws = json::find(*st, "windowStart"); ws && ws->IsString()) {
    if (auto t = base::parseTime(json::view(*ws))) out.windowStart = *t;
  }
  if (const json::Value* n = json::find(*st, "thresholdsReached"); n && n->IsInt64() && n->GetInt64() >= 0) {
    out.thresholdsReached = std::min<int64_t>(n->GetInt64(), 64);
  }
  const json::Value* conds = json::find(*st, "conditions");
  if (conds == nullptr || !conds->IsArray()) return out;
  for (const auto& c : conds->GetArray()) {
    const json::Value* type = json::find(c, "type");
    const json::Value* status = json::find(c, "status");
    if (!type || !type->IsString() || json::view(*type) != "Valid" || !status || !status->IsString()) continue;
    out.valid = json::view(*status) == "True";
    if (const json::Value* t = json::find(c, "lastTransitionTime"); t && t->IsString()) {
      if (auto w = base::parseTime(json::view(*t))) out.validSince = *w;
    }
    break;
  }
  return out;
}

}  // namespace

Result<BudgetPolicyObject> decodeBudgetPolicy(const json::Value& v, const BudgetPolicyContext& ctx,
                                              base::TimeZoneCache& zones) {
  if (!v.IsObject()) return json::invalid("", "a BudgetPolicy must be a JSON object");
  KUBE_TRY(const json::Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(ObjectMeta meta, decodeMeta(*md));
  if (meta.name.empty() || meta.namespace_.empty()) {
    return json::invalid("metadata", "a BudgetPolicy needs a name and a namespace");
  }
  BudgetPolicyObject out;
  out.meta = std::move(meta);
  out.status = decodeStatus(v);
  auto spec = json::reqObject(v, "spec", "");
  if (!spec) {
    out.specError = "spec: required";
  } else if (auto p = decodeSpec(**spec, zones); !p) {
    out.specError = p.error().message;
  } else {
    out.policy = std::move(*p);
  }
  out.policy.namespaceName = out.meta.namespace_;
  out.policy.name = out.meta.name;
  applyBudgetPolicyContext(out, ctx);
  return out;
}

void applyBudgetPolicyContext(BudgetPolicyObject& o, const BudgetPolicyContext& ctx) {
  o.policy.teamWide = o.meta.namespace_ == ctx.spotfitNamespace;
  o.invalid = o.specError;
  if (o.invalid.empty()) {
    if (auto s = placement::validatePolicy(o.policy, ctx.ledgerLabelKey); !s) o.invalid = s.error().message;
  }
}

const ResourceType kBudgetPolicies{"spotfit.io", "v1alpha1", "budgetpolicies", "BudgetPolicy", true};

Result<BudgetPolicyObject> decodeBudgetPolicyObject(const json::Value& v) {
  static std::mutex mu;
  static base::TimeZoneCache zones;
  std::lock_guard lock(mu);
  return decodeBudgetPolicy(v, BudgetPolicyContext{}, zones);
}

Result<BudgetPolicyObject> decodeBudgetPolicy(const json::Value& v, const BudgetPolicyContext& ctx) {
  base::TimeZoneCache zones(ctx.zoneinfoDir);
  return decodeBudgetPolicy(v, ctx, zones);
}

bool BudgetPolicySet::upsert(BudgetPolicyObject obj) {
  std::string key = obj.meta.key();
  auto it = objects_.find(key);
  if (it != objects_.end()) {
    it->second = std::move(obj);
    return true;
  }
  if (objects_.size() >= max_) {
    ++refused_;
    return false;
  }
  objects_.emplace(std::move(key), std::move(obj));
  return true;
}

void BudgetPolicySet::remove(const std::string& key) {
  objects_.erase(key);
}

const BudgetPolicyObject* BudgetPolicySet::find(const std::string& key) const {
  auto it = objects_.find(key);
  return it == objects_.end() ? nullptr : &it->second;
}

std::vector<const placement::BudgetPolicy*> BudgetPolicySet::enforced() const {
  std::vector<const placement::BudgetPolicy*> out;
  for (const auto& [key, o] : objects_) {
    if (o.valid()) out.push_back(&o.policy);
  }
  return out;
}

std::vector<const BudgetPolicyObject*> BudgetPolicySet::all() const {
  std::vector<const BudgetPolicyObject*> out;
  for (const auto& [key, o] : objects_) out.push_back(&o);
  return out;
}

}  // namespace spotfit::kube

#include "kube/objects.hpp"

#include <algorithm>

#include "base/vocabulary.hpp"
#include "placement/quantity.hpp"

namespace spotfit::kube {

using json::Value;

namespace {

bool hasNul(std::string_view s) {
  return s.find('\0') != std::string_view::npos;
}

// Reads a string → string object into a FlatMap, keeping keys for which keep(key) holds.
template <typename Keep>
Result<FlatMap> stringMap(const Value& obj, std::string_view key, std::string_view path, Keep keep) {
  KUBE_TRY(const Value* m, json::optObject(obj, key, path));
  if (m == nullptr) return FlatMap{};
  std::vector<std::pair<std::string_view, std::string_view>> entries;
  entries.reserve(m->MemberCount());
  for (const auto& member : m->GetObject()) {
    std::string_view k = json::view(member.name);
    if (!keep(k)) continue;
    if (member.value.IsNull()) continue;
    if (!member.value.IsString()) return json::invalid(json::joinPath(json::joinPath(path, key), k), "expected string");
    std::string_view val = json::view(member.value);
    if (hasNul(k) || hasNul(val))
      return json::invalid(json::joinPath(json::joinPath(path, key), k), "contains a NUL character");
    entries.emplace_back(k, val);
  }
  return FlatMap::from(std::move(entries));
}

Result<std::string> optStr(const Value& obj, std::string_view key, std::string_view path) {
  KUBE_TRY(auto s, json::optString(obj, key, path));
  return s ? std::string(*s) : std::string();
}

Result<std::optional<base::WallTime>> optTime(const Value& obj, std::string_view key, std::string_view path) {
  KUBE_TRY(auto s, json::optString(obj, key, path));
  if (!s || s->empty()) return std::optional<base::WallTime>{};
  auto t = base::parseTime(*s);
  if (!t.ok()) return json::invalid(json::joinPath(path, key), t.error().message);
  return std::optional<base::WallTime>{*t};
}

Result<std::vector<Condition>> conditions(const Value& status, std::string_view path) {
  std::vector<Condition> out;
  KUBE_TRY(const Value* arr, json::optArray(status, "conditions", path));
  if (arr == nullptr) return out;
  std::string p = json::joinPath(path, "conditions");
  for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
    const Value& c = (*arr)[i];
    std::string cp = json::indexPath(p, i);
    if (!c.IsObject()) return json::invalid(cp, "expected object");
    Condition cond;
    KUBE_TRY(auto type, json::reqString(c, "type", cp));
    cond.type = std::string(type);
    KUBE_TRY(cond.status, optStr(c, "status", cp));
    KUBE_TRY(cond.reason, optStr(c, "reason", cp));
    KUBE_TRY(cond.message, optStr(c, "message", cp));
    KUBE_TRY(cond.lastTransitionTime, optTime(c, "lastTransitionTime", cp));
    out.push_back(std::move(cond));
  }
  return out;
}

Result<std::vector<std::string>> stringList(const Value& obj, std::string_view key, std::string_view path) {
  std::vector<std::string> out;
  KUBE_TRY(const Value* arr, json::optArray(obj, key, path));
  if (arr == nullptr) return out;
  for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
    if (!(*arr)[i].IsString()) return json::invalid(json::indexPath(json::joinPath(path, key), i), "expected string");
    out.emplace_back(json::view((*arr)[i]));
  }
  return out;
}

Result<QuantityList> quantities(const Value& obj, std::string_view key, std::string_view path) {
  QuantityList out;
  KUBE_TRY(const Value* m, json::optObject(obj, key, path));
  if (m == nullptr) return out;
  for (const auto& member : m->GetObject()) {
    std::string_view name = json::view(member.name);
    std::string p = json::joinPath(json::joinPath(path, key), name);
    std::optional<int64_t> milli;
    placement::QuantityFormat format = placement::QuantityFormat::DecimalSI;
    if (member.value.IsString()) {
      auto q = placement::parseQuantity(json::view(member.value));
      if (!q.ok()) return json::invalid(p, q.error().message);
      milli = q->milli;
      format = q->format;
    } else if (member.value.IsInt64()) {
      // Quantities are strings on the wire, but a bare integer is valid JSON for one.
      int64_t v = member.value.GetInt64();
      if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000) return json::invalid(p, "quantity out of range");
      milli = v * 1000;
    } else {
      return json::invalid(p, "expected a quantity string");
    }
    out.push_back(NamedQuantity{std::string(name), *milli, format});
  }
  return out;
}

template <typename T>
Result<T> requireObject(const Value& v, std::string_view kind) {
  if (!v.IsObject()) return json::invalid(kind, "expected a JSON object");
  return T{};
}

}  // namespace

// ---------------------------------------------------------------------------------------------------
bool keptAnnotation(std::string_view key) {
  return key.starts_with(vocab::kPrefix) || key == "cluster-autoscaler.kubernetes.io/safe-to-evict" ||
         key == "karpenter.sh/do-not-disrupt" || key == "kubernetes.io/config.mirror" ||
         // pods that consume a ProvisioningRequest's booked capacity (scaler/provreq.hpp)
         key == "autoscaling.x-k8s.io/consume-provisioning-request" ||
         key == "cluster-autoscaler.kubernetes.io/consume-provisioning-request";
}

std::string ObjectMeta::key() const {
  if (namespace_.empty()) return name;
  std::string k;
  k.reserve(namespace_.size() + 1 + name.size());
  k += namespace_;
  k += '/';
  k += name;
  return k;
}

const OwnerReference* ObjectMeta::controllerRef() const {
  for (const auto& o : ownerReferences) {
    if (o.controller) return &o;
  }
  return nullptr;
}

Result<ObjectMeta> decodeMeta(const Value& md, std::string_view path) {
  if (!md.IsObject()) return json::invalid(path, "expected object");
  ObjectMeta m;
  KUBE_TRY(m.name, optStr(md, "name", path));
  KUBE_TRY(m.namespace_, optStr(md, "namespace", path));
  KUBE_TRY(m.uid, optStr(md, "uid", path));
  KUBE_TRY(m.resourceVersion, optStr(md, "resourceVersion", path));
  KUBE_TRY(auto gen, json::optInt(md, "generation", path));
  m.generation = gen.value_or(0);
  KUBE_TRY(m.labels, stringMap(md, "labels", path, [](std::string_view) { return true; }));
  KUBE_TRY(m.annotations, stringMap(md, "annotations", path, keptAnnotation));
  KUBE_TRY(m.creationTimestamp, optTime(md, "creationTimestamp", path));
  KUBE_TRY(m.deletionTimestamp, optTime(md, "deletionTimestamp", path));
  KUBE_TRY(const Value* owners, json::optArray(md, "ownerReferences", path));
  if (owners != nullptr) {
    std::string op = json::joinPath(path, "ownerReferences");
    m.ownerReferences.reserve(owners->Size());
    for (rapidjson::SizeType i = 0; i < owners->Size(); ++i) {
      const Value& o = (*owners)[i];
      std::string p = json::indexPath(op, i);
      if (!o.IsObject()) return json::invalid(p, "expected object");
      OwnerReference ref;
      KUBE_TRY(ref.apiVersion, optStr(o, "apiVersion", p));
      KUBE_TRY(auto kind, json::reqString(o, "kind", p));
      ref.kind = std::string(kind);
      KUBE_TRY(auto name, json::reqString(o, "name", p));
      ref.name = std::string(name);
      KUBE_TRY(ref.uid, optStr(o, "uid", p));
      KUBE_TRY(auto controller, json::optBool(o, "controller", p));
      ref.controller = controller.value_or(false);
      m.ownerReferences.push_back(std::move(ref));
    }
  }
  return m;
}

// ---------------------------------------------------------------------------------------------------
bool LabelSelector::matches(const FlatMap& labels) const {
  for (const auto& [k, v] : matchLabels) {
    auto got = labels.get(k);
    if (!got || *got != v) return false;
  }
  for (const auto& req : matchExpressions) {
    auto got = labels.get(req.key);
    bool in = got && std::find(req.values.begin(), req.values.end(), *got) != req.values.end();
    if (req.op == "In") {
      if (!in) return false;
    } else if (req.op == "NotIn") {
      if (in) return false;
    } else if (req.op == "Exists") {
      if (!got) return false;
    } else if (req.op == "DoesNotExist") {
      if (got) return false;
    } else {
      return false;  // unknown operators select nothing, as the apiserver would reject them anyway
    }
  }
  return true;
}

Result<LabelSelector> decodeLabelSelector(const Value& v, std::string_view path) {
  if (!v.IsObject()) return json::invalid(path, "expected object");
  LabelSelector sel;
  KUBE_TRY(const Value* ml, json::optObject(v, "matchLabels", path));
  if (ml != nullptr) {
    for (const auto& m : ml->GetObject()) {
      if (!m.value.IsString())
        return json::invalid(json::joinPath(json::joinPath(path, "matchLabels"), json::view(m.name)),
                             "expected string");
      sel.matchLabels.emplace_back(json::view(m.name), json::view(m.value));
    }
  }
  KUBE_TRY(const Value* me, json::optArray(v, "matchExpressions", path));
  if (me != nullptr) {
    std::string ep = json::joinPath(path, "matchExpressions");
    for (rapidjson::SizeType i = 0; i < me->Size(); ++i) {
      const Value& e = (*me)[i];
      std::string p = json::indexPath(ep, i);
      if (!e.IsObject()) return json::invalid(p, "expected object");
      LabelSelectorRequirement req;
      KUBE_TRY(auto key, json::reqString(e, "key", p));
      req.key = std::string(key);
      KUBE_TRY(auto op, json::reqString(e, "operator", p));
      req.op = std::string(op);
      if (req.op != "In" && req.op != "NotIn" && req.op != "Exists" && req.op != "DoesNotExist") {
        return json::invalid(json::joinPath(p, "operator"), "unknown operator \"" + req.op + "\"");
      }
      KUBE_TRY(req.values, stringList(e, "values", p));
      sel.matchExpressions.push_back(std::move(req));
    }
  }
  return sel;
}

// ---------------------------------------------------------------------------------------------------
std::string_view toString(PodPhase p) {
  switch (p) {
    case PodPhase::Pending:
      return "Pending";
    case PodPhase::Running:
      return "Running";
    case PodPhase::Succeeded:
      return "Succeeded";
    case PodPhase::Failed:
      return "Failed";
    case PodPhase::Unknown:
      break;
  }
  return "Unknown";
}

PodPhase parsePodPhase(std::string_view t) {
  if (t == "Pending") return PodPhase::Pending;
  if (t == "Running") return PodPhase::Running;
  if (t == "Succeeded") return PodPhase::Succeeded;
  if (t == "Failed") return PodPhase::Failed;
  return PodPhase::Unknown;
}

bool Pod::ownedByDaemonSet() const {
  const OwnerReference* c = meta.controllerRef();
  return c != nullptr && c->kind == "DaemonSet";
}

// ---------------------------------------------------------------------------------------------------
Result<Job> decodeJob(const Value& v) {
  if (!v.IsObject()) return json::invalid("Job", "expected a JSON object");
  Job j;
  KUBE_TRY(const Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(j.meta, decodeMeta(*md));
  KUBE_TRY(const Value* spec, json::optObject(v, "spec", ""));
  if (spec != nullptr) {
    KUBE_TRY(j.parallelism, json::optInt(*spec, "parallelism", "spec"));
    KUBE_TRY(j.completions, json::optInt(*spec, "completions", "spec"));
    KUBE_TRY(auto suspend, json::optBool(*spec, "suspend", "spec"));
    j.suspend = suspend.value_or(false);
    KUBE_TRY(const Value* tmpl, json::optObject(*spec, "template", "spec"));
    if (tmpl != nullptr) {
      KUBE_TRY(const Value* tmd, json::optObject(*tmpl, "metadata", "spec.template"));
      if (tmd != nullptr) {
        KUBE_TRY(j.templateLabels,
                 stringMap(*tmd, "labels", "spec.template.metadata", [](std::string_view) { return true; }));
        KUBE_TRY(j.templateAnnotations, stringMap(*tmd, "annotations", "spec.template.metadata", keptAnnotation));
      }
    }
  }
  KUBE_TRY(const Value* status, json::optObject(v, "status", ""));
  if (status != nullptr) {
    KUBE_TRY(auto active, json::optInt(*status, "active", "status"));
    KUBE_TRY(auto succeeded, json::optInt(*status, "succeeded", "status"));
    KUBE_TRY(auto failed, json::optInt(*status, "failed", "status"));
    j.active = active.value_or(0);
    j.succeeded = succeeded.value_or(0);
    j.failed = failed.value_or(0);
    KUBE_TRY(j.startTime, optTime(*status, "startTime", "status"));
    KUBE_TRY(j.completionTime, optTime(*status, "completionTime", "status"));
    KUBE_TRY(auto conds, conditions(*status, "status"));
    for (const auto& c : conds) {
      if (c.type == "Complete" && c.status == "True") j.complete = true;
      if (c.type == "Failed" && c.status == "True") j.failedCondition = true;
    }
  }
  return j;
}

// ---------------------------------------------------------------------------------------------------
Result<Namespace> decodeNamespace(const Value& v) {
  if (!v.IsObject()) return json::invalid("Namespace", "expected a JSON object");
  Namespace ns;
  KUBE_TRY(const Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(ns.meta, decodeMeta(*md));
  KUBE_TRY(const Value* status, json::optObject(v, "status", ""));
  if (status != nullptr) {
    KUBE_TRY(auto phase, json::optString(*status, "phase", "status"));
    ns.terminating = phase && *phase == "Terminating";
  }
  return ns;
}

// ---------------------------------------------------------------------------------------------------
bool PodDisruptionBudget::selects(const Pod& pod) const {
  if (!selector || pod.meta.namespace_ != meta.namespace_) return false;
  return selector->matches(pod.meta.labels);
}

Result<PodDisruptionBudget> decodePodDisruptionBudget(const Value& v) {
  if (!v.IsObject()) return json::invalid("PodDisruptionBudget", "expected a JSON object");
  PodDisruptionBudget p;
  KUBE_TRY(const Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(p.meta, decodeMeta(*md));
  KUBE_TRY(const Value* spec, json::optObject(v, "spec", ""));
  if (spec != nullptr) {
    if (const Value* m = json::find(*spec, "minAvailable")) {
      KUBE_TRY(auto ios, json::intOrString(*m, "spec.minAvailable"));
      p.minAvailable = ios;
    }
    if (const Value* m = json::find(*spec, "maxUnavailable")) {
      KUBE_TRY(auto ios, json::intOrString(*m, "spec.maxUnavailable"));
      p.maxUnavailable = ios;
    }
    if (const Value* s = json::find(*spec, "selector")) {
      KUBE_TRY(auto sel, decodeLabelSelector(*s, "spec.selector"));
      p.selector = std::move(sel);
    }
  }
  KUBE_TRY(const Value* status, json::optObject(v, "status", ""));
  if (status != nullptr) {
    KUBE_TRY(auto a, json::optInt(*status, "disruptionsAllowed", "status"));
    KUBE_TRY(auto ch, json::optInt(*status, "currentHealthy", "status"));
    KUBE_TRY(auto dh, json::optInt(*status, "desiredHealthy", "status"));
    KUBE_TRY(auto ep, json::optInt(*status, "expectedPods", "status"));
    KUBE_TRY(auto og, json::optInt(*status, "observedGeneration", "status"));
    p.disruptionsAllowed = a.value_or(0);
    p.currentHealthy = ch.value_or(0);
    p.desiredHealthy = dh.value_or(0);
    p.expectedPods = ep.value_or(0);
    p.observedGeneration = og.value_or(0);
  }
  return p;
}

// ---------------------------------------------------------------------------------------------------
std::optional<int64_t> milliOf(const QuantityList& list, std::string_view resource) {
  for (const auto& q : list) {
    if (q.resource == resource) return q.milli;
  }
  return std::nullopt;
}

const ContainerRecommendation* VerticalPodAutoscaler::recommendationFor(std::string_view container) const {
  for (const auto& r : recommendations) {
    if (r.containerName == container) return &r;
  }
  return nullptr;
}

const ContainerResourcePolicy* VerticalPodAutoscaler::policyFor(std::string_view container) const {
  const ContainerResourcePolicy* star = nullptr;
  for (const auto& p : containerPolicies) {
    if (p.containerName == container) return &p;
    if (p.containerName == "*") star = &p;
  }
  return star;
}

Result<VerticalPodAutoscaler> decodeVerticalPodAutoscaler(const Value& v) {
  if (!v.IsObject()) return json::invalid("VerticalPodAutoscaler", "expected a JSON object");
  VerticalPodAutoscaler vpa;
  KUBE_TRY(const Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(vpa.meta, decodeMeta(*md));
  KUBE_TRY(const Value* spec, json::optObject(v, "spec", ""));
  if (spec != nullptr) {
    KUBE_TRY(const Value* tr, json::optObject(*spec, "targetRef", "spec"));
    if (tr != nullptr) {
      CrossVersionObjectReference ref;
      KUBE_TRY(ref.apiVersion, optStr(*tr, "apiVersion", "spec.targetRef"));
      KUBE_TRY(auto kind, json::reqString(*tr, "kind", "spec.targetRef"));
      KUBE_TRY(auto name, json::reqString(*tr, "name", "spec.targetRef"));
      ref.kind = std::string(kind);
      ref.name = std::string(name);
      vpa.targetRef = std::move(ref);
    }
    KUBE_TRY(const Value* up, json::optObject(*spec, "updatePolicy", "spec"));
    if (up != nullptr) {
      KUBE_TRY(auto mode, json::optString(*up, "updateMode", "spec.updatePolicy"));
      if (mode) {
        static constexpr std::string_view kModes[] = {"Off", "Initial", "Recreate", "Auto", "InPlaceOrRecreate"};
        if (std::find(std::begin(kModes), std::end(kModes), *mode) == std::end(kModes)) {
          return json::invalid("spec.updatePolicy.updateMode", "unknown mode \"" + std::string(*mode) + "\"");
        }
        vpa.updateMode = std::string(*mode);
      }
    }
    KUBE_TRY(const Value* rp, json::optObject(*spec, "resourcePolicy", "spec"));
    if (rp != nullptr) {
      KUBE_TRY(const Value* cps, json::optArray(*rp, "containerPolicies", "spec.resourcePolicy"));
      if (cps != nullptr) {
        for (rapidjson::SizeType i = 0; i < cps->Size(); ++i) {
          const Value& c = (*cps)[i];
          std::string p = json::indexPath("spec.resourcePolicy.containerPolicies", i);
          if (!c.IsObject()) return json::invalid(p, "expected object");
          ContainerResourcePolicy pol;
          KUBE_TRY(auto name, json::optString(c, "containerName", p));
          pol.containerName = name ? std::string(*name) : std::string("*");
          KUBE_TRY(auto mode, json::optString(c, "mode", p));
          if (mode) {
            if (*mode != "Auto" && *mode != "Off")
              return json::invalid(json::joinPath(p, "mode"), "unknown mode \"" + std::string(*mode) + "\"");
            pol.mode = std::string(*mode);
          }
          KUBE_TRY(pol.minAllowed, quantities(c, "minAllowed", p));
          KUBE_TRY(pol.maxAllowed, quantities(c, "maxAllowed", p));
          KUBE_TRY(pol.controlledResources, stringList(c, "controlledResources", p));
          KUBE_TRY(auto cv, json::optString(c, "controlledValues", p));
          if (cv) {
            if (*cv != "RequestsAndLimits" && *cv != "RequestsOnly") {
              return json::invalid(json::joinPath(p, "controlledValues"), "unknown value \"" + std::string(*cv) + "\"");
            }
            pol.controlledValues = std::string(*cv);
          }
          vpa.containerPolicies.push_back(std::move(pol));
        }
      }
    }
  }
  KUBE_TRY(const Value* status, json::optObject(v, "status", ""));
  if (status != nullptr) {
    KUBE_TRY(const Value* rec, json::optObject(*status, "recommendation", "status"));
    if (rec != nullptr) {
      KUBE_TRY(const Value* crs, json::optArray(*rec, "containerRecommendations", "status.recommendation"));
      if (crs != nullptr) {
        for (rapidjson::SizeType i = 0; i < crs->Size(); ++i) {
          const Value& c = (*crs)[i];
          std::string p = json::indexPath("status.recommendation.containerRecommendations", i);
          if (!c.IsObject()) return json::invalid(p, "expected object");
          ContainerRecommendation r;
          KUBE_TRY(auto name, json::reqString(c, "containerName", p));
          r.containerName = std::string(name);
          KUBE_TRY(r.target, quantities(c, "target", p));
          KUBE_TRY(r.lowerBound, quantities(c, "lowerBound", p));
          KUBE_TRY(r.upperBound, quantities(c, "upperBound", p));
          KUBE_TRY(r.uncappedTarget, quantities(c, "uncappedTarget", p));
          vpa.recommendations.push_back(std::move(r));
        }
      }
    }
  }
  return vpa;
}

// ---------------------------------------------------------------------------------------------------
bool NodeClaim::disruptedByKarpenter() const {
  return std::any_of(conditions.begin(), conditions.end(),
                     [](const Condition& c) { return c.type == "DisruptionReason" && c.status == "True"; });
}

Result<NodeClaim> decodeNodeClaim(const Value& v) {
  if (!v.IsObject()) return json::invalid("NodeClaim", "expected a JSON object");
  NodeClaim c;
  KUBE_TRY(const Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(c.meta, decodeMeta(*md));
  KUBE_TRY(const Value* spec, json::optObject(v, "spec", ""));
  if (spec != nullptr) {
    KUBE_TRY(c.expireAfter, optStr(*spec, "expireAfter", "spec"));
  }
  KUBE_TRY(const Value* status, json::optObject(v, "status", ""));
  if (status != nullptr) {
    KUBE_TRY(c.nodeName, optStr(*status, "nodeName", "status"));
    KUBE_TRY(c.conditions, conditions(*status, "status"));
  }
  return c;
}

// ---------------------------------------------------------------------------------------------------
Result<Lease> decodeLease(const Value& v) {
  if (!v.IsObject()) return json::invalid("Lease", "expected a JSON object");
  Lease l;
  KUBE_TRY(const Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(l.meta, decodeMeta(*md));
  KUBE_TRY(const Value* spec, json::optObject(v, "spec", ""));
  if (spec != nullptr) {
    KUBE_TRY(l.holderIdentity, optStr(*spec, "holderIdentity", "spec"));
    KUBE_TRY(l.leaseDurationSeconds, json::optInt(*spec, "leaseDurationSeconds", "spec"));
    KUBE_TRY(l.acquireTime, optTime(*spec, "acquireTime", "spec"));
    KUBE_TRY(l.renewTime, optTime(*spec, "renewTime", "spec"));
    KUBE_TRY(auto t, json::optInt(*spec, "leaseTransitions", "spec"));
    l.leaseTransitions = t.value_or(0);
  }
  return l;
}

std::string encodeLease(const Lease& l) {
  std::string out = R"({"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":)";
  json::appendQuoted(out, l.meta.name);
  if (!l.meta.namespace_.empty()) {
    out += R"(,"namespace":)";
    json::appendQuoted(out, l.meta.namespace_);
  }
  if (!l.meta.resourceVersion.empty()) {
    out += R"(,"resourceVersion":)";
    json::appendQuoted(out, l.meta.resourceVersion);
  }
  out += R"(},"spec":{"holderIdentity":)";
  json::appendQuoted(out, l.holderIdentity);
  if (l.leaseDurationSeconds) out += ",\"leaseDurationSeconds\":" + std::to_string(*l.leaseDurationSeconds);
  if (l.acquireTime) out += ",\"acquireTime\":" + json::quoted(base::formatMicroTime(*l.acquireTime));
  if (l.renewTime) out += ",\"renewTime\":" + json::quoted(base::formatMicroTime(*l.renewTime));
  out += ",\"leaseTransitions\":" + std::to_string(l.leaseTransitions);
  out += "}}";
  return out;
}

}  // namespace spotfit::kube

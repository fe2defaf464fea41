// Pod and Node decoding into the placement core's model.
#include <algorithm>

#include "base/vocabulary.hpp"
#include "kube/intern.hpp"
#include "kube/objects.hpp"
#include "placement/capacity_preset.hpp"

namespace spotfit::kube {

using json::Value;

namespace {

// A ResourceList ({"cpu": "500m"}) into placement::Resources; `roundedUpBy`, when given, gets what
// rounding each quantity up to a whole millicore or unit added (placement::Container::requestsRoundedUpBy)
// and `names` the resources listed.
Result<placement::Resources> resourceList(const Value& obj, std::string_view key, std::string_view path,
                                          placement::Resources* roundedUpBy = nullptr,
                                          std::vector<std::string>* names = nullptr) {
  KUBE_TRY(const Value* m, json::optObject(obj, key, path));
  if (m == nullptr) return placement::Resources{};
  std::map<std::string, std::string> list;
  for (const auto& member : m->GetObject()) {
    std::string name(json::view(member.name));
    if (member.value.IsString()) {
      list.emplace(name, std::string(json::view(member.value)));
    } else if (member.value.IsInt64()) {
      list.emplace(name, std::to_string(member.value.GetInt64()));
    } else {
      return json::invalid(json::joinPath(json::joinPath(path, key), name), "expected a quantity string");
    }
  }
  auto r = placement::Resources::fromMap(list);
  if (!r.ok()) return json::invalid(json::joinPath(path, key), r.error().message);
  if (roundedUpBy != nullptr) {
    auto rounding = placement::Resources::roundingFromMap(list);
    if (!rounding.ok()) return json::invalid(json::joinPath(path, key), rounding.error().message);
    *roundedUpBy = std::move(rounding).value();
  }
  if (names != nullptr) {
    for (const auto& [name, text] : list) names->push_back(name);
  }
  // Far above any real machine (10^12 cores, a petabyte), low enough that summing a pod's containers
  // (at most kMaxContainers) can never overflow int64 in the placement arithmetic.
  constexpr int64_t kMaxAmount = 1'000'000'000'000'000;
  const placement::Resources& res = *r;
  bool tooLarge = res.cpuMilli > kMaxAmount || res.memory > kMaxAmount || res.ephemeralStorage > kMaxAmount ||
                  res.pods > kMaxAmount;
  for (const auto& [name, amount] : res.extended) tooLarge = tooLarge || amount > kMaxAmount;
  if (tooLarge) return json::invalid(json::joinPath(path, key), "quantity too large");
  return std::move(r).value();
}

Result<placement::Labels> labelMap(const Value& obj, std::string_view key, std::string_view path) {
  placement::Labels out;
  KUBE_TRY(const Value* m, json::optObject(obj, key, path));
  if (m == nullptr) return out;
  for (const auto& member : m->GetObject()) {
    if (member.value.IsNull()) continue;
    if (!member.value.IsString())
      return json::invalid(json::joinPath(json::joinPath(path, key), json::view(member.name)), "expected string");
    out.emplace(std::string(json::view(member.name)), std::string(json::view(member.value)));
  }
  return out;
}

Result<std::vector<placement::Container>> containers(const Value& spec, std::string_view key, bool init) {
  std::vector<placement::Container> out;
  KUBE_TRY(const Value* arr, json::optArray(spec, key, "spec"));
  if (arr == nullptr) return out;
  std::string base = json::joinPath("spec", key);
  constexpr rapidjson::SizeType kMaxContainers = 1000;
  if (arr->Size() > kMaxContainers) return json::invalid(base, "more than 1000 containers");
  out.reserve(arr->Size());
  for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
    const Value& c = (*arr)[i];
    std::string p = json::indexPath(base, i);
    if (!c.IsObject()) return json::invalid(p, "expected object");
    placement::Container ct;
    KUBE_TRY(auto name, json::optString(c, "name", p));
    if (name) ct.name = std::string(*name);
    KUBE_TRY(const Value* res, json::optObject(c, "resources", p));
    if (res != nullptr) {
      std::string rp = json::joinPath(p, "resources");
      KUBE_TRY(ct.requests, resourceList(*res, "requests", rp, &ct.requestsRoundedUpBy));
      KUBE_TRY(ct.limits, resourceList(*res, "limits", rp, &ct.limitsRoundedUpBy));
    }
    if (init) {
      KUBE_TRY(auto rpol, json::optString(c, "restartPolicy", p));
      ct.restartAlways = rpol && *rpol == "Always";
    }
    out.push_back(std::move(ct));
  }
  return out;
}

Result<std::vector<placement::NodeSelectorRequirement>> requirements(const Value& term, std::string_view key,
                                                                     std::string_view path) {
  std::vector<placement::NodeSelectorRequirement> out;
  KUBE_TRY(const Value* arr, json::optArray(term, key, path));
  if (arr == nullptr) return out;
  for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
    const Value& e = (*arr)[i];
    std::string p = json::indexPath(json::joinPath(path, key), i);
    if (!e.IsObject()) return json::invalid(p, "expected object");
    placement::NodeSelectorRequirement req;
    KUBE_TRY(auto k, json::reqString(e, "key", p));
    req.key = std::string(k);
    KUBE_TRY(auto op, json::reqString(e, "operator", p));
    auto parsed = placement::parseSelectorOperator(op);
    if (!parsed) return json::invalid(json::joinPath(p, "operator"), "unknown operator \"" + std::string(op) + "\"");
    req.op = *parsed;
    KUBE_TRY(const Value* vals, json::optArray(e, "values", p));
    if (vals != nullptr) {
      for (rapidjson::SizeType j = 0; j < vals->Size(); ++j) {
        if (!(*vals)[j].IsString())
          return json::invalid(json::indexPath(json::joinPath(p, "values"), j), "expected string");
        req.values.emplace_back(json::view((*vals)[j]));
      }
    }
    out.push_back(std::move(req));
  }
  return out;
}

Result<placement::NodeSelectorTerm> selectorTerm(const Value& t, std::string_view path) {
  if (!t.IsObject()) return json::invalid(path, "expected object");
  placement::NodeSelectorTerm term;
  KUBE_TRY(term.matchExpressions, requirements(t, "matchExpressions", path));
  KUBE_TRY(term.matchFields, requirements(t, "matchFields", path));
  return term;
}

Status decodeAffinity(const Value& spec, PodSchedulingSpec& out) {
  KUBE_TRY(const Value* aff, json::optObject(spec, "affinity", "spec"));
  if (aff == nullptr) return {};
  KUBE_TRY(const Value* na, json::optObject(*aff, "nodeAffinity", "spec.affinity"));
  if (na != nullptr) {
    const std::string np = "spec.affinity.nodeAffinity";
    KUBE_TRY(const Value* req, json::optObject(*na, "requiredDuringSchedulingIgnoredDuringExecution", np));
    if (req != nullptr) {
      std::string rp = json::joinPath(np, "requiredDuringSchedulingIgnoredDuringExecution");
      KUBE_TRY(const Value* terms, json::optArray(*req, "nodeSelectorTerms", rp));
      if (terms != nullptr) {
        for (rapidjson::SizeType i = 0; i < terms->Size(); ++i) {
          KUBE_TRY(auto term, selectorTerm((*terms)[i], json::indexPath(json::joinPath(rp, "nodeSelectorTerms"), i)));
          out.requiredNodeAffinity.push_back(std::move(term));
        }
      }
    }
    KUBE_TRY(const Value* pref, json::optArray(*na, "preferredDuringSchedulingIgnoredDuringExecution", np));
    if (pref != nullptr) {
      int64_t bestWeight = -1;
      std::string pp = json::joinPath(np, "preferredDuringSchedulingIgnoredDuringExecution");
      for (rapidjson::SizeType i = 0; i < pref->Size(); ++i) {
        const Value& p = (*pref)[i];
        std::string ip = json::indexPath(pp, i);
        if (!p.IsObject()) return json::invalid(ip, "expected object");
        KUBE_TRY(auto weight, json::optInt(p, "weight", ip));
        KUBE_TRY(const Value* prefTerm, json::optObject(p, "preference", ip));
        if (prefTerm == nullptr) continue;
        KUBE_TRY(auto term, selectorTerm(*prefTerm, json::joinPath(ip, "preference")));
        // The capacity type a preferred term asks for (In with one value) is a scoring hint.
        for (const auto& r : term.matchExpressions) {
          if (r.op != placement::SelectorOperator::In || r.values.size() != 1) continue;
          // Any preset's label: karpenter.sh/capacity-type=spot, cloud.google.com/gke-spot=true, ...
          auto ct = placement::capacityTypeOfLabel(r.key, r.values[0]);
          if (ct && weight.value_or(0) > bestWeight) {
            bestWeight = weight.value_or(0);
            out.preferredCapacityType = ct;
          }
        }
      }
    }
  }
  auto hasTerms = [](const Value& obj) {
    if (!obj.IsObject()) return false;
    for (const auto& m : obj.GetObject()) {
      if (m.value.IsArray() && !m.value.Empty()) return true;
    }
    return false;
  };
  if (const Value* pa = json::find(*aff, "podAffinity")) out.hasPodAffinity = hasTerms(*pa);
  if (const Value* paa = json::find(*aff, "podAntiAffinity")) out.hasPodAntiAffinity = hasTerms(*paa);
  return {};
}

Result<std::vector<placement::Toleration>> tolerations(const Value& spec) {
  std::vector<placement::Toleration> out;
  KUBE_TRY(const Value* arr, json::optArray(spec, "tolerations", "spec"));
  if (arr == nullptr) return out;
  for (rapidjson::SizeType i = 0; i < arr->Size(); ++i) {
    const Value& t = (*arr)[i];
    std::string p = json::indexPath("spec.tolerations", i);
    if (!t.IsObject()) return json::invalid(p, "expected object");
    placement::Toleration tol;
    KUBE_TRY(auto key, json::optString(t, "key", p));
    if (key) tol.key = std::string(*key);
    KUBE_TRY(auto op, json::optString(t, "operator", p));
    if (!op || op->empty() || *op == "Equal") {
      tol.op = placement::TolerationOperator::Equal;
    } else if (*op == "Exists") {
      tol.op = placement::TolerationOperator::Exists;
    } else {
      return json::invalid(json::joinPath(p, "operator"), "unknown operator \"" + std::string(*op) + "\"");
    }
    KUBE_TRY(auto value, json::optString(t, "value", p));
    if (value) tol.value = std::string(*value);
    KUBE_TRY(auto effect, json::optString(t, "effect", p));
    if (effect && !effect->empty()) {
      auto e = placement::parseTaintEffect(*effect);
      if (!e) return json::invalid(json::joinPath(p, "effect"), "unknown effect \"" + std::string(*effect) + "\"");
      tol.effect = e;
    }
    KUBE_TRY(tol.tolerationSeconds, json::optInt(t, "tolerationSeconds", p));
    out.push_back(std::move(tol));
  }
  return out;
}

// spec.resources (pod-level resources): the requests kube-scheduler uses instead of the containers' for
// cpu, memory and hugepages-*. API defaulting (pkg/apis/core/v1 defaultPodRequests) gives a pod-level
// limit without a request a request: the containers' aggregate when they request that resource (the
// aggregate is what counts anyway, so nothing is recorded), else the limit.
Status decodePodLevelRequests(const Value& spec, PodSchedulingSpec& s) {
  KUBE_TRY(const Value* res, json::optObject(spec, "resources", "spec"));
  if (res == nullptr) return {};
  placement::PodLevelRequests& pl = s.podLevel;
  std::vector<std::string> requestNames, limitNames;
  KUBE_TRY(pl.amounts, resourceList(*res, "requests", "spec.resources", &pl.roundedUpBy, &requestNames));
  placement::Resources limitsRoundedUpBy;
  KUBE_TRY(auto limits, resourceList(*res, "limits", "spec.resources", &limitsRoundedUpBy, &limitNames));
  auto containersRequest = [&](std::string_view name) {
    for (const auto* list : {&s.containers, &s.initContainers}) {
      for (const auto& c : *list) {
        if (c.requests.get(name) != 0 || c.limits.get(name) != 0) return true;
      }
    }
    return false;
  };
  for (const std::string& name : limitNames) {
    if (!placement::isPodLevelResource(name)) continue;
    if (std::find(requestNames.begin(), requestNames.end(), name) != requestNames.end()) continue;
    // hugepages cannot be overcommitted: their pod-level request is always the limit.
    if (!name.starts_with("hugepages-") && containersRequest(name)) continue;
    requestNames.push_back(name);
    pl.amounts.set(name, limits.get(name));
    pl.roundedUpBy.set(name, limitsRoundedUpBy.get(name));
  }
  for (const std::string& name : requestNames) {
    if (placement::isPodLevelResource(name)) pl.names.push_back(name);
  }
  std::sort(pl.names.begin(), pl.names.end());
  // Only the pod-level resources count; drop anything else the list carried.
  placement::Resources kept, keptRounding;
  for (const std::string& name : pl.names) {
    kept.set(name, pl.amounts.get(name));
    keptRounding.set(name, pl.roundedUpBy.get(name));
  }
  pl.amounts = std::move(kept);
  pl.roundedUpBy = std::move(keptRounding);
  return {};
}

struct SpecHash {
  size_t operator()(const PodSchedulingSpec& s) const {
    size_t h = 1469598103934665603ULL;
    auto mix = [&h](size_t v) { h = (h ^ v) * 1099511628211ULL; };
    std::hash<std::string> hs;
    for (const auto& c : s.containers) {
      mix(hs(c.name));
      mix(static_cast<size_t>(c.requests.cpuMilli));
      mix(static_cast<size_t>(c.requests.memory));
    }
    mix(s.initContainers.size());
    mix(s.podLevel.names.size());
    mix(static_cast<size_t>(s.podLevel.amounts.cpuMilli));
    mix(static_cast<size_t>(s.podLevel.amounts.memory));
    mix(s.tolerations.size());
    for (const auto& [k, v] : s.nodeSelector) mix(hs(k) ^ hs(v));
    mix(s.requiredNodeAffinity.size());
    mix(static_cast<size_t>(s.priority));
    mix(hs(s.schedulerName));
    return h;
  }
};

Result<std::shared_ptr<const PodSchedulingSpec>> decodeSpec(const Value& v) {
  PodSchedulingSpec s;
  KUBE_TRY(const Value* spec, json::optObject(v, "spec", ""));
  if (spec != nullptr) {
    KUBE_TRY(s.containers, containers(*spec, "containers", false));
    KUBE_TRY(s.initContainers, containers(*spec, "initContainers", true));
    KUBE_TRY(s.overhead, resourceList(*spec, "overhead", "spec", &s.overheadRoundedUpBy));
    if (auto st = decodePodLevelRequests(*spec, s); !st.ok()) return st.error();
    KUBE_TRY(s.nodeSelector, labelMap(*spec, "nodeSelector", "spec"));
    if (auto st = decodeAffinity(*spec, s); !st.ok()) return st.error();
    KUBE_TRY(s.tolerations, tolerations(*spec));
    KUBE_TRY(const Value* tsc, json::optArray(*spec, "topologySpreadConstraints", "spec"));
    s.hasTopologySpread = tsc != nullptr && !tsc->Empty();
    KUBE_TRY(const Value* vols, json::optArray(*spec, "volumes", "spec"));
    if (vols != nullptr) {
      for (rapidjson::SizeType i = 0; i < vols->Size(); ++i) {
        const Value& vol = (*vols)[i];
        if (!vol.IsObject()) return json::invalid(json::indexPath("spec.volumes", i), "expected object");
        if (json::find(vol, "hostPath") != nullptr) s.hasLocalStorage = true;
        if (const Value* ed = json::find(vol, "emptyDir")) {
          const Value* medium = json::find(*ed, "medium");
          if (medium == nullptr || !medium->IsString() || json::view(*medium) != "Memory") s.hasLocalStorage = true;
        }
      }
    }
    KUBE_TRY(auto sched, json::optString(*spec, "schedulerName", "spec"));
    if (sched) s.schedulerName = std::string(*sched);
    KUBE_TRY(auto prio, json::optInt(*spec, "priority", "spec"));
    if (prio) {
      if (*prio > INT32_MAX || *prio < INT32_MIN) return json::invalid("spec.priority", "out of int32 range");
      s.priority = static_cast<int32_t>(*prio);
    }
    KUBE_TRY(s.terminationGracePeriodSeconds, json::optInt(*spec, "terminationGracePeriodSeconds", "spec"));
  }
  placement::PodInfo probe;
  probe.containers = s.containers;
  probe.initContainers = s.initContainers;
  probe.overhead = s.overhead;
  probe.overheadRoundedUpBy = s.overheadRoundedUpBy;
  probe.podLevel = s.podLevel;
  s.requests = placement::podRequests(probe);
  return Interner<PodSchedulingSpec, SpecHash>::global().intern(std::move(s));
}

// Calls visit(condition, path) for each entry of status.conditions whose type is `type` (every entry must
// be an object; a later entry of the same type wins).
template <typename Visit>
Status forEachCondition(const Value& status, std::string_view type, Visit&& visit) {
  KUBE_TRY(const Value* conds, json::optArray(status, "conditions", "status"));
  if (conds == nullptr) return {};
  for (rapidjson::SizeType i = 0; i < conds->Size(); ++i) {
    const Value& c = (*conds)[i];
    std::string p = json::indexPath("status.conditions", i);
    if (!c.IsObject()) return json::invalid(p, "expected object");
    KUBE_TRY(auto t, json::optString(c, "type", p));
    if (!t || *t != type) continue;
    if (Status st = visit(c, p); !st) return st;
  }
  return {};
}

// A condition's status "True"/"False" into `out`; "Unknown" or absent leaves it as it was.
Status readConditionStatus(const Value& c, const std::string& p, std::optional<bool>& out) {
  KUBE_TRY(auto st, json::optString(c, "status", p));
  if (st && *st == "True") out = true;
  if (st && *st == "False") out = false;
  return {};
}

std::optional<base::WallTime> timeAt(const Value& obj, std::string_view key) {
  const Value* v = json::find(obj, key);
  if (v == nullptr || !v->IsString()) return std::nullopt;
  auto t = base::parseTime(std::string_view(v->GetString(), v->GetStringLength()));
  if (!t.ok()) return std::nullopt;
  return *t;
}

bool oomKilledIn(const Value& state) {
  const Value* term = json::find(state, "terminated");
  if (term == nullptr || !term->IsObject()) return false;
  const Value* reason = json::find(*term, "reason");
  return reason != nullptr && reason->IsString() && std::string_view(reason->GetString()) == "OOMKilled";
}

// status.startTime and the containers' terminations (Pod::startTime, finishedAt, oomKilled). Lenient:
// a malformed time or state is skipped, it does not make the pod undecodable (scheduling does not need it).
constexpr size_t kMaxContainerStatuses = 64;
Status decodeTerminations(const Value& status, Pod& pod) {
  pod.startTime = timeAt(status, "startTime");
  const Value* statuses = json::find(status, "containerStatuses");
  if (statuses == nullptr || !statuses->IsArray()) return {};
  for (rapidjson::SizeType i = 0; i < statuses->Size() && i < kMaxContainerStatuses; ++i) {
    const Value& cs = (*statuses)[i];
    if (!cs.IsObject()) continue;
    const Value* name = json::find(cs, "name");
    if (name == nullptr || !name->IsString()) continue;
    bool oom = false;
    if (const Value* state = json::find(cs, "state"); state != nullptr && state->IsObject()) {
      oom = oomKilledIn(*state);
      if (const Value* term = json::find(*state, "terminated"); term != nullptr && term->IsObject()) {
        if (auto at = timeAt(*term, "finishedAt"); at && (!pod.finishedAt || *at > *pod.finishedAt))
          pod.finishedAt = at;
      }
    }
    if (const Value* last = json::find(cs, "lastState"); !oom && last != nullptr && last->IsObject()) {
      oom = oomKilledIn(*last);
    }
    if (oom) pod.oomKilled.emplace_back(name->GetString(), name->GetStringLength());
  }
  return {};
}

}  // namespace

bool Pod::doNotDisrupt() const {
  const auto& a = meta.annotations;
  return a.getOr(placement::kAnnotationDoNotDisrupt, "") == "true" ||
         a.getOr("karpenter.sh/do-not-disrupt", "") == "true" ||
         a.getOr("cluster-autoscaler.kubernetes.io/safe-to-evict", "") == "false";
}

Result<Pod> decodePod(const Value& v) {
  if (!v.IsObject()) return json::invalid("Pod", "expected a JSON object");
  Pod pod;
  KUBE_TRY(const Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(pod.meta, decodeMeta(*md));
  KUBE_TRY(pod.spec, decodeSpec(v));
  if (const Value* spec = json::find(v, "spec")) {
    KUBE_TRY(auto node, json::optString(*spec, "nodeName", "spec"));
    if (node) pod.nodeName = std::string(*node);
  }
  KUBE_TRY(const Value* status, json::optObject(v, "status", ""));
  if (status != nullptr) {
    KUBE_TRY(auto phase, json::optString(*status, "phase", "status"));
    pod.phase = phase ? parsePodPhase(*phase) : PodPhase::Unknown;
    Status conds = forEachCondition(*status, "PodScheduled", [&](const Value& c, const std::string& p) -> Status {
      if (Status st = readConditionStatus(c, p, pod.scheduled); !st) return st;
      KUBE_TRY(auto reason, json::optString(c, "reason", p));
      if (reason) pod.scheduledReason = std::string(*reason);
      if (pod.scheduled == false) {
        KUBE_TRY(auto msg, json::optString(c, "message", p));
        if (msg) pod.scheduledMessage = std::string(*msg);
      }
      return {};
    });
    if (!conds) return conds.error();
    if (Status st = decodeTerminations(*status, pod); !st) return st.error();
  } else {
    pod.phase = PodPhase::Pending;
  }
  pod.isMirror = pod.meta.annotations.contains("kubernetes.io/config.mirror");
  return pod;
}

placement::PodInfo Pod::toPodInfo() const {
  placement::PodInfo p;
  p.namespace_ = meta.namespace_;
  p.name = meta.name;
  p.uid = meta.uid;
  for (auto [k, v] : meta.labels) p.labels.emplace(std::string(k), std::string(v));
  for (auto [k, v] : meta.annotations) p.annotations.emplace(std::string(k), std::string(v));
  if (const OwnerReference* c = meta.controllerRef()) {
    p.ownerKind = c->kind;
    p.ownerName = c->name;
    p.hasController = true;
  }
  if (auto wf = meta.annotations.get(vocab::kAnnotationWorkflow); wf && !wf->empty()) {
    p.workflow = std::string(*wf);
  } else if (p.hasController && p.ownerKind == "Job") {
    p.workflow = p.ownerName;
  }
  const PodSchedulingSpec& s = *spec;
  p.containers = s.containers;
  p.initContainers = s.initContainers;
  p.overhead = s.overhead;
  p.overheadRoundedUpBy = s.overheadRoundedUpBy;
  p.podLevel = s.podLevel;
  p.nodeSelector = s.nodeSelector;
  p.requiredNodeAffinity = s.requiredNodeAffinity;
  p.preferredCapacityType = s.preferredCapacityType;
  p.tolerations = s.tolerations;
  p.gpuProduct = std::string(meta.annotations.getOr(vocab::kAnnotationGpuProduct, ""));
  // An unparsable capacity-type annotation keeps the default: the webhook reports bad annotations at
  // admission, the cache must not drop the pod over one.
  if (auto ct = meta.annotations.get(vocab::kAnnotationCapacityType)) {
    if (auto pol = placement::parseCapacityPolicy(*ct)) p.capacityPolicy = *pol;
  }
  p.doNotDisrupt = doNotDisrupt();
  p.hasPodAffinity = s.hasPodAffinity;
  p.hasPodAntiAffinity = s.hasPodAntiAffinity;
  p.hasTopologySpread = s.hasTopologySpread;
  p.hasLocalStorage = s.hasLocalStorage;
  p.priority = s.priority;
  p.phase = phase;
  p.nodeName = nodeName;
  return p;
}

Result<placement::PodInfo> decodePodInfo(const Value& v) {
  auto pod = decodePod(v);
  if (!pod.ok()) return pod.error();
  return pod->toPodInfo();
}

// ---------------------------------------------------------------------------------------------------
Result<Node> decodeNode(const Value& v) {
  if (!v.IsObject()) return json::invalid("Node", "expected a JSON object");
  Node n;
  KUBE_TRY(const Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(n.meta, decodeMeta(*md));
  n.info.name = n.meta.name;
  for (auto [k, val] : n.meta.labels) n.info.labels.emplace(std::string(k), std::string(val));
  KUBE_TRY(const Value* spec, json::optObject(v, "spec", ""));
  if (spec != nullptr) {
    KUBE_TRY(auto unsched, json::optBool(*spec, "unschedulable", "spec"));
    n.info.unschedulable = unsched.value_or(false);
    KUBE_TRY(auto pid, json::optString(*spec, "providerID", "spec"));
    if (pid) n.providerID = std::string(*pid);
    KUBE_TRY(const Value* taints, json::optArray(*spec, "taints", "spec"));
    if (taints != nullptr) {
      for (rapidjson::SizeType i = 0; i < taints->Size(); ++i) {
        const Value& t = (*taints)[i];
        std::string p = json::indexPath("spec.taints", i);
        if (!t.IsObject()) return json::invalid(p, "expected object");
        placement::Taint taint;
        KUBE_TRY(auto key, json::reqString(t, "key", p));
        taint.key = std::string(key);
        KUBE_TRY(auto value, json::optString(t, "value", p));
        if (value) taint.value = std::string(*value);
        KUBE_TRY(auto effect, json::reqString(t, "effect", p));
        auto e = placement::parseTaintEffect(effect);
        if (!e) return json::invalid(json::joinPath(p, "effect"), "unknown effect \"" + std::string(effect) + "\"");
        taint.effect = *e;
        n.info.taints.push_back(std::move(taint));
      }
    }
  }
  KUBE_TRY(const Value* status, json::optObject(v, "status", ""));
  if (status != nullptr) {
    KUBE_TRY(n.info.allocatable, resourceList(*status, "allocatable", "status"));
    KUBE_TRY(n.capacity, resourceList(*status, "capacity", "status"));
    Status conds = forEachCondition(
        *status, "Ready", [&](const Value& c, const std::string& p) { return readConditionStatus(c, p, n.ready); });
    if (!conds) return conds.error();
  }
  placement::deriveFromLabels(n.info);
  return n;
}

}  // namespace spotfit::kube

#include "scaler/provreq.hpp"

#include <algorithm>
#include <sstream>

#include "base/json_escape.hpp"
#include "base/time.hpp"

namespace spotfit::scaler {

namespace json = kube::json;
using json::Value;

namespace {

constexpr size_t kMaxConditions = 16;
constexpr size_t kMaxDetails = 16;

const char* const kConditionOrder[] = {"Accepted", "Provisioned", "Failed", "BookingExpired", "CapacityRevoked"};

bool isTrue(const ProvReqCondition* c) {
  return c && c->status == "True";
}

std::vector<std::string> splitNodes(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string item;
  while (std::getline(in, item, ',')) {
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

}  // namespace

const ProvReqCondition* ProvisioningRequestObject::condition(const std::string& type) const {
  for (const auto& c : conditions) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

Result<ProvisioningRequestObject> decodeProvisioningRequest(const Value& v) {
  if (!v.IsObject()) return json::invalid("ProvisioningRequest", "expected a JSON object");
  ProvisioningRequestObject out;
  KUBE_TRY(const Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(out.meta, kube::decodeMeta(*md));
  KUBE_TRY(const Value* spec, json::reqObject(v, "spec", ""));
  KUBE_TRY(auto cls, json::reqString(*spec, "provisioningClassName", "spec"));
  out.className = std::string(cls);
  KUBE_TRY(const Value* sets, json::optArray(*spec, "podSets", "spec"));
  if (sets) {
    if (sets->Size() > kMaxProvReqPodSets)
      return json::invalid("spec.podSets", "more than " + std::to_string(kMaxProvReqPodSets) + " pod sets");
    int64_t total = 0;
    for (rapidjson::SizeType i = 0; i < sets->Size(); ++i) {
      const std::string p = json::indexPath("spec.podSets", i);
      const Value& s = (*sets)[i];
      if (!s.IsObject()) return json::invalid(p, "expected object");
      KUBE_TRY(const Value* ref, json::reqObject(s, "podTemplateRef", p));
      KUBE_TRY(auto name, json::reqString(*ref, "name", json::joinPath(p, "podTemplateRef")));
      KUBE_TRY(auto count, json::optInt(s, "count", p));
      const int64_t n = count.value_or(0);
      if (n < 1 || n > kMaxProvReqPods) {
        return json::invalid(json::joinPath(p, "count"), "must be 1.." + std::to_string(kMaxProvReqPods));
      }
      total += n;
      if (total > kMaxProvReqPods) {
        return json::invalid("spec.podSets", "more than " + std::to_string(kMaxProvReqPods) + " pods in all");
      }
      out.podSets.emplace_back(std::string(name), n);
    }
  }
  KUBE_TRY(const Value* status, json::optObject(v, "status", ""));
  if (status) {
    KUBE_TRY(const Value* conds, json::optArray(*status, "conditions", "status"));
    if (conds) {
      if (conds->Size() > kMaxConditions) return json::invalid("status.conditions", "too many conditions");
      for (rapidjson::SizeType i = 0; i < conds->Size(); ++i) {
        const std::string p = json::indexPath("status.conditions", i);
        const Value& c = (*conds)[i];
        if (!c.IsObject()) return json::invalid(p, "expected object");
        ProvReqCondition cond;
        KUBE_TRY(auto type, json::reqString(c, "type", p));
        KUBE_TRY(auto st, json::reqString(c, "status", p));
        KUBE_TRY(auto reason, json::optString(c, "reason", p));
        KUBE_TRY(auto message, json::optString(c, "message", p));
        KUBE_TRY(auto at, json::optString(c, "lastTransitionTime", p));
        cond.type = std::string(type);
        cond.status = std::string(st);
        cond.reason = std::string(reason.value_or(""));
        cond.message = std::string(message.value_or("")).substr(0, 1024);
        if (at) {
          auto t = base::parseTime(*at);
          if (!t) return json::invalid(json::joinPath(p, "lastTransitionTime"), t.error().message);
          cond.lastTransition = *t;
        }
        out.conditions.push_back(std::move(cond));
      }
    }
    KUBE_TRY(const Value* details, json::optObject(*status, "provisioningClassDetails", "status"));
    if (details) {
      if (details->MemberCount() > kMaxDetails) return json::invalid("status.provisioningClassDetails", "too many");
      for (auto m = details->MemberBegin(); m != details->MemberEnd(); ++m) {
        if (!m->value.IsString()) continue;
        out.details[std::string(json::view(m->name))] = std::string(json::view(m->value));
      }
    }
  }
  return out;
}

Result<PodTemplateObject> decodePodTemplate(const Value& v) {
  if (!v.IsObject()) return json::invalid("PodTemplate", "expected a JSON object");
  PodTemplateObject out;
  KUBE_TRY(const Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(out.meta, kube::decodeMeta(*md));
  KUBE_TRY(const Value* tmpl, json::reqObject(v, "template", ""));
  // The template as a Pod: its own metadata (labels, annotations) under the PodTemplate's name.
  json::Document pod;
  pod.SetObject();
  auto& a = pod.GetAllocator();
  Value meta(rapidjson::kObjectType);
  if (const Value* tm = json::find(*tmpl, "metadata"); tm && tm->IsObject()) {
    for (auto m = tm->MemberBegin(); m != tm->MemberEnd(); ++m) {
      const auto key = json::view(m->name);
      if (key == "labels" || key == "annotations") meta.AddMember(json::str(key, a), Value(m->value, a), a);
    }
  }
  meta.AddMember("name", json::str(out.meta.name, a), a);
  meta.AddMember("namespace", json::str(out.meta.namespace_, a), a);
  pod.AddMember("metadata", meta, a);
  if (const Value* spec = json::find(*tmpl, "spec")) pod.AddMember("spec", Value(*spec, a), a);
  auto decoded = kube::decodePod(pod);
  if (!decoded) return json::invalid("template", decoded.error().message);
  out.pod = decoded->toPodInfo();
  return out;
}

ProvisioningRequestController::ProvisioningRequestController(Scaler& scaler, ProvReqStatusWriter& writer,
                                                             const kube::Clock& clock, Duration bookingTime, Logger log)
    : scaler_(scaler), writer_(writer), clock_(clock), bookingTime_(bookingTime), log_(std::move(log)) {}

void ProvisioningRequestController::log(const std::string& line) const {
  if (log_) log_(line);
}

void ProvisioningRequestController::set(State& st, const std::string& type, bool status, const std::string& reason,
                                        const std::string& message, TimePoint now) {
  ProvReqCondition& c = st.conditions[type];
  const std::string s = status ? "True" : "False";
  if (c.type.empty() || c.status != s) c.lastTransition = now;
  c.type = type;
  c.status = s;
  if (c.reason != reason)
    log("provisioning: " + st.ns + "/" + st.name + ": " + type + "=" + s + " " + reason +
        (message.empty() ? "" : ": " + message));
  c.reason = reason;
  c.message = message;
}

void ProvisioningRequestController::fail(State& st, const std::string& reason, const std::string& message,
                                         TimePoint now) {
  set(st, "Provisioned", false, reason, message, now);
  set(st, "Failed", true, reason, message, now);
  st.phase = Phase::Done;
  st.slots.clear();
}

void ProvisioningRequestController::restore(State& st, const ProvisioningRequestObject& req) {
  for (const auto& c : req.conditions) {
    if (std::find(std::begin(kConditionOrder), std::end(kConditionOrder), c.type) != std::end(kConditionOrder))
      st.conditions[c.type] = c;
  }
  st.details = req.details;
  if (isTrue(req.condition("Failed")) || isTrue(req.condition("BookingExpired")) ||
      isTrue(req.condition("CapacityRevoked"))) {
    st.phase = Phase::Done;
  } else if (const auto* p = req.condition("Provisioned"); isTrue(p)) {
    st.phase = Phase::Provisioned;  // a previous leader booked it: the slots are rebuilt in step()
    st.provisionedAt = p->lastTransition;
  }
}

void ProvisioningRequestController::reconcile(const std::vector<ProvisioningRequestObject>& requests,
                                              const TemplateLookup& templates, const ClusterSnapshot& snapshot) {
  const TimePoint now = clock_.wallNow();
  std::set<std::string> live;
  std::map<std::string, Booking> bookings;
  for (const auto& req : requests) {
    if (req.className != kProvReqCheckCapacity && req.className != kProvReqAtomicScaleUp) continue;
    if (req.meta.deletionTimestamp || req.meta.uid.empty()) continue;
    live.insert(req.meta.uid);
    auto [it, fresh] = states_.try_emplace(req.meta.uid);
    State& st = it->second;
    if (fresh) {
      st.ns = req.meta.namespace_;
      st.name = req.meta.name;
      st.className = req.className;
      restore(st, req);
    }
    st.generation = req.meta.generation;
    step(st, req, templates, snapshot, now);
    write(st);
    if ((st.phase == Phase::Launching || st.phase == Phase::Provisioned) && !st.slots.empty()) {
      Booking b;
      b.namespaceName = st.ns;
      b.request = st.name;
      for (const auto& s : st.slots) {
        b.nodes.insert(s.node);
        if (!s.consumed) b.held[s.node] += s.requests;
      }
      bookings[st.ns + "/" + st.name] = std::move(b);
    }
  }
  std::erase_if(states_, [&](const auto& kv) { return !live.count(kv.first); });
  scaler_.setBookings(std::move(bookings));
}

void ProvisioningRequestController::consume(State& st, const ClusterSnapshot& snapshot) {
  for (const auto& p : snapshot.pods) {
    if (p.info.nodeName.empty() || p.info.namespace_ != st.ns || st.consumers.count(p.info.uid)) continue;
    std::string target;
    for (const char* key : {kAnnotationConsumeProvReq, kAnnotationConsumeProvReqLegacy}) {
      if (auto a = p.info.annotations.find(key); a != p.info.annotations.end()) target = a->second;
    }
    if (target != st.name) continue;
    // The slot on the pod's own node, else any slot still open (the scheduler may pick another node).
    auto open = [&](bool sameNode) {
      return std::find_if(st.slots.begin(), st.slots.end(),
                          [&](const Slot& s) { return !s.consumed && (!sameNode || s.node == p.info.nodeName); });
    };
    auto slot = open(true);
    if (slot == st.slots.end()) slot = open(false);
    if (slot == st.slots.end()) continue;
    slot->consumed = true;
    st.consumers.insert(p.info.uid);
  }
}

void ProvisioningRequestController::step(State& st, const ProvisioningRequestObject& req,
                                         const TemplateLookup& templates, const ClusterSnapshot& snapshot,
                                         TimePoint now) {
  if (st.phase == Phase::Done) return;
  const std::string key = st.ns + "/" + st.name;
  const bool check = st.className == kProvReqCheckCapacity;
  if (!st.conditions.count("Accepted")) set(st, "Accepted", true, "Accepted", "ProvisioningRequest is accepted", now);

  std::map<std::string, const ClusterNode*> nodes;
  for (const auto& n : snapshot.nodes) nodes[n.info.name] = &n;

  // The pods the request asks for, one per count of each pod set.
  auto expand = [&](std::vector<placement::PodInfo>& pods, std::string& missing) {
    for (size_t i = 0; i < req.podSets.size(); ++i) {
      const auto& [tmplName, count] = req.podSets[i];
      const PodTemplateObject* t = templates ? templates(st.ns, tmplName) : nullptr;
      if (!t) {
        missing = tmplName;
        return false;
      }
      for (int64_t j = 0; j < count; ++j) {
        placement::PodInfo p = t->pod;
        p.namespace_ = st.ns;
        p.name = st.name + "-" + std::to_string(i) + "-" + std::to_string(j);
        p.uid = req.meta.uid + "/" + std::to_string(i) + "/" + std::to_string(j);
        p.nodeName.clear();
        pods.push_back(std::move(p));
      }
    }
    return true;
  };

  if (st.phase == Phase::Provisioned && st.slots.empty()) {
    // Booked by a previous leader: the pods again, placed on the nodes recorded in the status.
    std::vector<placement::PodInfo> pods;
    std::string missing;
    std::set<std::string> recorded;
    if (auto d = st.details.find(kProvReqDetailNodes); d != st.details.end()) {
      for (auto& n : splitNodes(d->second)) recorded.insert(std::move(n));
    }
    if (expand(pods, missing)) {
      size_t next = 0;
      std::vector<std::string> order(recorded.begin(), recorded.end());
      for (const auto& p : pods) {
        Slot s;
        s.node = order.empty() ? "" : order[next++ % order.size()];
        s.requests = placement::podRequests(p);
        if (!s.node.empty()) st.slots.push_back(std::move(s));
      }
    }
  }

  if (st.phase == Phase::Pending) {
    if (now < st.nextTry) return;
    std::vector<placement::PodInfo> pods;
    std::string missing;
    if (req.podSets.empty()) return fail(st, "InvalidRequest", "spec.podSets is empty", now);
    if (!expand(pods, missing)) {
      const TimePoint created = req.meta.creationTimestamp ? *req.meta.creationTimestamp : now;
      if (now - created < kTemplateGrace) return;
      return fail(st, "PodTemplateNotFound", "PodTemplate " + st.ns + "/" + missing + " does not exist", now);
    }
    // A create that fails marks its offering unavailable: plan again at once without it, a few times.
    AtomicPlan plan;
    std::map<std::string, std::string> nodeOf;
    std::string launchError;
    for (int attempt = 0; attempt < kMaxPlansPerPass; ++attempt) {
      plan = scaler_.planAtomic(snapshot, pods, check);
      if (!plan.ok) break;
      nodeOf = plan.onExisting;
      launchError.clear();
      if (check || plan.newNodes.empty()) break;
      auto created = scaler_.launchAtomic(plan, "ProvisioningRequest " + key);
      if (!created) {
        launchError = created.error().message;
        continue;
      }
      for (size_t i = 0; i < plan.newNodes.size() && i < created->size(); ++i) {
        for (const auto& podKey : plan.newNodes[i].podKeys) nodeOf[podKey] = (*created)[i];
        st.launched.insert((*created)[i]);
      }
      break;
    }
    if (!plan.ok) {
      if (!check) {
        return fail(st, plan.reason,
                    plan.message + (launchError.empty() ? "" : "; last launch failure: " + launchError), now);
      }
      const TimePoint created = req.meta.creationTimestamp ? *req.meta.creationTimestamp : now;
      if (now - created >= kCheckCapacityExpiry) return fail(st, "Expired", "no capacity within a week", now);
      set(st, "Provisioned", false, plan.reason, plan.message, now);
      st.nextTry = now + kCheckInterval;
      return;
    }
    if (!launchError.empty()) {
      if (++st.attempts >= kMaxLaunchAttempts) {
        return fail(st, "FailedToCreateNodes",
                    std::to_string(st.attempts) + " launch attempts failed; last: " + launchError, now);
      }
      set(st, "Provisioned", false, "FailedToCreateNodes", launchError + "; retrying", now);
      st.nextTry = now + std::chrono::seconds(1);
      return;
    }
    st.slots.clear();
    std::set<std::string> used;
    for (const auto& p : pods) {
      auto n = nodeOf.find(p.key());
      if (n == nodeOf.end()) continue;
      st.slots.push_back({n->second, placement::podRequests(p), false});
      used.insert(n->second);
    }
    std::string list;
    for (const auto& n : used) list += (list.empty() ? "" : ",") + n;
    st.details[kProvReqDetailNodes] = list;
    if (check) {
      st.phase = Phase::Provisioned;
      st.provisionedAt = now;
      set(st, "Provisioned", true, "CapacityIsFound",
          "capacity for " + std::to_string(pods.size()) + " pod(s) is booked on " + std::to_string(used.size()) +
              " existing node(s)",
          now);
      return;
    }
    st.phase = Phase::Launching;
    set(st, "Provisioned", false, "CapacityIsBeingProvisioned",
        std::to_string(st.launched.size()) + " new " + std::string(toString(plan.capacityType)) +
            " node(s) launching for " + std::to_string(pods.size()) + " pod(s)",
        now);
  }

  if (st.phase == Phase::Launching) {
    std::set<std::string> all;
    for (const auto& s : st.slots) all.insert(s.node);
    bool ready = true;
    std::string lost;
    for (const auto& n : all) {
      auto it = nodes.find(n);
      const bool inFlight = scaler_.inFlight().count(n) > 0;
      if (it == nodes.end() || it->second->deleting) {
        if (!inFlight) lost = n;
        ready = false;
      } else if (!it->second->ready || inFlight) {
        ready = false;
      }
    }
    if (!lost.empty()) {
      // A node never came up (the scaler gave up on it): plan again; what did come up counts as room.
      st.slots.clear();
      st.launched.clear();
      st.phase = Phase::Pending;
      if (++st.attempts >= kMaxLaunchAttempts) {
        return fail(st, "FailedToCreateNodes", "node " + lost + " did not become Ready", now);
      }
      set(st, "Provisioned", false, "FailedToCreateNodes", "node " + lost + " did not become Ready; re-planning", now);
      return;
    }
    if (!ready) return;
    st.phase = Phase::Provisioned;
    st.provisionedAt = now;
    set(st, "Provisioned", true, "CapacityIsProvisioned",
        "capacity for the pods is Ready on " + std::to_string(all.size()) + " node(s)", now);
  }

  if (st.phase == Phase::Provisioned) {
    consume(st, snapshot);
    if (now - st.provisionedAt >= bookingTime_) {
      set(st, "BookingExpired", true, "BookingExpired",
          "capacity was booked for " + formatDuration(bookingTime_) + " after it was provisioned", now);
      st.phase = Phase::Done;
      st.slots.clear();
      return;
    }
    for (const auto& s : st.slots) {
      if (s.consumed) continue;
      auto it = nodes.find(s.node);
      if (it != nodes.end() && !it->second->deleting) continue;
      set(st, "CapacityRevoked", true, "CapacityRevoked",
          "booked node " + s.node + " went away before the request's pods used it", now);
      st.phase = Phase::Done;
      st.slots.clear();
      return;
    }
  }
}

void ProvisioningRequestController::write(State& st) {
  std::string o = "{\"conditions\":[";
  bool first = true;
  for (const char* type : kConditionOrder) {
    auto it = st.conditions.find(type);
    if (it == st.conditions.end()) continue;
    const auto& c = it->second;
    o += first ? "" : ",";
    first = false;
    o += "{\"type\":\"" + c.type + "\",\"status\":\"" + c.status + "\",\"reason\":\"" + base::jsonEscaped(c.reason) +
         "\",\"message\":\"" + base::jsonEscaped(c.message.substr(0, 4096)) + "\",\"lastTransitionTime\":\"" +
         base::formatTime(c.lastTransition) + "\",\"observedGeneration\":" + std::to_string(st.generation) + "}";
  }
  o += "]";
  if (!st.details.empty()) {
    o += ",\"provisioningClassDetails\":{";
    bool firstDetail = true;
    for (const auto& [k, v] : st.details) {
      o += (firstDetail ? "\"" : ",\"") + base::jsonEscaped(k) + "\":\"" + base::jsonEscaped(v) + "\"";
      firstDetail = false;
    }
    o += "}";
  }
  o += "}";
  if (o == st.lastStatus) return;
  auto r = writer_.updateProvisioningRequestStatus(st.ns, st.name, o);
  if (!r) {
    log("provisioning: " + st.ns + "/" + st.name + ": status update failed: " + r.error().message + "; will retry");
    return;
  }
  st.lastStatus = std::move(o);
}

}  // namespace spotfit::scaler

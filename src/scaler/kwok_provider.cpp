#include "scaler/kwok_provider.hpp"

#include <sstream>

#include "base/time.hpp"
#include "kube/objects.hpp"
#include "placement/quantity.hpp"
#include "scaler/duration.hpp"
#include "scaler/interruptions.hpp"

namespace spotfit::scaler {

namespace {

using kube::json::quoted;

std::string resourcesJson(const NodeRequest& r) {
  std::string out = "{\"cpu\":" + quoted(placement::formatMilliCpu(r.cpuMilli)) +
                    ",\"memory\":" + quoted(placement::formatBytes(r.memoryBytes)) +
                    ",\"pods\":" + quoted(placement::formatDecimal(r.pods));
  for (const auto& [k, v] : r.extended) out += "," + quoted(k) + ":" + quoted(placement::formatDecimal(v));
  return out + "}";
}

std::string conditionsJson(bool ready, TimePoint now) {
  const std::string ts = quoted(base::formatTime(now));
  return std::string("[{\"type\":\"Ready\",\"status\":\"") + (ready ? "True" : "False") + "\",\"reason\":\"" +
         (ready ? "KubeletReady" : "KubeletNotReady") + "\",\"message\":\"" +
         (ready ? "kwok node is ready" : "kwok node is starting") + "\",\"lastHeartbeatTime\":" + ts +
         ",\"lastTransitionTime\":" + ts + "}]";
}

// "m5.large:spot,c5.xlarge:on-demand" -> offerings.
bool listedUnavailable(const std::string& list, const std::string& type, CapacityType ct) {
  std::stringstream ss(list);
  std::string item;
  const std::string want = type + ":" + std::string(toString(ct));
  while (std::getline(ss, item, ',')) {
    while (!item.empty() && item.front() == ' ') item.erase(item.begin());
    while (!item.empty() && item.back() == ' ') item.pop_back();
    if (item == want) return true;
  }
  return false;
}

}  // namespace

std::string KwokProvider::nodeJson(const NodeRequest& r, bool ready, TimePoint now, std::optional<TimePoint> readyAt) {
  std::string labels;
  auto addLabel = [&](const std::string& k, const std::string& v) {
    labels += (labels.empty() ? "" : ",") + quoted(k) + ":" + quoted(v);
  };
  for (const auto& [k, v] : r.labels) {
    if (k != "type" && k != kLabelProvider) addLabel(k, v);
  }
  addLabel("type", "kwok");
  addLabel(kLabelProvider, "kwok");
  std::string taints;
  for (const auto& t : r.taints) {
    taints += (taints.empty() ? "" : ",") + std::string("{\"key\":") + quoted(t.key) +
              (t.value.empty() ? "" : ",\"value\":" + quoted(t.value)) +
              ",\"effect\":" + quoted(placement::toString(t.effect)) + "}";
  }
  const std::string res = resourcesJson(r);
  return "{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":" + quoted(r.nodeName) + ",\"labels\":{" +
         labels + "},\"annotations\":{\"kwok.x-k8s.io/node\":\"fake\",\"node.alpha.kubernetes.io/ttl\":\"0\"" +
         (readyAt ? std::string(",") + quoted(kAnnotationKwokReadyAt) + ":" + quoted(base::formatMicroTime(*readyAt))
                  : std::string()) +
         "}},"
         "\"spec\":{\"providerID\":" +
         quoted("kwok://" + r.nodeName) + ",\"taints\":[" + taints + "]},\"status\":{\"capacity\":" + res +
         ",\"allocatable\":" + res + ",\"conditions\":" + conditionsJson(ready, now) +
         ",\"nodeInfo\":{\"architecture\":\"amd64\",\"operatingSystem\":\"linux\",\"kubeletVersion\":\"fake\"}}}";
}

Result<ProviderNode> KwokProvider::create(const NodeRequest& r) {
  Duration delay{0};
  if (auto it = r.providerParams.find("readyDelay"); it != r.providerParams.end()) {
    auto d = parseDuration(it->second);
    if (!d) return makeError(kErrOther, "kwok readyDelay: " + d.error().message);
    delay = *d;
  }
  {
    std::lock_guard lock(mu_);
    auto listed = r.providerParams.find("unavailableOfferings");
    if (unavailable_.count({r.instanceType, r.capacityType}) ||
        (listed != r.providerParams.end() && listedUnavailable(listed->second, r.instanceType, r.capacityType))) {
      return makeError(kErrInsufficientCapacity,
                       "kwok: no " + std::string(toString(r.capacityType)) + " capacity for " + r.instanceType);
    }
  }
  const TimePoint now = clock_.wallNow();
  const bool readyNow = delay.count() == 0;
  const std::string body = nodeJson(r, readyNow, now, readyNow ? std::nullopt : std::optional<TimePoint>(now + delay));
  auto created = client_.create(kube::resources::kNodes, "", body);
  if (!created) return makeError(kErrOther, "kwok: creating Node " + r.nodeName + ": " + created.error().message);
  // The status subresource may have dropped the status of the create: write it explicitly.
  auto doc = kube::json::parse(body);
  if (doc) {
    const auto* status = kube::json::find(*doc, "status");
    kube::WriteOptions o;
    o.subresource = "status";
    auto st = client_.patch(kube::resources::kNodes, "", r.nodeName, kube::PatchType::Merge,
                            "{\"status\":" + kube::json::toString(*status) + "}", o);
    if (!st) return makeError(kErrOther, "kwok: writing Node status of " + r.nodeName + ": " + st.error().message);
  }
  if (!readyNow) {
    std::lock_guard lock(mu_);
    readyAt_[r.nodeName] = now + delay;
  }
  return ProviderNode{r.nodeName, "kwok://" + r.nodeName, r.pool, r.instanceType, r.capacityType, r.zone, now};
}

Status KwokProvider::resumePending() {
  kube::ListOptions o;
  o.labelSelector = std::string(kLabelProvider) + "=kwok";
  std::map<std::string, TimePoint> found;
  auto rv = client_.listAll(kube::resources::kNodes, "", o, [&](const kube::json::Value& item) -> Status {
    auto node = kube::decodeNode(item);
    if (!node || node->ready.value_or(false) || node->meta.deletionTimestamp) return {};
    auto a = node->meta.annotations.get(kAnnotationKwokReadyAt);
    if (!a) return {};
    auto at = base::parseTime(*a);
    if (at) found[node->info.name] = *at;
    return {};
  });
  if (!rv) return rv.error();
  std::lock_guard lock(mu_);
  for (const auto& [n, at] : found) readyAt_.try_emplace(n, at);
  return {};
}

void KwokProvider::poll(TimePoint now) {
  if (!lastResume_ || now - *lastResume_ >= kResumeEvery) {
    if (resumePending()) lastResume_ = now;  // else retried on the next poll
  }
  std::vector<std::string> due;
  {
    std::lock_guard lock(mu_);
    for (const auto& [n, t] : readyAt_) {
      if (t <= now) due.push_back(n);
    }
  }
  for (const auto& n : due) {
    kube::WriteOptions o;
    o.subresource = "status";
    auto st = client_.patch(kube::resources::kNodes, "", n, kube::PatchType::Merge,
                            "{\"status\":{\"conditions\":" + conditionsJson(true, now) + "}}", o);
    std::lock_guard lock(mu_);
    if (st || kube::isNotFound(st.error())) readyAt_.erase(n);  // else retried on the next poll
  }
}

Status KwokProvider::remove(const NodeRef& node) {
  {
    std::lock_guard lock(mu_);
    readyAt_.erase(node.nodeName);
  }
  auto st = client_.remove(kube::resources::kNodes, "", node.nodeName);
  if (!st && !kube::isNotFound(st.error()))
    return makeError(kErrOther, "kwok: deleting Node " + node.nodeName + ": " + st.error().message);
  return {};
}

Result<std::vector<ProviderNode>> KwokProvider::list() {
  kube::ListOptions o;
  o.labelSelector = std::string(kLabelProvider) + "=kwok";
  std::vector<ProviderNode> out;
  auto rv = client_.listAll(kube::resources::kNodes, "", o, [&](const kube::json::Value& item) -> Status {
    auto node = kube::decodeNode(item);
    if (!node) return {};  // a malformed foreign object is not ours to judge
    ProviderNode p;
    p.nodeName = node->info.name;
    p.providerId = node->providerID;
    p.pool = node->info.pool;
    p.instanceType = node->info.instanceType;
    p.capacityType = node->info.capacityType;
    if (auto z = node->info.labels.find("topology.kubernetes.io/zone"); z != node->info.labels.end())
      p.zone = z->second;
    if (node->meta.creationTimestamp) p.createdAt = *node->meta.creationTimestamp;
    out.push_back(std::move(p));
    return {};
  });
  if (!rv) return makeError(kErrOther, "kwok: listing Nodes: " + rv.error().message);
  return out;
}

void KwokProvider::setCapacityUnavailable(const std::string& instanceType, CapacityType type, bool unavailable) {
  std::lock_guard lock(mu_);
  if (unavailable)
    unavailable_.insert({instanceType, type});
  else
    unavailable_.erase({instanceType, type});
}

Status KwokProvider::interrupt(const std::string& nodeName) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto doc = client_.get(kube::resources::kNodes, "", nodeName);
    if (!doc) return doc.error();
    std::string taints;
    std::string rv;
    if (const auto* meta = kube::json::find(*doc, "metadata")) {
      if (const auto* v = kube::json::find(*meta, "resourceVersion"); v && v->IsString()) rv = kube::json::view(*v);
    }
    if (const auto* spec = kube::json::find(*doc, "spec")) {
      if (const auto* t = kube::json::find(*spec, "taints"); t && t->IsArray()) {
        for (const auto& e : t->GetArray()) {
          const auto* k = kube::json::find(e, "key");
          if (k && k->IsString() && kube::json::view(*k) == kKwokInterruptionTaint) return {};
          taints += (taints.empty() ? "" : ",") + kube::json::toString(e);
        }
      }
    }
    taints += std::string(taints.empty() ? "" : ",") + "{\"key\":\"" + kKwokInterruptionTaint +
              "\",\"effect\":\"NoSchedule\",\"timeAdded\":" + quoted(base::formatTime(clock_.wallNow())) + "}";
    auto r =
        client_.patch(kube::resources::kNodes, "", nodeName, kube::PatchType::Merge,
                      "{\"metadata\":{\"resourceVersion\":" + quoted(rv) + "},\"spec\":{\"taints\":[" + taints + "]}}");
    if (r) return {};
    if (!kube::isConflict(r.error())) return r.error();
  }
  return makeError("conflict", "kwok: node " + nodeName + " kept changing");
}

size_t KwokProvider::pendingReady() const {
  std::lock_guard lock(mu_);
  return readyAt_.size();
}

}  // namespace spotfit::scaler

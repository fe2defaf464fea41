#include "webhook/kube_adapters.hpp"

#include "base/time.hpp"
#include "base/vocabulary.hpp"
#include "kube/json.hpp"
#include "placement/quantity.hpp"
#include "webhook/json.hpp"

namespace spotfit::webhook {
namespace {

// The quantity as Kubernetes prints it, in the format it was written in (the VPA admission controller
// writes targets that way).
std::map<std::string, std::string> quantities(const kube::QuantityList& list) {
  std::map<std::string, std::string> out;
  for (const auto& q : list) out[q.resource] = placement::formatQuantity({q.milli, q.format});
  return out;
}

}  // namespace

Status KubePdbWriter::create(const PdbRequest& request) {
  PdbRequest checked = request;
  if (request.verifyMinParallelism > 0) {
    kube::GetOptions g;
    g.timeout = timeout_;
    auto doc = client_.get(kube::resources::kJobs, request.namespace_, request.jobName, g);
    if (!doc) return kube::isNotFound(doc.error()) ? Status{} : Status(doc.error());  // a deleted Job needs no PDB
    auto job = kube::decodeJob(*doc);
    if (!job) return job.error();
    if (job->meta.uid != request.jobUid || job->parallelism.value_or(1) < request.verifyMinParallelism) return {};
    checked.pods = jobPodsAtOnce(jobInfoFromKube(*job));
  }
  kube::WriteOptions o;
  o.timeout = timeout_;
  auto r = client_.create(kube::resources::kPodDisruptionBudgets, request.namespace_, checked.manifest(), o);
  if (r.ok() || kube::isAlreadyExists(r.error())) return {};
  return r.error();
}

KubeEventSink::KubeEventSink(kube::KubeClient& client, kube::Clock& clock, size_t maxQueued)
    : client_(client), clock_(clock), maxQueued_(maxQueued) {}

KubeEventSink::~KubeEventSink() {
  stop();
}

void KubeEventSink::record(const EventRecord& event) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= maxQueued_) {
      ++dropped_;
      return;
    }
    queue_.push_back(event);
  }
  cv_.notify_one();
}

size_t KubeEventSink::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

std::string KubeEventSink::eventJson(const EventRecord& e) const {
  const std::string now = base::formatTime(clock_.wallNow());
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  w.StartObject();
  w.Key("apiVersion");
  w.String("v1");
  w.Key("kind");
  w.String("Event");
  w.Key("metadata");
  w.StartObject();
  w.Key("generateName");
  json::write(w, (e.involvedName.empty() ? std::string("spotfit") : e.involvedName) + ".");
  w.Key("namespace");
  json::write(w, e.namespace_);
  w.EndObject();
  w.Key("involvedObject");
  w.StartObject();
  w.Key("apiVersion");
  w.String(e.involvedKind == "Job" ? "batch/v1" : "v1");
  w.Key("kind");
  json::write(w, e.involvedKind);
  w.Key("name");
  json::write(w, e.involvedName);
  w.Key("namespace");
  json::write(w, e.namespace_);
  if (!e.involvedUid.empty()) {
    w.Key("uid");
    json::write(w, e.involvedUid);
  }
  w.EndObject();
  w.Key("reason");
  json::write(w, e.reason);
  w.Key("message");
  json::write(w, e.message);
  w.Key("type");
  json::write(w, e.type.empty() ? std::string("Normal") : e.type);
  w.Key("source");
  w.StartObject();
  w.Key("component");
  w.String("spotfit-webhook");
  w.EndObject();
  w.Key("reportingComponent");
  w.String(vocab::kEventReportingComponentWebhook);
  w.Key("firstTimestamp");
  json::write(w, now);
  w.Key("lastTimestamp");
  json::write(w, now);
  w.Key("count");
  w.Int(1);
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

size_t KubeEventSink::flush() {
  std::deque<EventRecord> batch;
  {
    std::lock_guard lock(mu_);
    batch.swap(queue_);
  }
  size_t sent = 0;
  kube::WriteOptions o;
  o.timeout = std::chrono::seconds(10);
  for (const auto& e : batch) {
    // Events are best effort: a failed write is not retried (the next admission records a new one).
    if (client_.create(kube::resources::kEvents, e.namespace_, eventJson(e), o).ok()) ++sent;
  }
  return sent;
}

void KubeEventSink::start() {
  std::lock_guard guard(mu_);
  if (worker_.joinable()) return;
  stopping_ = false;
  worker_ = std::thread([this] {
    std::unique_lock lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (stopping_) break;
      lock.unlock();
      flush();
      lock.lock();
    }
  });
}

void KubeEventSink::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

Vpa vpaFromKube(const kube::VerticalPodAutoscaler& v) {
  Vpa out;
  out.namespace_ = v.meta.namespace_;
  out.name = v.meta.name;
  if (v.targetRef) {
    out.targetKind = v.targetRef->kind;
    out.targetName = v.targetRef->name;
  }
  out.updateOff = v.updateMode == "Off";
  for (const auto& p : v.containerPolicies) {
    VpaContainerPolicy c;
    c.containerName = p.containerName;
    c.off = p.mode == "Off";
    c.minAllowed = quantities(p.minAllowed);
    c.maxAllowed = quantities(p.maxAllowed);
    if (!p.controlledResources.empty()) c.controlledResources = p.controlledResources;
    c.requestsAndLimits = p.controlledValues != "RequestsOnly";
    out.policies.push_back(std::move(c));
  }
  for (const auto& r : v.recommendations) out.targets[r.containerName] = quantities(r.target);
  return out;
}

JobInfo jobInfoFromKube(const kube::Job& job) {
  JobInfo info;
  info.uid = job.meta.uid;
  info.parallelism = job.parallelism.value_or(1);
  info.completions = job.completions;
  info.succeeded = job.succeeded;
  for (const auto& o : job.meta.ownerReferences) {
    if (o.kind == "CronJob" && (o.controller || info.cronJob.empty())) info.cronJob = o.name;
  }
  return info;
}

std::map<std::string, std::string> labelsFromKube(const kube::Namespace& ns) {
  std::map<std::string, std::string> out;
  for (const auto& [k, v] : ns.meta.labels) out.emplace(std::string(k), std::string(v));
  return out;
}

void feedFrom(kube::Informer<kube::VerticalPodAutoscaler>& informer, VpaIndex& index) {
  kube::InformerHandlers<kube::VerticalPodAutoscaler> h;
  h.onAdd = [&index](const kube::VerticalPodAutoscaler& v) {
    if (v.targetRef) index.upsert(vpaFromKube(v));
  };
  h.onUpdate = [&index](const kube::VerticalPodAutoscaler&, const kube::VerticalPodAutoscaler& v) {
    if (v.targetRef) {
      index.upsert(vpaFromKube(v));
    } else {
      index.erase(v.meta.namespace_, v.meta.name);
    }
  };
  h.onDelete = [&index](const kube::VerticalPodAutoscaler& v) { index.erase(v.meta.namespace_, v.meta.name); };
  informer.addHandler(std::move(h));
}

void feedFrom(kube::Informer<kube::Job>& informer, JobIndex& index) {
  kube::InformerHandlers<kube::Job> h;
  h.onAdd = [&index](const kube::Job& j) { index.upsert(j.meta.namespace_, j.meta.name, jobInfoFromKube(j)); };
  h.onUpdate = [&index](const kube::Job&, const kube::Job& j) {
    index.upsert(j.meta.namespace_, j.meta.name, jobInfoFromKube(j));
  };
  h.onDelete = [&index](const kube::Job& j) { index.erase(j.meta.namespace_, j.meta.name); };
  informer.addHandler(std::move(h));
}

void feedFrom(kube::Informer<kube::Namespace>& informer, NamespaceIndex& index) {
  kube::InformerHandlers<kube::Namespace> h;
  h.onAdd = [&index](const kube::Namespace& n) { index.upsert(n.meta.name, labelsFromKube(n)); };
  h.onUpdate = [&index](const kube::Namespace&, const kube::Namespace& n) {
    index.upsert(n.meta.name, labelsFromKube(n));
  };
  h.onDelete = [&index](const kube::Namespace& n) { index.erase(n.meta.name); };
  informer.addHandler(std::move(h));
}

void feedFrom(kube::Informer<kube::Node>& informer, NodeCapacityIndex& index) {
  auto put = [&index](const kube::Node& n) {
    auto v = n.meta.labels.get(index.label());
    index.upsert(n.meta.name, n.ready == true && !n.unschedulable(),
                 v ? std::optional<std::string>(std::string(*v)) : std::nullopt);
  };
  kube::InformerHandlers<kube::Node> h;
  h.onAdd = put;
  h.onUpdate = [put](const kube::Node&, const kube::Node& n) { put(n); };
  h.onDelete = [&index](const kube::Node& n) { index.erase(n.meta.name); };
  informer.addHandler(std::move(h));
  index.setSyncedProbe([&informer] { return informer.hasSynced(); });
}

void feedInterruptions(kube::Informer<kube::Node>& informer, SpotCoolOff& coolOff, const WebhookConfig& config,
                       std::function<void(bool)> counted) {
  auto seen = [&coolOff, label = config.affinity.capacityTypeLabel, spot = config.affinity.spotValue,
               taints = config.interruption.taints, counted](const kube::Node& n) {
    if (!interruptedSpotNode(n, label, spot, taints)) return;
    auto type = n.meta.labels.get("node.kubernetes.io/instance-type");
    const auto r = coolOff.record(n.meta.name, type ? *type : std::string_view{});
    if (r.counted && counted) counted(r.startedCoolOff);
  };
  kube::InformerHandlers<kube::Node> h;
  h.onAdd = seen;
  h.onUpdate = [seen](const kube::Node&, const kube::Node& n) { seen(n); };
  informer.addHandler(std::move(h));
}

void feedInterruptions(kube::Informer<kube::NodeClaim>& informer, SpotCoolOff& coolOff,
                       std::function<void(bool)> counted) {
  auto seen = [&coolOff, counted](const kube::NodeClaim& c) {
    auto node = interruptedNodeOf(c);
    if (!node) return;
    auto type = c.meta.labels.get("node.kubernetes.io/instance-type");
    const auto r = coolOff.record(*node, type ? *type : std::string_view{});
    if (r.counted && counted) counted(r.startedCoolOff);
  };
  kube::InformerHandlers<kube::NodeClaim> h;
  h.onAdd = seen;
  h.onUpdate = [seen](const kube::NodeClaim&, const kube::NodeClaim& c) { seen(c); };
  informer.addHandler(std::move(h));
}

}  // namespace spotfit::webhook

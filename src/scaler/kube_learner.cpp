#include "scaler/kube_learner.hpp"

#include <algorithm>
#include <chrono>
#include <utility>

#include "base/vocabulary.hpp"
#include "placement/quantity.hpp"

namespace spotfit::scaler {

const kube::ResourceType kPodMetrics{"metrics.k8s.io", "v1beta1", "pods", "PodMetrics", true};

namespace {

constexpr std::string_view kAnnWorkflow = vocab::kAnnotationWorkflow;

int64_t epochSeconds(base::WallTime t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

Result<std::string_view> str(const kube::json::Value& obj, std::string_view key, const std::string& path) {
  KUBE_TRY(auto v, kube::json::optString(obj, key, path));
  return v.value_or(std::string_view{});
}

}  // namespace

Result<std::vector<UsageSample>> decodePodMetrics(const kube::json::Value& items, size_t maxSamples) {
  std::vector<UsageSample> out;
  if (!items.IsArray()) return kube::json::invalid("items", "expected an array");
  for (rapidjson::SizeType i = 0; i < items.Size() && out.size() < maxSamples; ++i) {
    const std::string path = kube::json::indexPath("items", i);
    const auto& item = items[i];
    if (!item.IsObject()) return kube::json::invalid(path, "expected an object");
    KUBE_TRY(const kube::json::Value* md, kube::json::reqObject(item, "metadata", path));
    const std::string mdPath = path + ".metadata";
    KUBE_TRY(auto ns, str(*md, "namespace", mdPath));
    KUBE_TRY(auto name, str(*md, "name", mdPath));
    KUBE_TRY(const kube::json::Value* containers, kube::json::optArray(item, "containers", path));
    if (containers == nullptr || name.empty()) continue;
    for (rapidjson::SizeType j = 0; j < containers->Size() && out.size() < maxSamples; ++j) {
      const std::string cp = kube::json::indexPath(path + ".containers", j);
      const auto& c = (*containers)[j];
      if (!c.IsObject()) return kube::json::invalid(cp, "expected an object");
      KUBE_TRY(auto cname, str(c, "name", cp));
      KUBE_TRY(const kube::json::Value* usage, kube::json::optObject(c, "usage", cp));
      if (cname.empty() || usage == nullptr) continue;
      UsageSample s{std::string(ns), std::string(name), std::string(cname), 0, 0};
      KUBE_TRY(auto cpu, str(*usage, "cpu", cp + ".usage"));
      KUBE_TRY(auto mem, str(*usage, "memory", cp + ".usage"));
      if (!cpu.empty()) {
        auto v = placement::parseMilli(cpu);
        if (!v) return kube::json::invalid(cp + ".usage.cpu", v.error().message);
        s.cpuMilli = std::max<int64_t>(0, *v);
      }
      if (!mem.empty()) {
        auto v = placement::parseValue(mem);
        if (!v) return kube::json::invalid(cp + ".usage.memory", v.error().message);
        s.memoryBytes = std::max<int64_t>(0, *v);
      }
      out.push_back(std::move(s));
    }
  }
  return out;
}

Result<std::vector<UsageSample>> PodMetricsPoller::poll() {
  std::vector<UsageSample> out;
  kube::ListOptions o;
  o.timeout = cfg_.metricsTimeout;
  o.limit = 500;
  for (int page = 0; page < 1000 && out.size() < cfg_.maxSamples; ++page) {
    auto list = client_.list(kPodMetrics, "", o);
    if (!list) {
      const auto& code = list.error().code;
      if (code == "NotFound" || code == "ServiceUnavailable")
        return makeError("NotServed", "metrics.k8s.io PodMetrics not served: " + list.error().message);
      return list.error();
    }
    auto samples = decodePodMetrics(list->items(), cfg_.maxSamples - out.size());
    if (!samples) return samples.error();
    for (auto& s : *samples) out.push_back(std::move(s));
    if (list->continueToken.empty()) break;
    o.continueToken = list->continueToken;
  }
  return out;
}

std::optional<profile::PodObservation> podObservation(const kube::Pod& pod, int64_t now) {
  auto wf = pod.meta.annotations.get(kAnnWorkflow);
  if (!wf || wf->empty() || pod.meta.uid.empty() || pod.meta.namespace_.empty()) return std::nullopt;
  profile::PodObservation o;
  o.uid = pod.meta.uid;
  o.key = {pod.meta.namespace_, std::string(*wf)};
  if (const kube::OwnerReference* c = pod.meta.controllerRef(); c && c->kind == "Job") o.run = c->uid;
  for (const auto& c : pod.spec->containers) {
    profile::ContainerObservation co;
    co.name = c.name;
    co.requestCpuMilli = c.requests.cpuMilli;
    co.requestMemoryBytes = c.requests.memory;
    co.memoryLimitBytes = c.limits.memory > 0 ? c.limits.memory : c.requests.memory;
    co.oomKilled = std::find(pod.oomKilled.begin(), pod.oomKilled.end(), c.name) != pod.oomKilled.end();
    o.containers.push_back(std::move(co));
  }
  if (pod.startTime) o.start = epochSeconds(*pod.startTime);
  if (pod.terminal()) {
    o.end = pod.finishedAt ? epochSeconds(*pod.finishedAt) : now;
    if (o.end > 0 && o.start <= 0) o.start = o.end;
  }
  return o;
}

std::optional<profile::JobObservation> jobObservation(const kube::Job& job, int64_t now) {
  auto wf = job.meta.annotations.get(kAnnWorkflow);
  if (!wf || wf->empty() || job.meta.uid.empty() || job.meta.namespace_.empty()) return std::nullopt;
  profile::JobObservation o;
  o.uid = job.meta.uid;
  o.key = {job.meta.namespace_, std::string(*wf)};
  if (job.startTime) o.start = epochSeconds(*job.startTime);
  if (job.finished()) o.end = job.completionTime ? epochSeconds(*job.completionTime) : now;
  if (o.end > 0 && o.start <= 0) o.start = o.end;
  o.pods = job.succeeded + job.failed;
  return o;
}

ClusterLearner::ClusterLearner(ProfileStore& store, LearnerConfig cfg, profile::ProfileLimits limits)
    : store_(store), cfg_(cfg), book_(limits), limits_(limits) {
  learner_.emplace(book_);
}

void ClusterLearner::push(Queued q) {
  std::lock_guard lock(mu_);
  if (!active_) return;
  if (queue_.size() >= cfg_.maxQueued) {
    ++dropped_;
    return;
  }
  queue_.push_back(std::move(q));
}

void ClusterLearner::onPod(const kube::Pod& pod) {
  if (!active()) return;
  // Only what the learner uses: a pod once it runs (tracked for its usage) and once it finished.
  if (pod.phase != kube::PodPhase::Running && !pod.terminal()) return;
  auto o = podObservation(pod, 0);  // a finished pod without a finishedAt ends at the drain's now
  if (!o) return;
  push({Queued::Kind::Pod, pod.terminal(), std::move(*o), {}});
}

void ClusterLearner::onPodDeleted(const kube::Pod& pod) {
  if (!active() || pod.meta.uid.empty()) return;
  profile::PodObservation o;
  o.uid = pod.meta.uid;
  push({Queued::Kind::PodDeleted, false, std::move(o), {}});
}

void ClusterLearner::onJob(const kube::Job& job) {
  if (!active() || !job.finished()) return;
  auto o = jobObservation(job, 0);
  if (!o) return;
  push({Queued::Kind::Job, true, {}, std::move(*o)});
}

void ClusterLearner::offerUsage(std::vector<UsageSample> samples) {
  std::lock_guard lock(mu_);
  if (!active_) return;
  if (samples.size() > cfg_.maxSamples) samples.resize(cfg_.maxSamples);
  usage_ = std::move(samples);
}

Status ClusterLearner::begin(int64_t now) {
  book_ = profile::ProfileBook(limits_);
  learner_.emplace(book_);
  dirty_ = false;
  savedAt_ = now;
  {
    std::lock_guard lock(mu_);
    queue_.clear();
    usage_.reset();
    active_ = true;
  }
  auto stored = store_.load();
  if (!stored) return stored.error();
  if (!*stored) return {};
  auto book = profilesFromJson(**stored, limits_);
  if (!book) return book.error();
  book_ = std::move(*book);
  return {};
}

void ClusterLearner::end() {
  std::lock_guard lock(mu_);
  active_ = false;
  queue_.clear();
  usage_.reset();
}

bool ClusterLearner::active() const {
  std::lock_guard lock(mu_);
  return active_;
}

uint64_t ClusterLearner::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

void ClusterLearner::drain(int64_t now,
                           const std::function<std::string(const std::string&, const std::string&)>& uidOf) {
  std::vector<Queued> queue;
  std::optional<std::vector<UsageSample>> usage;
  {
    std::lock_guard lock(mu_);
    queue.swap(queue_);
    usage.swap(usage_);
  }
  // Running pods first (so the usage finds them), then the usage, then what finished or went away.
  for (const auto& q : queue) {
    if (q.kind == Queued::Kind::Pod && !q.finished) learner_->observePod(q.pod, now);
  }
  if (usage) {
    for (const auto& s : *usage) {
      const std::string uid = uidOf(s.namespaceName, s.pod);
      if (!uid.empty()) learner_->observeUsage(uid, s.container, s.cpuMilli, s.memoryBytes);
    }
  }
  bool learned = false;
  for (auto& q : queue) {
    switch (q.kind) {
      case Queued::Kind::Pod:
        if (q.finished) {
          if (q.pod.end <= 0) q.pod.end = now;
          if (q.pod.start <= 0) q.pod.start = q.pod.end;
          learner_->observePod(q.pod, now);
          learned = true;
        }
        break;
      case Queued::Kind::PodDeleted:
        learner_->podDeleted(q.pod.uid);
        break;
      case Queued::Kind::Job:
        if (q.job.end <= 0) q.job.end = now;
        learner_->observeRun(q.job, now);
        learned = true;
        break;
    }
  }
  if (learned) dirty_ = true;
}

Result<bool> ClusterLearner::maybeSave(int64_t now, bool force) {
  if (!dirty_) return false;
  if (!force && now - savedAt_ < std::chrono::duration_cast<std::chrono::seconds>(cfg_.saveInterval).count())
    return false;
  if (auto st = store_.save(profilesToJson(book_)); !st) return st.error();
  dirty_ = false;
  savedAt_ = now;
  return true;
}

}  // namespace spotfit::scaler

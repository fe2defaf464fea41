#include "webhook/pdb.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <vector>

#include "kube/json.hpp"
#include "webhook/json.hpp"
#include "webhook/options.hpp"

namespace spotfit::webhook {

int64_t jobPodsAtOnce(int64_t parallelism, std::optional<int64_t> completions, int64_t succeeded) {
  int64_t pods = std::max<int64_t>(parallelism, 0);
  if (completions) pods = std::min(pods, std::max<int64_t>(*completions - std::max<int64_t>(succeeded, 0), 0));
  return pods;
}

int64_t jobPodsAtOnce(const JobInfo& job) {
  return jobPodsAtOnce(job.parallelism, job.completions, job.succeeded);
}

int64_t pdbMinAvailable(std::string_view setting, int64_t pods) {
  if (pods <= 1) return 0;
  const bool percent = !setting.empty() && setting.back() == '%';
  if (percent) setting.remove_suffix(1);
  int64_t n = 0;
  auto [end, ec] = std::from_chars(setting.data(), setting.data() + setting.size(), n);
  if (ec != std::errc() || end != setting.data() + setting.size() || n < 0) n = 0;
  if (percent) {
    n = std::min<int64_t>(n, 100);
    n = (pods / 100) * n + ((pods % 100) * n + 99) / 100;  // ceil(n% of pods) without overflow
  }
  return std::min(n, pods - 1);
}

std::string PdbRequest::pdbName() const {
  // DNS subdomain, at most 253 characters; Job names are at most 63.
  std::string name = jobName + "-spotfit";
  if (name.size() > 253) name.resize(253);
  return name;
}

std::string PdbRequest::manifest() const {
  spotfit::kube::json::StringBuffer buf;
  spotfit::kube::json::Writer<> w(buf);
  w.StartObject();
  w.Key("apiVersion");
  w.String("policy/v1");
  w.Key("kind");
  w.String("PodDisruptionBudget");
  w.Key("metadata");
  w.StartObject();
  w.Key("name");
  json::write(w, pdbName());
  w.Key("namespace");
  json::write(w, namespace_);
  w.Key("labels");
  w.StartObject();
  w.Key("app.kubernetes.io/managed-by");
  w.String("spotfit");
  w.EndObject();
  w.Key("annotations");  // the setting, so that the reconciler can recompute minAvailable when the Job scales
  w.StartObject();
  json::write(w, kAnnMinAvailable);
  json::write(w, minAvailable);
  w.EndObject();
  w.Key("ownerReferences");
  w.StartArray();
  w.StartObject();
  w.Key("apiVersion");
  w.String("batch/v1");
  w.Key("kind");
  w.String("Job");
  w.Key("name");
  json::write(w, jobName);
  w.Key("uid");
  json::write(w, jobUid);
  w.EndObject();
  w.EndArray();
  w.EndObject();
  w.Key("spec");
  w.StartObject();
  w.Key("minAvailable");
  w.Int64(pdbMinAvailable(minAvailable, pods));
  w.Key("unhealthyPodEvictionPolicy");  // a pod that is not Ready is not protected (it may never become Ready)
  w.String("AlwaysAllow");
  w.Key("selector");
  w.StartObject();
  w.Key("matchLabels");
  w.StartObject();
  json::write(w, selectorKey);
  json::write(w, selectorValue);
  w.EndObject();
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

QueuedPdbEnsurer::QueuedPdbEnsurer(PdbWriter& writer, Observer observer, size_t rememberDone)
    : writer_(writer),
      observer_(std::move(observer)),
      rememberDone_(rememberDone),
      worker_([this] { reconcileOnce(); }, [this] { return pending() > 0; }) {}

QueuedPdbEnsurer::~QueuedPdbEnsurer() {
  stop();
}

std::string QueuedPdbEnsurer::key(const PdbRequest& r) {
  return r.namespace_ + "/" + r.jobName + "/" + r.jobUid;
}

void QueuedPdbEnsurer::ensure(const PdbRequest& request) {
  {
    std::lock_guard lock(mu_);
    const std::string k = key(request);
    if (done_.count(k)) return;  // every pod of a Job asks; the first one was enough
    pending_.emplace(k, request);
  }
  worker_.kick();
}

QueuedPdbEnsurer::PassResult QueuedPdbEnsurer::reconcileOnce() {
  std::vector<std::pair<std::string, PdbRequest>> work;
  {
    std::lock_guard lock(mu_);
    work.assign(pending_.begin(), pending_.end());
  }
  PassResult r;
  for (const auto& [k, req] : work) {
    Status s = writer_.create(req);
    if (observer_) observer_(req, s);
    std::lock_guard lock(mu_);
    if (s.ok()) {
      ++r.created;
      pending_.erase(k);
      if (done_.size() >= rememberDone_) done_.clear();
      done_.insert(k);
    } else {
      ++r.failed;
    }
  }
  return r;
}

size_t QueuedPdbEnsurer::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

void QueuedPdbEnsurer::start(std::chrono::milliseconds retry) {
  worker_.start(retry);
}

void QueuedPdbEnsurer::stop() {
  worker_.stop();
}

}  // namespace spotfit::webhook

#include "webhook/pdb.hpp"

#include <charconv>
#include <cstdint>
#include <vector>

#include "webhook/json.hpp"

namespace spotfit::webhook {

std::string PdbRequest::pdbName() const {
  // DNS subdomain, at most 253 characters; Job names are at most 63.
  std::string name = jobName + "-spotfit";
  if (name.size() > 253) name.resize(253);
  return name;
}

std::string PdbRequest::manifest() const {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
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
  if (!minAvailable.empty() && minAvailable.back() == '%') {
    json::write(w, minAvailable);
  } else {
    int64_t n = 1;
    std::from_chars(minAvailable.data(), minAvailable.data() + minAvailable.size(), n);
    w.Int64(n);
  }
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
    : writer_(writer), observer_(std::move(observer)), rememberDone_(rememberDone) {}

QueuedPdbEnsurer::~QueuedPdbEnsurer() { stop(); }

std::string QueuedPdbEnsurer::key(const PdbRequest& r) { return r.namespace_ + "/" + r.jobName + "/" + r.jobUid; }

void QueuedPdbEnsurer::ensure(const PdbRequest& request) {
  {
    std::lock_guard lock(mu_);
    const std::string k = key(request);
    if (done_.count(k)) return;  // every pod of a Job asks; the first one was enough
    pending_.emplace(k, request);
    kicked_ = true;
  }
  cv_.notify_one();
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
  std::lock_guard guard(mu_);
  if (worker_.joinable()) return;
  stopping_ = false;
  worker_ = std::thread([this, retry] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, retry, [this] { return stopping_ || kicked_; });
      if (stopping_) break;
      kicked_ = false;
      if (pending_.empty()) continue;
      lock.unlock();
      reconcileOnce();
      lock.lock();
    }
  });
}

void QueuedPdbEnsurer::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

}  // namespace spotfit::webhook

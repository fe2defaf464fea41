#pragma once
// The profile learner's cluster side (docs/profiles.md, "Who writes it"): what the leader-elected scaler
// sees of Pods, Jobs and metrics.k8s.io PodMetrics, turned into profile::ProfileLearner observations, and
// the profiles saved through the ProfileStore (key profiles.json of the ledger ConfigMap) from the leader.
//
//  - Pods come from the scaler's one Pod informer (a handler, no second watch) and Jobs from a Job
//    informer; only objects carrying the spotfit.io/workflow annotation are learned: the webhook stamps it
//    on the Jobs and pods it admits, and it is the key the webhook later looks the profile up by.
//  - A pod's per-container requests and memory limits come from its spec; OOM kills from
//    status.containerStatuses (state or lastState terminated with reason OOMKilled); its start and end
//    from status.startTime and the latest container finishedAt. A Job's run from status.startTime,
//    completionTime and succeeded + failed.
//  - Usage: PodMetricsPoller lists metrics.k8s.io/v1beta1 pods (bounded: a timeout per request, at most
//    maxSamples containers); an API that is not served means no usage (the runtime logs it once).
//
// Everything is bounded: the queue between the informer threads and the leader's loop holds at most
// LearnerConfig::maxQueued observations (the rest are dropped and counted), the learner and the book
// have their own limits (profile/learner.hpp, profile/profile.hpp), the stored JSON kMaxProfilesJsonBytes.

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "kube/client.hpp"
#include "kube/objects.hpp"
#include "profile/learner.hpp"
#include "profile/profile.hpp"
#include "scaler/learner_config.hpp"
#include "scaler/profile_store.hpp"

namespace spotfit::scaler {

// metrics.k8s.io/v1beta1 pods (PodMetrics).
extern const kube::ResourceType kPodMetrics;

struct UsageSample {
  std::string namespaceName, pod, container;
  int64_t cpuMilli = 0, memoryBytes = 0;
};

// The items of a PodMetricsList: per container usage.cpu (millicores, rounded up) and usage.memory
// (bytes). Refuses (code "invalid", naming the path) wrong types; stops after `maxSamples` containers.
Result<std::vector<UsageSample>> decodePodMetrics(const kube::json::Value& items, size_t maxSamples);

// Lists PodMetrics of all namespaces. Error code "NotServed" when the API is not there (404, 503: no
// metrics-server or its APIService unavailable); other errors as the client reports them.
class PodMetricsPoller {
 public:
  PodMetricsPoller(kube::KubeClient& client, const LearnerConfig& cfg) : client_(client), cfg_(cfg) {}
  Result<std::vector<UsageSample>> poll();

 private:
  kube::KubeClient& client_;
  LearnerConfig cfg_;
};

// The observation of a Pod or Job, or nullopt when it is not learned (no spotfit.io/workflow annotation,
// no uid). `now` stands in for an end time a finished object does not state.
std::optional<profile::PodObservation> podObservation(const kube::Pod& pod, int64_t now);
std::optional<profile::JobObservation> jobObservation(const kube::Job& job, int64_t now);

class ClusterLearner {
 public:
  ClusterLearner(ProfileStore& store, LearnerConfig cfg, profile::ProfileLimits limits = {});

  // Informer threads (thread-safe). Queued only while active (the leader's term), else ignored.
  void onPod(const kube::Pod& pod);
  void onPodDeleted(const kube::Pod& pod);
  void onJob(const kube::Job& job);
  // The poller's thread: the latest usage samples, applied by the next drain (a newer poll replaces them).
  void offerUsage(std::vector<UsageSample> samples);

  // The leader's term. begin() loads the stored profiles into a fresh book (nothing stored: empty; an
  // unreadable store: an error, and the book starts empty) and starts queueing; end() stops queueing.
  Status begin(int64_t now);
  void end();
  bool active() const;

  // The leader's loop: applies the queued observations and the offered usage to the learner. `uidOf`
  // maps (namespace, pod name) to the uid of the pod the informer holds ("" when unknown).
  void drain(int64_t now, const std::function<std::string(const std::string&, const std::string&)>& uidOf);
  // Saves profiles.json when something was learned since the last save and saveInterval has passed (or
  // `force`, at the end of a term). Returns whether it wrote.
  Result<bool> maybeSave(int64_t now, bool force = false);

  const profile::ProfileBook& book() const { return book_; }
  const profile::ProfileLearner& learner() const { return *learner_; }
  uint64_t dropped() const;

 private:
  struct Queued {
    enum class Kind { Pod, PodDeleted, Job } kind;
    bool finished = false;
    profile::PodObservation pod;
    profile::JobObservation job;
  };
  void push(Queued q);

  ProfileStore& store_;
  LearnerConfig cfg_;
  profile::ProfileBook book_;
  profile::ProfileLimits limits_;
  std::optional<profile::ProfileLearner> learner_;  // fresh each term
  mutable std::mutex mu_;                           // guards the fields below
  bool active_ = false;
  std::vector<Queued> queue_;
  std::optional<std::vector<UsageSample>> usage_;
  uint64_t dropped_ = 0;
  // The leader's loop only.
  bool dirty_ = false;
  int64_t savedAt_ = 0;
};

}  // namespace spotfit::scaler

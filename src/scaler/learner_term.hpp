#pragma once
// One leadership term of the profile learner (scaler/kube_learner.hpp) in `serve --scaler`: loads the
// stored profiles, registers the pods already running, polls metrics.k8s.io on its own thread (every
// scaler.profiles.metricsInterval, each request bounded by metricsTimeout), and on each pass of the
// leader's loop applies what the informers queued and saves when due. A PodMetrics API that is not served
// is logged once per term; learning goes on without usage.

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "kube/informer.hpp"
#include "scaler/kube_learner.hpp"

namespace spotfit::scaler {

// Adds the learner's handlers to the scaler's Pod and Job informers (before they start).
void attachLearner(ClusterLearner& learner, kube::Informer<kube::Pod>& pods, kube::Informer<kube::Job>& jobs);

class LearnerTerm {
 public:
  using Log = std::function<void(const std::string&)>;
  // `client` null: no usage polling.
  LearnerTerm(ClusterLearner& learner, const LearnerConfig& cfg, kube::KubeClient* client,
              const kube::Informer<kube::Pod>& pods, int64_t now, Log log);
  ~LearnerTerm();  // stops the poller and the queueing; no save (see finish)
  LearnerTerm(const LearnerTerm&) = delete;
  LearnerTerm& operator=(const LearnerTerm&) = delete;

  void tick(int64_t now);
  // A clean stop: the last learned profiles are saved (the lease is still ours).
  void finish(int64_t now);

 private:
  void pollLoop(std::stop_token stop);
  ClusterLearner& learner_;
  LearnerConfig cfg_;
  kube::KubeClient* client_;
  const kube::Informer<kube::Pod>& pods_;
  Log log_;
  std::mutex mu_;
  std::condition_variable_any cv_;
  std::jthread poller_;
};

}  // namespace spotfit::scaler

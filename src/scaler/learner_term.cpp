#include "scaler/learner_term.hpp"

namespace spotfit::scaler {

void attachLearner(ClusterLearner& learner, kube::Informer<kube::Pod>& pods, kube::Informer<kube::Job>& jobs) {
  kube::InformerHandlers<kube::Pod> ph;
  ph.onAdd = [&learner](const kube::Pod& p) { learner.onPod(p); };
  ph.onUpdate = [&learner](const kube::Pod&, const kube::Pod& p) { learner.onPod(p); };
  ph.onDelete = [&learner](const kube::Pod& p) { learner.onPodDeleted(p); };
  pods.addHandler(std::move(ph));
  kube::InformerHandlers<kube::Job> jh;
  jh.onAdd = [&learner](const kube::Job& j) { learner.onJob(j); };
  jh.onUpdate = [&learner](const kube::Job&, const kube::Job& j) { learner.onJob(j); };
  jobs.addHandler(std::move(jh));
}

LearnerTerm::LearnerTerm(ClusterLearner& learner, const LearnerConfig& cfg, kube::KubeClient* client,
                         const kube::Informer<kube::Pod>& pods, int64_t now, Log log)
    : learner_(learner), cfg_(cfg), client_(client), pods_(pods), log_(std::move(log)) {
  if (auto st = learner_.begin(now); !st) {
    log_("profiles: stored profiles not loaded, learning from empty: " + st.error().message);
  }
  // Pods already running when the term starts (finished ones are left: the last leader may have learned them).
  for (const auto& p : pods_.store().list()) {
    if (!p->terminal()) learner_.onPod(*p);
  }
  if (client_ != nullptr && cfg_.metricsInterval > Duration::zero()) {
    poller_ = std::jthread([this](std::stop_token stop) { pollLoop(stop); });
  }
}

LearnerTerm::~LearnerTerm() {
  if (poller_.joinable()) {
    poller_.request_stop();
    cv_.notify_all();
    poller_.join();
  }
  learner_.end();
}

void LearnerTerm::pollLoop(std::stop_token stop) {
  PodMetricsPoller poller(*client_, cfg_);
  bool notServedLogged = false, failedLogged = false;
  while (!stop.stop_requested()) {
    auto samples = poller.poll();
    if (samples) {
      learner_.offerUsage(std::move(*samples));
      if (notServedLogged || failedLogged) log_("profiles: metrics.k8s.io PodMetrics readable again");
      notServedLogged = failedLogged = false;
    } else if (samples.error().code == "NotServed") {
      if (!notServedLogged) log_("profiles: no usage (" + samples.error().message + "); learning without it");
      notServedLogged = true;
    } else if (!failedLogged) {
      log_("profiles: PodMetrics poll failed: " + samples.error().message);
      failedLogged = true;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, stop, cfg_.metricsInterval, [] { return false; });
  }
}

void LearnerTerm::tick(int64_t now) {
  learner_.drain(now, [this](const std::string& ns, const std::string& name) -> std::string {
    auto p = pods_.store().get(ns + "/" + name);
    return p ? p->meta.uid : std::string();
  });
  if (auto saved = learner_.maybeSave(now); !saved) {
    log_("profiles: save failed: " + saved.error().message);
  }
}

void LearnerTerm::finish(int64_t now) {
  tick(now);
  if (auto saved = learner_.maybeSave(now, /*force=*/true); !saved) {
    log_("profiles: final save failed: " + saved.error().message);
  }
}

}  // namespace spotfit::scaler

#pragma once
// The learner's pure core: what a role that watches Jobs and Pods (and polls metrics.k8s.io PodMetrics)
// tells it, turned into ProfileBook::recordPod (once per finished pod) and ProfileBook::recordRun (once per
// finished Job, with the peak number of its pods that ran at once). Pure and bounded like the book: at
// most LearnerLimits::maxPods live pods and maxRuns live runs are tracked (the rest are not learned), and
// the uids already recorded are remembered in a fixed-size ring so a re-listed object is not counted twice.
//
// Not wired to a cluster yet (docs/profiles.md, "Who writes it"): the kube adapter that decodes Pods'
// container statuses (OOMKilled) and per-container requests and polls PodMetrics is open work.

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "profile/profile.hpp"

namespace spotfit::profile {

struct LearnerLimits {
  size_t maxPods = 20000;       // live pods tracked
  size_t maxRuns = 2000;        // live runs (Jobs) tracked
  size_t maxPodsPerRun = 5000;  // pod intervals kept per run for its peak concurrency
};

// A pod as the adapter decoded it.
struct PodObservation {
  std::string uid;
  ProfileKey key;   // its workflow
  std::string run;  // its Job's uid (empty for a bare pod)
  // Per container: name, requests, memory limit (else request) and whether it was OOM-killed; the usage
  // fields are ignored here (usage comes through observeUsage).
  std::vector<ContainerObservation> containers;
  int64_t start = 0;  // epoch seconds it started running; 0 while not started
  int64_t end = 0;    // epoch seconds it finished; 0 while running
};

// A Job as the adapter decoded it.
struct JobObservation {
  std::string uid;
  ProfileKey key;
  int64_t start = 0;  // status.startTime
  int64_t end = 0;    // status.completionTime (or the Failed condition's time); 0 while running
  int64_t pods = 0;   // status.succeeded + status.failed
};

class ProfileLearner {
 public:
  explicit ProfileLearner(ProfileBook& book, LearnerLimits limits = {}) : book_(book), limits_(limits) {}

  // A pod seen (added or updated). A finished pod (end > 0) is recorded once, with the usage peaks seen.
  void observePod(const PodObservation& pod, int64_t now);
  // One usage sample of a live pod's container (millicores, working-set bytes); unknown pods are ignored.
  void observeUsage(const std::string& podUid, const std::string& container, int64_t cpuMilli, int64_t memoryBytes);
  // A Job seen. A finished Job (end > 0) is recorded once as a run, with its pods' peak concurrency.
  void observeRun(const JobObservation& run, int64_t now);
  // A pod deleted before it was seen finished: forgotten without learning from it.
  void podDeleted(const std::string& uid);

  size_t livePods() const { return pods_.size(); }
  size_t liveRuns() const { return runs_.size(); }

 private:
  struct LivePod {
    ProfileKey key;
    std::string run;
    std::map<std::string, std::pair<int64_t, int64_t>> peaks;  // container -> (cpu, memory)
  };
  bool recorded(const std::string& uid) const;
  void remember(const std::string& uid);
  std::vector<std::pair<int64_t, int64_t>>* intervals(const std::string& run);

  ProfileBook& book_;
  LearnerLimits limits_;
  std::map<std::string, LivePod> pods_;
  std::map<std::string, std::vector<std::pair<int64_t, int64_t>>> runs_;  // run uid -> its pods' [start, end]
  // Uids already recorded (pods and Jobs), the last kRemembered of them: a ring for the order, a set to ask.
  static constexpr size_t kRemembered = 4096;
  std::array<std::string, kRemembered> doneRing_{};
  std::set<std::string> done_;
  size_t doneNext_ = 0;
};

// The most intervals [start, end) that overlap at one instant.
int64_t peakConcurrency(std::vector<std::pair<int64_t, int64_t>> intervals);

}  // namespace spotfit::profile

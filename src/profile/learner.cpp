#include "profile/learner.hpp"

#include <algorithm>

namespace spotfit::profile {

int64_t peakConcurrency(std::vector<std::pair<int64_t, int64_t>> intervals) {
  std::vector<std::pair<int64_t, int>> edges;
  edges.reserve(intervals.size() * 2);
  for (const auto& [start, end] : intervals) {
    if (end <= start) continue;
    edges.emplace_back(start, +1);
    edges.emplace_back(end, -1);
  }
  std::sort(edges.begin(), edges.end());  // at one instant an end (-1) sorts before a start (+1)
  int64_t now = 0, peak = 0;
  for (const auto& [t, d] : edges) peak = std::max(peak, now += d);
  return peak;
}

bool ProfileLearner::recorded(const std::string& uid) const {
  return done_.count(uid) > 0;
}

void ProfileLearner::remember(const std::string& uid) {
  if (!doneRing_[doneNext_].empty()) done_.erase(doneRing_[doneNext_]);
  doneRing_[doneNext_] = uid;
  done_.insert(uid);
  doneNext_ = (doneNext_ + 1) % kRemembered;
}

std::vector<std::pair<int64_t, int64_t>>* ProfileLearner::intervals(const std::string& run) {
  if (run.empty() || recorded(run)) return nullptr;
  auto it = runs_.find(run);
  if (it == runs_.end()) {
    if (runs_.size() >= limits_.maxRuns) return nullptr;
    it = runs_.emplace(run, std::vector<std::pair<int64_t, int64_t>>{}).first;
  }
  return &it->second;
}

void ProfileLearner::observePod(const PodObservation& pod, int64_t now) {
  if (pod.uid.empty() || recorded(pod.uid)) return;
  auto it = pods_.find(pod.uid);
  if (pod.end <= 0) {  // running: track it for its usage peaks, while there is room
    if (it == pods_.end() && pods_.size() < limits_.maxPods) pods_.emplace(pod.uid, LivePod{pod.key, pod.run, {}});
    return;
  }
  // Finished: learned once, with the peaks seen while it ran (none when it was never tracked).
  std::vector<ContainerObservation> containers = pod.containers;
  for (auto& c : containers) {
    c.peakCpuMilli = c.peakMemoryBytes = 0;
    if (it == pods_.end()) continue;
    if (auto peak = it->second.peaks.find(c.name); peak != it->second.peaks.end()) {
      c.peakCpuMilli = peak->second.first;
      c.peakMemoryBytes = peak->second.second;
    }
  }
  book_.recordPod(pod.key, containers, now);
  if (pod.start > 0) {
    if (auto* v = intervals(pod.run); v && v->size() < limits_.maxPodsPerRun) v->emplace_back(pod.start, pod.end);
  }
  if (it != pods_.end()) pods_.erase(it);
  remember(pod.uid);
}

void ProfileLearner::observeUsage(const std::string& podUid, const std::string& container, int64_t cpuMilli,
                                  int64_t memoryBytes) {
  auto it = pods_.find(podUid);
  if (it == pods_.end()) return;
  auto& peaks = it->second.peaks;
  auto peak = peaks.find(container);
  if (peak == peaks.end()) {
    if (peaks.size() >= book_.limits().maxContainers) return;
    peak = peaks.emplace(container, std::pair<int64_t, int64_t>{0, 0}).first;
  }
  peak->second.first = std::max(peak->second.first, cpuMilli);
  peak->second.second = std::max(peak->second.second, memoryBytes);
}

void ProfileLearner::observeRun(const JobObservation& run, int64_t now) {
  if (run.uid.empty() || run.end <= 0 || recorded(run.uid)) return;
  int64_t peak = 0;
  if (auto it = runs_.find(run.uid); it != runs_.end()) {
    peak = peakConcurrency(it->second);
    runs_.erase(it);
  }
  book_.recordRun(run.key, RunObservation{run.start, run.end, run.pods, peak}, now);
  remember(run.uid);
}

void ProfileLearner::podDeleted(const std::string& uid) {
  pods_.erase(uid);
}

}  // namespace spotfit::profile

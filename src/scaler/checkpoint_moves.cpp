#include "scaler/checkpoint_moves.hpp"

#include <algorithm>
#include <chrono>

namespace spotfit::scaler {

std::string jobKey(const placement::PodInfo& pod) {
  if (pod.ownerKind != "Job" || pod.ownerName.empty()) return "";
  return pod.namespace_ + "/" + pod.ownerName;
}

void JobHistory::record(const std::string& job, const std::string& uid, double seconds) {
  if (job.empty() || !(seconds > 0)) return;
  auto it = jobs_.find(job);
  if (it == jobs_.end()) {
    if (jobs_.size() >= kMaxJobs) {
      auto oldest = std::min_element(jobs_.begin(), jobs_.end(),
                                     [](const auto& a, const auto& b) { return a.second.touched < b.second.touched; });
      jobs_.erase(oldest);
    }
    it = jobs_.emplace(job, Entry{}).first;
  }
  Entry& e = it->second;
  for (const auto& s : e.samples)
    if (s.first == uid) return;  // seen in an earlier pass
  if (e.samples.size() >= kMaxSamples) e.samples.erase(e.samples.begin());
  e.samples.emplace_back(uid, seconds);
  e.touched = ++clock_;
}

void JobHistory::observe(const ClusterSnapshot& snap) {
  for (const auto& p : snap.pods) {
    if (p.info.phase != placement::PodPhase::Succeeded) continue;
    if (p.boundAt == TimePoint{} || p.finishedAt == TimePoint{} || p.finishedAt <= p.boundAt) continue;
    record(jobKey(p.info), p.info.uid, std::chrono::duration<double>(p.finishedAt - p.boundAt).count());
  }
}

std::optional<double> JobHistory::expectedSeconds(const placement::PodInfo& pod, double elapsedSeconds) const {
  auto it = jobs_.find(jobKey(pod));
  if (it == jobs_.end() || it->second.samples.size() < kMinSamples) return std::nullopt;
  double sum = 0;
  size_t n = 0;
  for (const auto& s : it->second.samples) {
    if (s.second <= elapsedSeconds) continue;
    sum += s.second;
    ++n;
  }
  if (n == 0) return std::nullopt;
  return sum / static_cast<double>(n);
}

placement::MovePolicy movePolicy(const NodePool& pool) {
  placement::MovePolicy m;
  m.restartSeconds = std::chrono::duration<double>(pool.disruption.checkpointRestartTime).count();
  m.lostWorkFraction = pool.disruption.checkpointLostWork;
  m.marginUsd = pool.disruption.moveMargin;
  return m;
}

std::string checkpointMoveBlocker(const ClusterNode& node, const std::vector<const ClusterPod*>& pods,
                                  const NodePool& pool, std::optional<double> savingsPerHour, const JobHistory& history,
                                  TimePoint now) {
  std::vector<placement::RunningPod> running;
  for (const ClusterPod* p : pods) {
    if (p->info.ownerKind != "Job" || p->info.phase != placement::PodPhase::Running) continue;
    placement::RunningPod rp;
    rp.pod = &p->info;
    rp.elapsedSeconds = p->boundAt == TimePoint{} ? 0 : std::chrono::duration<double>(now - p->boundAt).count();
    rp.expectedSeconds = placement::annotatedExpectedSeconds(p->info);
    if (!rp.expectedSeconds) rp.expectedSeconds = history.expectedSeconds(p->info, rp.elapsedSeconds);
    running.push_back(rp);
  }
  if (running.empty()) return "";
  if (!pool.disruption.disruptCheckpointedJobs) return "pod " + running.front().pod->key() + " is a running Job pod";
  placement::NodeInfo priced = node.info;
  if (priced.hourlyPrice <= 0) {
    if (const InstanceType* t = pool.instanceType(priced.instanceType))
      priced.hourlyPrice = t->price(priced.capacityType);
  }
  auto v = placement::evaluateMoves(priced, running, savingsPerHour.value_or(priced.hourlyPrice), movePolicy(pool));
  return v.pays ? "" : v.reason;
}

}  // namespace spotfit::scaler

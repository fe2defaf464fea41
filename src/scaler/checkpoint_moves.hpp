#pragma once
// Checkpoint-aware consolidation in the scaler: the Job history that estimates how long a Job's pods run,
// and the node-level check that a consolidation moving running Job pods pays for itself
// (placement::evaluateMoves).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "placement/move_payoff.hpp"
#include "scaler/nodepool.hpp"
#include "scaler/snapshot.hpp"

namespace spotfit::scaler {

// Observed runtimes (bound -> finished) of the Succeeded pods of each Job, the fallback when a pod has no
// spotfit.io/expected-duration. Bounded: at most kMaxJobs Jobs (the least recently updated is forgotten)
// and the last kMaxSamples runtimes per Job.
class JobHistory {
 public:
  static constexpr size_t kMaxJobs = 4096;
  static constexpr size_t kMaxSamples = 32;
  static constexpr size_t kMinSamples = 3;  // fewer observations give no estimate

  void observe(const ClusterSnapshot& snap);
  void record(const std::string& job, const std::string& uid, double seconds);
  // Expected total runtime of a pod of this Job that has run `elapsedSeconds`: the mean of the observed
  // runtimes longer than that (the mean residual life of the samples), once kMinSamples pods of the Job
  // finished; nullopt without enough history or when no observed pod ran that long.
  std::optional<double> expectedSeconds(const placement::PodInfo& pod, double elapsedSeconds = 0) const;
  size_t jobs() const { return jobs_.size(); }

 private:
  struct Entry {
    std::vector<std::pair<std::string, double>> samples;  // (pod uid, seconds), oldest first
    uint64_t touched = 0;
  };
  std::map<std::string, Entry> jobs_;
  uint64_t clock_ = 0;
};

// The Job key ("namespace/job") of a pod owned by a Job; empty otherwise.
std::string jobKey(const placement::PodInfo& pod);

// The move policy of a pool (disruption.checkpointRestartTime, checkpointLostWork, moveMargin).
placement::MovePolicy movePolicy(const NodePool& pool);

// Empty when removing `node` (saving `savingsPerHour`, by default the node's own price) may evict its running Job pods:
// none, or all of them resumable and the saving over their expected remaining runtime beats the restarts plus the
// margin. Otherwise the reason to keep the node. Pods' expected runtime: spotfit.io/expected-duration, else history.
std::string checkpointMoveBlocker(const ClusterNode& node, const std::vector<const ClusterPod*>& pods,
                                  const NodePool& pool, std::optional<double> savingsPerHour, const JobHistory& history,
                                  TimePoint now);

}  // namespace spotfit::scaler

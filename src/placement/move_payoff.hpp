#pragma once
// Checkpoint-aware moves: may consolidation evict a node's running Job pods, and does it pay?
//
// A running Job pod is moved only when it can resume (isResumable) and the node's saving over the
// pods' expected remaining runtime exceeds what the moves cost (checkpoint, restart, lost work) plus a
// margin. The saving lasts as long as the node would otherwise stay: until the last of its Job pods
// finishes, so saving = savingsPerHour × max remaining runtime. Each moved pod costs its share of the
// node price (largest of cpu, memory and GPU requested ÷ allocatable, × the node's hourly price) over
// the time the move adds to it: the restart time plus the progress lost since its last checkpoint
// (lostWorkFraction × elapsed). A pod whose remaining runtime is unknown, or that is already past its
// expected duration, gives no saving to weigh: the move does not pay. Non-resumable pods are never moved.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/vocabulary.hpp"
#include "placement/model.hpp"

namespace spotfit::placement {

// spotfit.io/checkpoint: the checkpoint command (webhook); non-empty and not "none" marks the pod resumable.
inline constexpr std::string_view kAnnotationCheckpoint = vocab::kAnnotationCheckpoint;
// spotfit.io/resumable: "true" when the program resumes from the site's default checkpoint (no command of
// its own); "false" marks it not resumable even with a checkpoint command.
inline constexpr std::string_view kAnnotationResumable = vocab::kAnnotationResumable;
// spotfit.io/expected-duration: how long one pod of the Job runs (Go duration, e.g. "45m", "3h").
inline constexpr std::string_view kAnnotationExpectedDuration = vocab::kAnnotationExpectedDuration;

bool isResumable(const PodInfo& pod);

// The pod's spotfit.io/expected-duration in seconds; nullopt when absent or not a valid positive duration.
std::optional<double> annotatedExpectedSeconds(const PodInfo& pod);

struct MovePolicy {
  double restartSeconds = 60;   // checkpoint save + reschedule + restore: time a moved pod makes no progress
  double lostWorkFraction = 0;  // share of the elapsed runtime a move throws away (work since the last checkpoint)
  double marginUsd = 0.01;      // the saving must exceed the moves' cost by at least this much
};

struct RunningPod {
  const PodInfo* pod = nullptr;
  double elapsedSeconds = 0;              // since it started running
  std::optional<double> expectedSeconds;  // total expected runtime (annotation, else the Job's history)
};

struct MoveVerdict {
  bool pays = false;
  double savingUsd = 0;  // savingsPerHour × the longest expected remaining runtime
  double costUsd = 0;    // restart and lost work of every moved pod
  std::string reason;    // why not (empty when it pays), or the figures when it does
};

// Evaluates moving `pods` (the running Job pods of `node`) to save `savingsPerHour`.
MoveVerdict evaluateMoves(const NodeInfo& node, const std::vector<RunningPod>& pods, double savingsPerHour,
                          const MovePolicy& policy);

}  // namespace spotfit::placement

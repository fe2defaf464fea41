// Gangs in the simulator (docs/simulate.md, "Gangs"): a job whose pods carry spotfit.io/gang: "true"
// does no work until all its members run. A member bound while others still wait holds its node idle
// (idle member-hours); when the last member binds, every member starts (after the pod start-up time).
// Losing a running member (interruption, eviction) pauses the others: their progress so far is kept,
// and they wait, idle, until the gang is whole again.

#include <algorithm>

#include "placement/gang_detect.hpp"
#include "sim/cluster.hpp"

namespace spotfit::sim {

namespace {

double hoursOf(Millis ms) {
  return static_cast<double>(ms) / static_cast<double>(kHour);
}

}  // namespace

void Cluster::gangJobStarted(uint32_t jobIndex) {
  JobRun& job = jobs_[jobIndex];
  const auto& ann = classes_[job.cls].info.annotations;
  auto it = ann.find(placement::kAnnotationGang);
  job.gang = it != ann.end() && it->second == "true";
  if (!job.gang) return;
  job.gangSubmitted = now_;
  ++result_.gangs;
}

void Cluster::gangTaskCreated(uint32_t taskIndex) {
  JobRun& job = jobs_[tasks_[taskIndex].job];
  if (job.gang) job.members.push_back(taskIndex);
}

bool Cluster::gangHold(uint32_t taskIndex) {
  Task& t = tasks_[taskIndex];
  JobRun& job = jobs_[t.job];
  if (!job.gang) return false;
  ++job.gangBound;
  const JobSpec& spec = jobSpec(job);
  // Members still to run: a gang of parallelism == completions needs all of them at once.
  const int64_t size = std::min(spec.parallelism, spec.completions - job.completed);
  if (job.gangStarted || job.gangBound < size) {
    if (!job.gangStarted) t.heldSince = now_;
    return job.gangStarted ? false : true;
  }
  // The last member: everyone starts together once its pod has started.
  const Millis start = now_ + w_.provisioning.podStartup;
  job.gangStarted = true;
  if (!job.gangAllRanOnce) {
    job.gangAllRanOnce = true;
    gangAllRunning_.push_back(static_cast<double>(start - job.gangSubmitted) / kSecond);
  }
  for (uint32_t m : job.members) {
    Task& mt = tasks_[m];
    if (mt.state != TaskState::Running) continue;
    if (mt.heldSince >= 0) {
      result_.gangIdleMemberHours += hoursOf(start - mt.heldSince);
      mt.heldSince = -1;
    }
    mt.runStart = start;
    push(mt.runStart + (mt.work - mt.done), EvType::TaskFinish, m, mt.attempt);
  }
  return true;
}

void Cluster::gangUnbound(uint32_t taskIndex) {
  Task& t = tasks_[taskIndex];
  JobRun& job = jobs_[t.job];
  if (!job.gang) return;
  --job.gangBound;
  if (t.heldSince >= 0) {
    result_.gangIdleMemberHours += hoursOf(now_ - t.heldSince);
    t.heldSince = -1;
  }
}

void Cluster::gangMemberLost(uint32_t taskIndex) {
  Task& t = tasks_[taskIndex];
  JobRun& job = jobs_[t.job];
  if (!job.gang || !job.gangStarted || t.heldSince >= 0) return;
  job.gangStarted = false;
  for (uint32_t m : job.members) {
    if (m == taskIndex) continue;
    Task& mt = tasks_[m];
    if (mt.state != TaskState::Running) continue;
    const Millis progress = std::clamp<Millis>(now_ - mt.runStart, 0, mt.work - mt.done);
    mt.done += progress;
    ++mt.attempt;  // its finish waits for the gang to be whole again
    mt.heldSince = now_;
  }
}

void Cluster::gangFinish() {
  for (Task& t : tasks_) {
    if (t.heldSince >= 0 && t.state == TaskState::Running) {
      result_.gangIdleMemberHours += hoursOf(now_ - t.heldSince);
      t.heldSince = -1;
    }
  }
}

}  // namespace spotfit::sim

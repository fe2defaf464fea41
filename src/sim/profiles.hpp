#pragma once
// How `spotfit simulate` models right-sizing from workflow profiles (docs/profiles.md): a job annotated
// spotfit.io/right-size: profile has no VPA; its first runs use the requests as written, each finished
// run teaches the profile (the pods' usage, the run's duration and pods), and once the profile has
// RightSizeConfig::minRuns runs the webhook's rule (profile::recommend, the same code the webhook runs)
// sizes the next runs. Each job of a workflow is its own template here ("workflow/job"), since every job
// has its own pod template. The pods' usage is fixed per job in a workload, so the learned requests are
// stable from the first learned run on.

#include <map>
#include <string>

#include "profile/profile.hpp"
#include "sim/cluster.hpp"
#include "sim/engine.hpp"
#include "sim/workload.hpp"

namespace spotfit::sim {

// The strategy right-sizes and the job's annotations ask for profile-based requests.
bool profileSized(const StrategyConfig& s, const std::map<std::string, std::string>& annotations);
profile::ProfileKey simProfileKey(const WorkflowSpec& wf, const JobSpec& job);
// The profile when it is ready to size pods (minRuns runs), else nullptr.
const profile::WorkflowProfile* learnedProfile(const profile::ProfileBook& book, const WorkflowSpec& wf,
                                               const JobSpec& job, const profile::RightSizeConfig& cfg);
// One finished job run: its pods' usage and the run (start at the workflow's arrival, end now).
void learnJobRun(profile::ProfileBook& book, const WorkflowSpec& wf, const JobSpec& job, const PodClass& cls,
                 Millis arrival, Millis now);
// Counts a created pod of a profile-sized job in its workflow's request/usage figures.
void countRequestUsage(WorkflowCost& wc, const PodClass& cls);

}  // namespace spotfit::sim

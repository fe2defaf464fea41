#include "sim/profiles.hpp"

#include "base/vocabulary.hpp"

namespace spotfit::sim {

bool profileSized(const StrategyConfig& s, const std::map<std::string, std::string>& annotations) {
  auto it = annotations.find(vocab::kAnnotationRightSize);
  return s.rightSize && it != annotations.end() && it->second == "profile";
}

profile::ProfileKey simProfileKey(const WorkflowSpec& wf, const JobSpec& job) {
  return {"default", wf.name + "/" + job.name};
}

const profile::WorkflowProfile* learnedProfile(const profile::ProfileBook& book, const WorkflowSpec& wf,
                                               const JobSpec& job, const profile::RightSizeConfig& cfg) {
  const profile::WorkflowProfile* p = book.find(simProfileKey(wf, job));
  return p && p->runs >= cfg.minRuns ? p : nullptr;
}

void learnJobRun(profile::ProfileBook& book, const WorkflowSpec& wf, const JobSpec& job, const PodClass& cls,
                 Millis arrival, Millis now) {
  const profile::ProfileKey key = simProfileKey(wf, job);
  profile::ContainerObservation c;
  c.name = "main";
  c.peakCpuMilli = cls.usage.cpuMilli;
  c.peakMemoryBytes = cls.usage.memory;
  c.requestCpuMilli = cls.requests.cpuMilli;
  c.requestMemoryBytes = cls.requests.memory;
  book.recordPod(key, {c}, now / kSecond);
  book.recordRun(key, profile::RunObservation{arrival / kSecond, now / kSecond, job.completions, job.parallelism},
                 now / kSecond);
}

void countRequestUsage(WorkflowCost& wc, const PodClass& cls) {
  WorkflowCost::RequestUsage& r = cls.profileLearned ? wc.learned : wc.asWritten;
  ++r.pods;
  r.requestCpuMilli += static_cast<double>(cls.requests.cpuMilli);
  r.usageCpuMilli += static_cast<double>(cls.usage.cpuMilli);
  r.requestMemoryBytes += static_cast<double>(cls.requests.memory);
  r.usageMemoryBytes += static_cast<double>(cls.usage.memory);
}

}  // namespace spotfit::sim

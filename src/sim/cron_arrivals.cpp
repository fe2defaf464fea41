// CronJob workflows in the simulator: cron arrival times, the CronJobs the scaler sees (pre-warming,
// scaler/prewarm.hpp) and their pre-warm ledger lines in the result.

#include "placement/cron.hpp"
#include "scaler/scaler.hpp"
#include "sim/cluster.hpp"
#include "sim/workload.hpp"

namespace spotfit::sim {

std::vector<Millis> cronArrivals(const std::string& schedule, Millis horizon, size_t cap) {
  std::vector<Millis> out;
  auto s = placement::parseCron(schedule);
  if (!s) return out;  // the workload parser refused it already
  int64_t after = -1;  // virtual time 0 is 1970-01-01T00:00:00Z; a run at 0 counts
  while (out.size() < cap) {
    auto next = placement::nextFire(*s, after);
    if (!next || *next * kSecond > horizon) break;
    out.push_back(*next * kSecond);
    after = *next;
  }
  return out;
}

void Cluster::buildCronJobs() {
  for (uint32_t i = 0; i < w_.workflows.size(); ++i) {
    const WorkflowSpec& wf = w_.workflows[i];
    if (!wf.arrival.cron || wf.jobs.empty()) continue;
    // One run's first pods: the first job without dependencies (the pods the fire time creates).
    uint32_t first = 0;
    while (first < wf.jobs.size() && !wf.jobs[first].after.empty()) ++first;
    if (first == wf.jobs.size()) continue;
    const PodClass& cls = classes_[podClass(i, first)];
    scaler::CronJobInfo cj;
    cj.namespace_ = cls.info.namespace_;
    cj.name = wf.name;
    cj.uid = "cronjob-" + wf.name;
    cj.schedule = *wf.arrival.cron;
    if (auto it = wf.annotations.find(scaler::kAnnotationPrewarm); it != wf.annotations.end()) cj.prewarm = it->second;
    cj.pods = std::min(wf.jobs[first].parallelism, wf.jobs[first].completions);
    cj.podTemplate = cls.info;
    cronJobs_.push_back(std::move(cj));
  }
}

void Cluster::addPrewarmCosts(Millis end) {
  if (!scaler_) return;
  for (const auto& cj : cronJobs_) {
    const double usd = scaler_->ledger().workflowSpend(
        {cj.namespace_, cj.name + std::string(scaler::kPrewarmLedgerSuffix)}, timePoint(end));
    if (usd > 0) result_.byWorkflow[cj.name].prewarmUsd = usd;
  }
}

}  // namespace spotfit::sim

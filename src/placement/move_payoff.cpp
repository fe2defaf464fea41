#include "placement/move_payoff.hpp"

#include <algorithm>
#include <cstdio>

#include "base/duration.hpp"

namespace spotfit::placement {

namespace {

std::string_view annotation(const PodInfo& pod, std::string_view key) {
  auto it = pod.annotations.find(key);
  return it == pod.annotations.end() ? std::string_view() : std::string_view(it->second);
}

double share(int64_t used, int64_t cap) {
  return cap > 0 ? static_cast<double>(used) / static_cast<double>(cap) : 0.0;
}

std::string usd(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "$%.4f", v);
  return buf;
}

}  // namespace

bool isResumable(const PodInfo& pod) {
  std::string_view r = annotation(pod, kAnnotationResumable);
  if (r == "true") return true;
  if (r == "false") return false;
  std::string_view cp = annotation(pod, kAnnotationCheckpoint);
  return !cp.empty() && cp != "none";
}

std::optional<double> annotatedExpectedSeconds(const PodInfo& pod) {
  auto it = pod.annotations.find(kAnnotationExpectedDuration);
  if (it == pod.annotations.end()) return std::nullopt;
  auto d = base::parseDuration(it->second);
  if (!d || d->count() <= 0) return std::nullopt;
  return static_cast<double>(d->count()) / 1000.0;
}

MoveVerdict evaluateMoves(const NodeInfo& node, const std::vector<RunningPod>& pods, double savingsPerHour,
                          const MovePolicy& policy) {
  MoveVerdict v;
  double longestRemaining = 0;
  for (const RunningPod& rp : pods) {
    const PodInfo& pod = *rp.pod;
    if (!isResumable(pod)) {
      v.reason = "pod " + pod.key() + " is a running Job pod that cannot resume from a checkpoint";
      return v;
    }
    if (!rp.expectedSeconds) {
      v.reason = "pod " + pod.key() + " has no expected duration (" + std::string(kAnnotationExpectedDuration) +
                 " or its Job's history)";
      return v;
    }
    const double elapsed = std::max(0.0, rp.elapsedSeconds);
    longestRemaining = std::max(longestRemaining, *rp.expectedSeconds - elapsed);
    Resources req = podRequests(pod);
    double s = std::max(share(req.cpuMilli, node.allocatable.cpuMilli), share(req.memory, node.allocatable.memory));
    s = std::max(s, share(req.gpus(), node.allocatable.gpus()));
    const double addedSeconds = std::max(0.0, policy.restartSeconds) + std::max(0.0, policy.lostWorkFraction) * elapsed;
    v.costUsd += std::min(1.0, s) * node.hourlyPrice * addedSeconds / 3600.0;
  }
  v.savingUsd = std::max(0.0, savingsPerHour) * longestRemaining / 3600.0;
  if (v.savingUsd > v.costUsd + policy.marginUsd) {
    v.pays = true;
    v.reason = "moving " + std::to_string(pods.size()) + " running Job pod(s) saves " + usd(v.savingUsd) +
               " over their expected remaining runtime for " + usd(v.costUsd) + " of restarts";
  } else {
    v.reason = "moving its " + std::to_string(pods.size()) + " running Job pod(s) saves " + usd(v.savingUsd) +
               " over their expected remaining runtime, not more than " + usd(v.costUsd) + " of restarts + " +
               usd(policy.marginUsd) + " margin";
  }
  return v;
}

}  // namespace spotfit::placement

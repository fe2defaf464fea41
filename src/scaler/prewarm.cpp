#include "scaler/prewarm.hpp"

#include <algorithm>
#include <cmath>

namespace spotfit::scaler {

Result<PrewarmSetting> parsePrewarm(const std::optional<std::string>& annotation) {
  PrewarmSetting s;
  if (!annotation || *annotation == "off") return s;
  if (*annotation == "auto") {
    s.enabled = true;
    return s;
  }
  auto d = parseDuration(*annotation);
  if (!d || d->count() <= 0 || *d > std::chrono::hours(24)) {
    std::string shown = annotation->substr(0, 64);
    return makeError("invalid", std::string(kAnnotationPrewarm) + " \"" + shown +
                                    "\" is not auto, off or a duration up to 24h; treated as off");
  }
  s.enabled = true;
  s.fixedLead = *d;
  return s;
}

void LaunchLeads::observe(const std::string& pool, const std::string& instanceType, Duration launchToReady) {
  const auto key = std::make_pair(pool, instanceType);
  if (!samples_.count(key) && samples_.size() >= kMaxKeys) {
    auto oldest = std::min_element(touched_.begin(), touched_.end(),
                                   [](const auto& a, const auto& b) { return a.second < b.second; });
    samples_.erase(oldest->first);
    touched_.erase(oldest);
  }
  auto& q = samples_[key];
  q.push_back(launchToReady);
  while (q.size() > kSamples) q.pop_front();
  touched_[key] = ++tick_;
}

std::map<std::pair<std::string, std::string>, std::vector<Duration>> LaunchLeads::latest(size_t maxKeys,
                                                                                         size_t maxSamples) const {
  std::vector<std::pair<uint64_t, std::pair<std::string, std::string>>> order;
  for (const auto& [key, tick] : touched_) order.emplace_back(tick, key);
  std::sort(order.rbegin(), order.rend());
  std::map<std::pair<std::string, std::string>, std::vector<Duration>> out;
  for (size_t i = 0; i < order.size() && i < maxKeys; ++i) {
    const auto& q = samples_.at(order[i].second);
    const size_t skip = q.size() > maxSamples ? q.size() - maxSamples : 0;
    out[order[i].second].assign(q.begin() + static_cast<std::ptrdiff_t>(skip), q.end());
  }
  return out;
}

void LaunchLeads::restore(const std::pair<std::string, std::string>& key, const std::vector<Duration>& samples) {
  for (const auto& d : samples) observe(key.first, key.second, d);
}

std::optional<Duration> LaunchLeads::p95(const std::string& pool, const std::string& instanceType) const {
  auto it = samples_.find({pool, instanceType});
  if (it == samples_.end() || it->second.empty()) return std::nullopt;
  std::vector<Duration> v(it->second.begin(), it->second.end());
  std::sort(v.begin(), v.end());
  const auto rank = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(v.size())));
  return v[std::max<size_t>(rank, 1) - 1];
}

Duration Prewarmer::lead(const std::string& pool, const std::string& instanceType,
                         std::optional<Duration> fixed) const {
  if (fixed) return *fixed;
  if (auto p = leads_.p95(pool, instanceType)) return *p;
  return config_.defaultLead;
}

std::vector<PrewarmDue> Prewarmer::due(const std::vector<CronJobInfo>& cronJobs, TimePoint now, Duration maxLead,
                                       std::vector<std::pair<const CronJobInfo*, std::string>>& warnings) {
  std::vector<PrewarmDue> out;
  std::set<std::string> seen;
  auto warn = [&](const CronJobInfo& cj, std::string msg) {
    auto it = warned_.find(cj.key());
    if (it != warned_.end() && it->second == msg) return;
    if (it == warned_.end() && warned_.size() >= config_.maxCronJobs) return;
    warned_[cj.key()] = msg;
    warnings.emplace_back(&cj, std::move(msg));
  };
  size_t considered = 0;
  const int64_t nowUnix = toEpochMs(now) / 1000 - (toEpochMs(now) % 1000 < 0 ? 1 : 0);
  for (const auto& cj : cronJobs) {
    auto setting = parsePrewarm(cj.prewarm);
    if (!setting) {
      seen.insert(cj.key());
      warn(cj, setting.error().message);
      continue;
    }
    if (!setting->enabled || cj.suspend) continue;
    if (++considered > config_.maxCronJobs) break;
    seen.insert(cj.key());
    // An empty .spec.timeZone means the controller's local zone, which is UTC for kube-controller-manager's
    // static-pod and distroless images.
    const Result<base::TimeZone> tz = zones_.get(cj.timeZone.empty() ? "UTC" : cj.timeZone);
    if (!tz) {
      warn(cj, "no pre-warm: " + tz.error().message);
      continue;
    }
    auto schedule = placement::parseCron(cj.schedule);
    if (!schedule) {
      warn(cj, "no pre-warm: " + schedule.error().message);
      continue;
    }
    warned_.erase(cj.key());
    auto next = placement::nextFire(*schedule, nowUnix, *tz);
    if (!next) continue;
    const TimePoint fire = fromEpochMs(*next * 1000);
    const Duration lead = setting->fixedLead ? *setting->fixedLead : maxLead;
    if (now < fire - lead) continue;
    PrewarmDue d;
    d.cronJob = &cj;
    d.fire = fire;
    d.fixedLead = setting->fixedLead;
    const int64_t n = std::clamp<int64_t>(cj.pods, 0, config_.maxPodsPerRun);
    for (int64_t i = 0; i < n; ++i) {
      placement::PodInfo p = cj.podTemplate;
      p.namespace_ = cj.namespace_;
      p.name = "prewarm-" + cj.name + "-" + std::to_string(i);
      p.uid = "prewarm/" + cj.namespace_ + "/" + cj.name + "/" + std::to_string(i);
      p.nodeName.clear();
      p.phase = placement::PodPhase::Pending;
      if (p.workflow.empty()) p.workflow = cj.name;
      d.pods.push_back(std::move(p));
    }
    if (!d.pods.empty()) out.push_back(std::move(d));
  }
  std::erase_if(warned_, [&](const auto& kv) { return !seen.count(kv.first); });
  return out;
}

}  // namespace spotfit::scaler

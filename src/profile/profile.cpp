#include "profile/profile.hpp"

#include <algorithm>
#include <cmath>

namespace spotfit::profile {

void Ring::push(int64_t v) {
  v_[next_] = v;
  next_ = (next_ + 1) % kRing;
  size_ = std::min(size_ + 1, kRing);
}

std::vector<int64_t> Ring::values() const {
  std::vector<int64_t> out;
  out.reserve(size_);
  const size_t first = size_ < kRing ? 0 : next_;
  for (size_t i = 0; i < size_; ++i) out.push_back(v_[(first + i) % kRing]);
  return out;
}

int64_t Ring::quantile(double q) const {
  if (size_ == 0) return 0;
  std::vector<int64_t> s = values();
  std::sort(s.begin(), s.end());
  const double rank = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(s.size()));
  const size_t i = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return s[std::min(i, s.size() - 1)];
}

int64_t Ring::max() const {
  int64_t m = 0;
  for (size_t i = 0; i < size_; ++i) m = std::max(m, v_[i]);
  return m;
}

const ContainerProfile* WorkflowProfile::container(const std::string& name) const {
  for (const auto& c : containers) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

WorkflowProfile* ProfileBook::touch(const ProfileKey& key, int64_t now) {
  if (key.namespaceName.empty() || key.workflow.empty() || key.namespaceName.size() > limits_.maxNameBytes ||
      key.workflow.size() > limits_.maxNameBytes) {
    return nullptr;
  }
  auto [it, added] = profiles_.try_emplace(key);
  it->second.lastSeen = std::max(it->second.lastSeen, now);
  if (added) evict();
  // evict() may drop the profile just added, when it is the least recently seen (a restore of an old one).
  auto found = profiles_.find(key);
  return found == profiles_.end() ? nullptr : &found->second;
}

void ProfileBook::evict() {
  while (profiles_.size() > limits_.maxProfiles) {
    auto oldest = profiles_.begin();
    for (auto it = profiles_.begin(); it != profiles_.end(); ++it) {
      if (it->second.lastSeen < oldest->second.lastSeen) oldest = it;
    }
    profiles_.erase(oldest);
  }
}

bool ProfileBook::recordRun(const ProfileKey& key, const RunObservation& run, int64_t now) {
  WorkflowProfile* p = touch(key, now);
  if (!p) return false;
  ++p->runs;
  p->durationSeconds.push(std::max<int64_t>(0, run.end - run.start));
  p->pods.push(std::max<int64_t>(0, run.pods));
  p->peakConcurrency.push(std::max<int64_t>(0, run.peakConcurrency));
  p->arrivals.push(run.start);
  return true;
}

bool ProfileBook::recordPod(const ProfileKey& key, const std::vector<ContainerObservation>& containers, int64_t now) {
  for (const auto& c : containers) {
    if (c.name.empty() || c.name.size() > limits_.maxNameBytes) return false;
  }
  WorkflowProfile* p = touch(key, now);
  if (!p) return false;
  for (const auto& c : containers) {
    auto it = std::find_if(p->containers.begin(), p->containers.end(),
                           [&](const ContainerProfile& cp) { return cp.name == c.name; });
    if (it == p->containers.end()) {
      if (p->containers.size() >= limits_.maxContainers) continue;
      p->containers.push_back(ContainerProfile{c.name, {}, {}, 0, 0, 0, 0});
      it = p->containers.end() - 1;
    }
    if (c.peakCpuMilli > 0) it->cpuMilli.push(c.peakCpuMilli);
    if (c.peakMemoryBytes > 0) it->memoryBytes.push(c.peakMemoryBytes);
    it->requestCpuMilli = c.requestCpuMilli;
    it->requestMemoryBytes = c.requestMemoryBytes;
    if (c.oomKilled) {
      ++it->oomKills;
      ++p->oomKills;
      it->oomMemoryBytes = std::max(it->oomMemoryBytes, c.memoryLimitBytes);
    }
  }
  return true;
}

const WorkflowProfile* ProfileBook::find(const ProfileKey& key) const {
  auto it = profiles_.find(key);
  return it == profiles_.end() ? nullptr : &it->second;
}

bool ProfileBook::restore(const ProfileKey& key, WorkflowProfile p) {
  if (p.containers.size() > limits_.maxContainers) p.containers.resize(limits_.maxContainers);
  WorkflowProfile* slot = touch(key, p.lastSeen);
  if (!slot) return false;
  *slot = std::move(p);
  return true;
}

namespace {

int64_t scaled(int64_t v, double factor) {
  const double x = std::ceil(static_cast<double>(v) * factor);
  return x >= 9.0e18 ? INT64_MAX : static_cast<int64_t>(x);
}

}  // namespace

std::vector<ContainerRequests> recommend(const WorkflowProfile& p, const RightSizeConfig& cfg) {
  std::vector<ContainerRequests> out;
  if (p.runs < cfg.minRuns) return out;
  const double headroom = std::max(1.0, cfg.headroom);
  for (const auto& c : p.containers) {
    ContainerRequests r{c.name, std::nullopt, std::nullopt};
    if (!c.cpuMilli.empty()) {
      r.cpuMilli = std::clamp(scaled(c.cpuMilli.quantile(cfg.cpuQuantile), headroom), cfg.minCpuMilli,
                              std::max(cfg.minCpuMilli, cfg.maxCpuMilli));
    }
    int64_t memory = c.memoryBytes.empty() ? 0 : scaled(c.memoryBytes.max(), headroom);
    // What was not enough once is never asked for again: the next run gets more than the OOM-killed one had.
    if (c.oomMemoryBytes > 0) memory = std::max(memory, scaled(c.oomMemoryBytes, headroom));
    if (memory > 0) {
      r.memoryBytes = std::clamp(memory, cfg.minMemoryBytes, std::max(cfg.minMemoryBytes, cfg.maxMemoryBytes));
      // The floor beats the maximum: clamping an OOM-raised request back below what was killed repeats the kill.
      if (c.oomMemoryBytes > 0) r.memoryBytes = std::max(*r.memoryBytes, scaled(c.oomMemoryBytes, headroom));
    }
    if (r.cpuMilli || r.memoryBytes) out.push_back(std::move(r));
  }
  return out;
}

}  // namespace spotfit::profile

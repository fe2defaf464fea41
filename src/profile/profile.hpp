#pragma once
// Workflow profiles: what spotfit learned about each recurring workflow (docs/profiles.md). Pure (std and
// base only, like placement): the scaler's learner feeds it observations, the ConfigMap codec
// (scaler/profile_store.hpp) stores it, the webhook and `spotfit simulate` ask it for requests.
//
// A profile is keyed by (namespace, workflow), the workflow id the webhook resolves (webhook/scope.hpp:
// the spotfit.io/workflow annotation, the owning CronJob, the batch owner, the Job's name or its
// generateName prefix), so every run of one template lands in one profile. Everything is bounded: at most
// ProfileLimits::maxProfiles profiles (the least recently seen go first), maxContainers containers per
// profile, and every series is a fixed-size ring of the last kRing values.

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spotfit::profile {

inline constexpr size_t kRing = 16;  // values remembered per series (runs, pods)

// The last kRing values pushed, oldest overwritten first.
class Ring {
 public:
  void push(int64_t v);
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::vector<int64_t> values() const;  // oldest first
  // The nearest-rank quantile (q in [0, 1]) of the values held; 0 when empty.
  int64_t quantile(double q) const;
  int64_t max() const;

 private:
  std::array<int64_t, kRing> v_{};
  size_t size_ = 0, next_ = 0;
};

struct ContainerProfile {
  std::string name;
  Ring cpuMilli;     // per finished pod: its highest CPU usage sample (millicores)
  Ring memoryBytes;  // per finished pod: its highest memory usage sample (working set, bytes)
  // The requests the last admitted run asked for (as written, or as spotfit mutated them); 0 when unset.
  int64_t requestCpuMilli = 0, requestMemoryBytes = 0;
  // The largest memory (limit, else request) a pod of this container was OOM-killed at; 0: never.
  int64_t oomMemoryBytes = 0;
  int64_t oomKills = 0;
};

struct WorkflowProfile {
  int64_t runs = 0;                          // finished runs (Jobs, or the pods of a bare-pod workflow) ever seen
  Ring durationSeconds;                      // per run: first pod start to last pod end
  Ring pods;                                 // per run: pods it ran
  Ring peakConcurrency;                      // per run: most pods running at once
  Ring arrivals;                             // per run: its start, epoch seconds
  int64_t oomKills = 0;                      // all containers
  int64_t lastSeen = 0;                      // epoch seconds of the last observation (eviction order)
  std::vector<ContainerProfile> containers;  // at most ProfileLimits::maxContainers

  const ContainerProfile* container(const std::string& name) const;
};

struct ProfileKey {
  std::string namespaceName, workflow;
  auto operator<=>(const ProfileKey&) const = default;
};

struct ProfileLimits {
  size_t maxProfiles = 500;   // the least recently seen profile is dropped past this
  size_t maxContainers = 8;   // containers per profile; more are not learned
  size_t maxNameBytes = 253;  // longer namespace, workflow or container names are not learned
};

// One finished run of a workflow.
struct RunObservation {
  int64_t start = 0, end = 0;  // epoch seconds
  int64_t pods = 0;
  int64_t peakConcurrency = 0;
};

// One finished pod's container: its usage peaks (0 when no usage source saw it), the requests it ran with,
// and whether it was OOM-killed (at `memoryLimitBytes`, the limit, else the request).
struct ContainerObservation {
  std::string name;
  int64_t peakCpuMilli = 0, peakMemoryBytes = 0;
  int64_t requestCpuMilli = 0, requestMemoryBytes = 0;
  bool oomKilled = false;
  int64_t memoryLimitBytes = 0;
};

class ProfileBook {
 public:
  ProfileBook() = default;
  explicit ProfileBook(ProfileLimits limits) : limits_(limits) {}
  const ProfileLimits& limits() const { return limits_; }

  // Each returns false (and learns nothing) when the key or a name is over the limits.
  bool recordRun(const ProfileKey& key, const RunObservation& run, int64_t now);
  bool recordPod(const ProfileKey& key, const std::vector<ContainerObservation>& containers, int64_t now);

  const WorkflowProfile* find(const ProfileKey& key) const;
  const std::map<ProfileKey, WorkflowProfile>& profiles() const { return profiles_; }
  size_t size() const { return profiles_.size(); }
  // Puts a decoded profile back (the store's reader); the limits apply as for learning.
  bool restore(const ProfileKey& key, WorkflowProfile p);

 private:
  WorkflowProfile* touch(const ProfileKey& key, int64_t now);
  void evict();
  ProfileLimits limits_;
  std::map<ProfileKey, WorkflowProfile> profiles_;
};

// The right-size rule (config `webhook.rightSizing.profiles`).
struct RightSizeConfig {
  int64_t minRuns = 3;        // a profile gives requests from this many finished runs on
  double headroom = 1.2;      // request = p95 usage x headroom
  double cpuQuantile = 0.95;  // of the per-pod CPU peaks
  int64_t minCpuMilli = 10, maxCpuMilli = 64000;
  int64_t minMemoryBytes = int64_t{16} << 20, maxMemoryBytes = int64_t{256} << 30;
};

struct ContainerRequests {
  std::string name;
  std::optional<int64_t> cpuMilli, memoryBytes;  // nullopt: leave as written
};

// What a profile says a container should request: CPU = the cpuQuantile of its pods' CPU peaks x
// headroom; memory = the highest pod memory peak x headroom, and never below the memory an OOM-killed pod
// had x headroom (an OOM raises memory for the next run); both clamped to [min, max]. Empty until the
// profile has minRuns runs; a container without usage samples gets memory only when it was OOM-killed.
std::vector<ContainerRequests> recommend(const WorkflowProfile& p, const RightSizeConfig& cfg);

}  // namespace spotfit::profile

#pragma once
// Leader election on a coordination.k8s.io/v1 Lease, with client-go's algorithm and defaults:
// lease 15 s, renew deadline 10 s, retry period 2 s. A candidate takes the lease when it is free or
// when the holder has not renewed for a whole lease duration as observed on the candidate's own clock
// (no clock-skew assumptions); the leader renews every retry period and gives up leadership, stopping
// its work, when it cannot renew within the renew deadline. The lease is released on shutdown so a
// successor takes over at once. Writes use optimistic concurrency (resourceVersion), so two candidates
// can never both succeed.

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <random>
#include <stop_token>
#include <string>
#include <thread>

#include "kube/client.hpp"
#include "kube/clock.hpp"
#include "kube/objects.hpp"

namespace spotfit::kube {

struct LeaderElectionConfig {
  std::string leaseNamespace;
  std::string leaseName;
  std::string identity;  // unique per replica: pod name + random suffix
  std::chrono::nanoseconds leaseDuration{std::chrono::seconds(15)};
  std::chrono::nanoseconds renewDeadline{std::chrono::seconds(10)};
  std::chrono::nanoseconds retryPeriod{std::chrono::seconds(2)};
  bool releaseOnCancel = true;
  Timeout requestTimeout{std::chrono::seconds(5)};  // per API call (also bounded by the renew deadline)
};

// "<hostname>_<8 random hex digits>": unique per process, readable in `kubectl get lease -o yaml`.
std::string defaultIdentity();

// Checks the timing constraints client-go enforces (leaseDuration > renewDeadline > retryPeriod·1.2).
Status validate(const LeaderElectionConfig& c);

struct LeaderCallbacks {
  // Runs on its own thread while this replica leads; must return once `stop` is requested (lost lease
  // or shutdown).
  std::function<void(std::stop_token stop)> onStartedLeading;
  std::function<void()> onStoppedLeading;
  std::function<void(const std::string& identity)> onNewLeader;  // observed holder changed
};

class LeaderElector {
 public:
  LeaderElector(KubeClient& client, Clock& clock, LeaderElectionConfig config, LeaderCallbacks callbacks);
  ~LeaderElector();

  // Blocks: acquire, lead (work runs on another thread), renew; returns after leadership is lost or
  // `stop` is requested (then the lease is released when releaseOnCancel). Call again to re-campaign.
  void run(std::stop_token stop);

  // One acquire-or-renew attempt (exposed for tests and for callers that drive their own loop).
  bool tryAcquireOrRenew();
  // Gives the lease up if this replica holds it.
  Status release();

  bool isLeader() const { return leader_.load(); }
  std::string observedLeader() const;
  const LeaderElectionConfig& config() const { return config_; }

 private:
  std::chrono::nanoseconds jittered(std::chrono::nanoseconds d);
  void observe(const Lease& lease);

  KubeClient& client_;
  Clock& clock_;
  LeaderElectionConfig config_;
  LeaderCallbacks callbacks_;
  std::atomic<bool> leader_{false};

  mutable std::mutex mu_;
  std::optional<Lease> observed_;    // last lease record seen (or written)
  Clock::TimePoint observedTime_{};  // when it last changed, on our clock
  std::string observedHolder_;
  std::mt19937_64 rng_{std::random_device{}()};
};

}  // namespace spotfit::kube

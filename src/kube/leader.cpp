#include "kube/leader.hpp"

#include <unistd.h>

#include <cstdio>

namespace spotfit::kube {

using std::chrono::nanoseconds;

std::string defaultIdentity() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, sizeof host, "spotfit");
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof suffix, "%08x", rd());
  return std::string(host) + "_" + suffix;
}

Status validate(const LeaderElectionConfig& c) {
  if (c.leaseName.empty() || c.leaseNamespace.empty())
    return makeError("invalid", "leader election: lease name and namespace are required");
  if (c.identity.empty()) return makeError("invalid", "leader election: identity is required");
  if (c.leaseDuration <= c.renewDeadline)
    return makeError("invalid", "leader election: leaseDuration must be greater than renewDeadline");
  if (c.renewDeadline.count() <= static_cast<int64_t>(1.2 * static_cast<double>(c.retryPeriod.count()))) {
    return makeError("invalid", "leader election: renewDeadline must be greater than retryPeriod*1.2");
  }
  if (c.retryPeriod <= nanoseconds::zero())
    return makeError("invalid", "leader election: retryPeriod must be positive");
  return {};
}

LeaderElector::LeaderElector(KubeClient& client, Clock& clock, LeaderElectionConfig config, LeaderCallbacks callbacks)
    : client_(client), clock_(clock), config_(std::move(config)), callbacks_(std::move(callbacks)) {}

LeaderElector::~LeaderElector() = default;

std::string LeaderElector::observedLeader() const {
  std::lock_guard lock(mu_);
  return observedHolder_;
}

nanoseconds LeaderElector::jittered(nanoseconds d) {
  std::lock_guard lock(mu_);
  std::uniform_real_distribution<double> dist(1.0, 1.2);  // client-go's JitterFactor 1.2
  return nanoseconds(static_cast<int64_t>(static_cast<double>(d.count()) * dist(rng_)));
}

void LeaderElector::observe(const Lease& lease) {
  std::string newHolder;
  {
    std::lock_guard lock(mu_);
    bool changed = !observed_ || observed_->holderIdentity != lease.holderIdentity ||
                   observed_->renewTime != lease.renewTime || observed_->acquireTime != lease.acquireTime ||
                   observed_->leaseTransitions != lease.leaseTransitions ||
                   observed_->leaseDurationSeconds != lease.leaseDurationSeconds;
    if (changed) observedTime_ = clock_.now();
    observed_ = lease;
    if (observedHolder_ != lease.holderIdentity) {
      observedHolder_ = lease.holderIdentity;
      newHolder = lease.holderIdentity;
    }
  }
  if (!newHolder.empty() && callbacks_.onNewLeader) callbacks_.onNewLeader(newHolder);
}

bool LeaderElector::tryAcquireOrRenew() {
  const auto wallNow = clock_.wallNow();
  const int64_t durationSeconds =
      std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(config_.leaseDuration).count());
  GetOptions go;
  go.timeout = config_.requestTimeout;
  auto doc = client_.get(resources::kLeases, config_.leaseNamespace, config_.leaseName, go);
  if (!doc.ok()) {
    if (!isNotFound(doc.error())) return false;
    Lease fresh;
    fresh.meta.name = config_.leaseName;
    fresh.meta.namespace_ = config_.leaseNamespace;
    fresh.holderIdentity = config_.identity;
    fresh.leaseDurationSeconds = durationSeconds;
    fresh.acquireTime = wallNow;
    fresh.renewTime = wallNow;
    WriteOptions wo;
    wo.timeout = config_.requestTimeout;
    auto created = client_.create(resources::kLeases, config_.leaseNamespace, encodeLease(fresh), wo);
    if (!created.ok()) return false;
    auto lease = decodeLease(*created);
    if (!lease.ok()) return false;
    observe(*lease);
    return true;
  }
  auto lease = decodeLease(*doc);
  if (!lease.ok()) return false;
  observe(*lease);
  const bool mine = lease->holderIdentity == config_.identity;
  if (!mine && !lease->holderIdentity.empty()) {
    Clock::TimePoint since;
    {
      std::lock_guard lock(mu_);
      since = observedTime_;
    }
    // Expiry is judged by how long *we* have seen the record unchanged, not by its timestamps.
    nanoseconds duration =
        lease->leaseDurationSeconds ? std::chrono::seconds(*lease->leaseDurationSeconds) : config_.leaseDuration;
    if (clock_.now() < since + duration) return false;
  }
  Lease next = *lease;
  next.holderIdentity = config_.identity;
  next.leaseDurationSeconds = durationSeconds;
  next.renewTime = wallNow;
  if (!mine) {
    next.acquireTime = wallNow;
    next.leaseTransitions = lease->leaseTransitions + 1;
  }
  WriteOptions wo;
  wo.timeout = config_.requestTimeout;
  auto updated = client_.update(resources::kLeases, config_.leaseNamespace, config_.leaseName, encodeLease(next), wo);
  if (!updated.ok()) return false;  // Conflict: someone else wrote first
  auto written = decodeLease(*updated);
  if (!written.ok()) return false;
  observe(*written);
  return true;
}

Status LeaderElector::release() {
  std::optional<Lease> current;
  {
    std::lock_guard lock(mu_);
    current = observed_;
  }
  if (!current || current->holderIdentity != config_.identity) return {};
  Lease next = *current;
  next.holderIdentity.clear();
  next.leaseDurationSeconds = 1;
  next.acquireTime = clock_.wallNow();
  next.renewTime = clock_.wallNow();
  WriteOptions wo;
  wo.timeout = config_.requestTimeout;
  auto updated = client_.update(resources::kLeases, config_.leaseNamespace, config_.leaseName, encodeLease(next), wo);
  if (!updated.ok()) return updated.error();
  leader_.store(false);
  if (auto l = decodeLease(*updated); l.ok()) observe(*l);
  return {};
}

void LeaderElector::run(std::stop_token stop) {
  // Campaign.
  while (!stop.stop_requested()) {
    if (tryAcquireOrRenew()) break;
    if (!clock_.sleepFor(jittered(config_.retryPeriod), stop)) return;
  }
  if (stop.stop_requested()) return;
  leader_.store(true);
  std::jthread work;
  if (callbacks_.onStartedLeading) {
    work = std::jthread([cb = callbacks_.onStartedLeading](std::stop_token st) { cb(st); });
  }
  // Renew until the deadline passes without a successful renewal, or until shutdown.
  auto lastRenew = clock_.now();
  while (!stop.stop_requested()) {
    if (!clock_.sleepFor(config_.retryPeriod, stop)) break;
    if (tryAcquireOrRenew()) {
      lastRenew = clock_.now();
      continue;
    }
    if (clock_.now() - lastRenew >= config_.renewDeadline) break;  // lost
  }
  leader_.store(false);
  if (work.joinable()) {
    work.request_stop();
    work.join();
  }
  if (stop.stop_requested() && config_.releaseOnCancel) (void)release();
  if (callbacks_.onStoppedLeading) callbacks_.onStoppedLeading();
}

}  // namespace spotfit::kube

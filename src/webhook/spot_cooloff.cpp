#include "webhook/spot_cooloff.hpp"

#include <algorithm>

#include "base/duration.hpp"
#include "base/time.hpp"

namespace spotfit::webhook {
namespace {
// One breaker for the whole cluster: without spotfit's pools, the capacity type is the unit.
constexpr const char* kSpot = "spot";
}  // namespace

SpotCoolOff::SpotCoolOff(scaler::InterruptionPolicy policy, const kube::Clock& clock)
    : tracker_(policy), clock_(clock) {}

SpotCoolOff::Recorded SpotCoolOff::record(std::string_view node, std::string_view instanceType) {
  std::lock_guard lock(mu_);
  const auto now = clock_.wallNow();
  const int before = tracker_.count(kSpot, now);
  Recorded r;
  r.startedCoolOff = tracker_.record(kSpot, std::string(instanceType), now, std::string(node));
  r.counted = tracker_.count(kSpot, now) != before;
  return r;
}

std::optional<scaler::TimePoint> SpotCoolOff::until() const {
  std::lock_guard lock(mu_);
  return tracker_.coolOffUntil(kSpot, clock_.wallNow());
}

int SpotCoolOff::interruptions() const {
  std::lock_guard lock(mu_);
  return tracker_.count(kSpot, clock_.wallNow());
}

std::string SpotCoolOff::summary() const {
  std::lock_guard lock(mu_);
  const auto now = clock_.wallNow();
  const auto& p = tracker_.policy();
  const std::string counts = std::to_string(tracker_.count(kSpot, now)) + " spot interruptions in the last " +
                             base::formatDuration(p.window) + ", threshold " + std::to_string(p.threshold);
  if (auto until = tracker_.coolOffUntil(kSpot, now)) {
    return "spot cool-off until " + base::formatTime(*until) + ": new batch pods go on-demand (" + counts + ")";
  }
  return "no spot cool-off (" + counts + ")";
}

std::optional<std::string> interruptedNodeOf(const kube::NodeClaim& claim) {
  if (!claim.meta.deletionTimestamp) return std::nullopt;
  auto capacity = claim.meta.labels.get("karpenter.sh/capacity-type");
  if (!capacity || *capacity != "spot") return std::nullopt;
  if (claim.disruptedByKarpenter()) return std::nullopt;
  if (!claim.expireAfter.empty() && claim.expireAfter != "Never" && claim.meta.creationTimestamp) {
    auto expireAfter = base::parseDuration(claim.expireAfter);
    if (expireAfter.ok() && *claim.meta.deletionTimestamp >= *claim.meta.creationTimestamp + *expireAfter) {
      return std::nullopt;  // expired: Karpenter's expiration controller deletes it, not an interruption
    }
  }
  return claim.nodeName.empty() ? claim.meta.name : claim.nodeName;
}

bool interruptedSpotNode(const kube::Node& node, std::string_view capacityLabel, std::string_view spotValue,
                         const std::vector<std::string>& taints) {
  auto v = node.meta.labels.get(capacityLabel);
  if (!v || *v != spotValue) return false;
  return std::any_of(node.info.taints.begin(), node.info.taints.end(),
                     [&](const auto& t) { return std::find(taints.begin(), taints.end(), t.key) != taints.end(); });
}

}  // namespace spotfit::webhook

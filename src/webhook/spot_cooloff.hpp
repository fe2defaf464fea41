#pragma once
// The spot circuit breaker for clusters where someone else provisions (Karpenter, Cluster Autoscaler,
// managed node groups) and spotfit's scaler is off (issue 17). spotfit's scaler has one per pool
// (scaler/interruptions.hpp); without it nothing would stop new batch work from going back to spot
// capacity in the middle of a storm of interruptions (Karpenter has no such switch: karpenter-aws#8298).
//
// Signals, counted once per node within `interruption.window`:
//   - a notice taint (`interruption.taints`, e.g. aws-node-termination-handler/spot-itn) on a spot node;
//   - with Karpenter, a spot NodeClaim being deleted without the DisruptionReason condition Karpenter's
//     disruption controller sets on what it consolidates or replaces, and before its expireAfter: that is
//     how Karpenter acts on a spot interruption notice (it deletes the NodeClaim).
// `interruption.threshold` of them start (or extend) a cool-off of `interruption.coolOff`, during which the
// admission path places new batch pods that would have gone to spot on on-demand capacity instead
// (a required on-demand term); pods whose spotfit.io/capacity-type says spot, and spot-only budgets, keep
// spot. After the cool-off, new pods go back to spot.

#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kube/clock.hpp"
#include "kube/objects.hpp"
#include "scaler/interruptions.hpp"

namespace spotfit::webhook {

class SpotCoolOff {
 public:
  SpotCoolOff(scaler::InterruptionPolicy policy, const kube::Clock& clock);

  struct Recorded {
    bool counted = false;         // false: this node was counted already within the window
    bool startedCoolOff = false;  // it started or extended the cool-off
  };
  // Records one interruption of a spot node (`node`: its name; the same node is counted once per window).
  Recorded record(std::string_view node, std::string_view instanceType);
  // The end of the running cool-off, nullopt when none.
  std::optional<scaler::TimePoint> until() const;
  // Interruptions counted within the window.
  int interruptions() const;
  // For /readyz: "no cool-off (1 interruption in 30m, threshold 3)" or "spot cool-off until <time> (...)".
  std::string summary() const;

 private:
  mutable std::mutex mu_;
  scaler::InterruptionTracker tracker_;
  const kube::Clock& clock_;
};

// The node a spot NodeClaim's deletion interrupts, when the deletion is an interruption: the NodeClaim is
// spot (label karpenter.sh/capacity-type=spot), being deleted, not marked by Karpenter's disruption
// controller (DisruptionReason), and not past its expireAfter (expiration deletes it too). The node's name
// when registered, else the NodeClaim's (so a node taint and its NodeClaim's deletion count once).
std::optional<std::string> interruptedNodeOf(const kube::NodeClaim& claim);

// Whether a Node is an interrupted spot node: its capacity label says spot and it has one of `taints`.
bool interruptedSpotNode(const kube::Node& node, std::string_view capacityLabel, std::string_view spotValue,
                         const std::vector<std::string>& taints);

}  // namespace spotfit::webhook

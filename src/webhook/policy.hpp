#pragma once
// The mutation policy: a pod template (typed view) in, the same template changed in place out, plus the
// names of the changes. Pure: no I/O, no clocks; every input (VPA, budget decision) is resolved by the
// caller. Each part respects what the user already set, so applying the policy to its own output changes
// nothing (the apiserver re-invokes us with reinvocationPolicy: IfNeeded, and a Job's pods arrive with
// the template we already mutated).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "webhook/config.hpp"
#include "webhook/options.hpp"
#include "webhook/pod_template.hpp"
#include "webhook/vpa.hpp"

namespace spotfit::webhook {

struct PolicyInput {
  const WebhookConfig* config = nullptr;
  SpotfitOptions options;
  std::string workflow;    // resolved workflow id (annotation or default), empty when unknown
  std::string run;         // the run of a CronJob workflow (its Job's name), labelled spotfit.io/run
  bool forceSpot = false;  // a spot-only budget action is in force
  // A spot cool-off is running (webhook/spot_cooloff.hpp): what would go to spot by default goes on-demand.
  bool spotCoolOff = false;
  std::shared_ptr<const Vpa> vpa;
  // `vpa` holds the workflow's profile-based requests (profileRequests()), not a VerticalPodAutoscaler's:
  // recorded as change "requests-profile".
  bool vpaFromProfile = false;
};

// The workflow profile's requests (profile::recommend) as a VPA-shaped recommendation, so the one resize
// path (applyVpa: limits keep their ratio, requests never above limits) applies them. nullptr when the
// profile has nothing to say yet (fewer than cfg.minRuns runs, no usage and no OOM kill).
std::shared_ptr<const Vpa> profileRequests(const profile::WorkflowProfile& p, const profile::RightSizeConfig& cfg);

struct PolicyOutcome {
  std::vector<std::string> changes;  // e.g. "tolerations", "capacity-affinity", "requests"
  std::vector<std::string> warnings;
  // The capacity type the template was placed on: the annotation, else on-demand for a coordinator
  // (scope.hpp), else the default; spot when a spot-only budget is in force.
  CapacityType capacity = CapacityType::SpotPreferred;
  std::optional<std::string> coordinator;  // the role label that kept it on on-demand, e.g. spark-role=driver
  bool coolOff = false;                    // the spot cool-off put it on on-demand
};

PolicyOutcome mutatePodTemplate(PodTemplate& tmpl, const PolicyInput& in);

// Adds spec.podFailurePolicy {rules: [{action: Ignore, onPodConditions: [{type: DisruptionTarget}]}]} to a
// batch/v1 Job's spec when it has none and its pod template's restartPolicy is Never (the apiserver refuses
// a podFailurePolicy otherwise), and sets spec.podReplacementPolicy: Failed, which the apiserver requires
// with a podFailurePolicy: evicted, preempted and interrupted pods then do not count toward backoffLimit.
// Returns true when added.
bool addDisruptionPodFailurePolicy(json::Value& jobSpec, json::Allocator& a);

// Copies a Job's user-facing spotfit.io/* annotations onto its pod template where the template has none,
// so the pods carry them. Returns true when something was copied.
bool inheritJobAnnotations(const ObjectMeta& job, ObjectMeta& tmpl);

// Records `changes` in the spotfit.io/mutated annotation (sorted union with what it already lists).
void recordChanges(ObjectMeta& meta, const std::vector<std::string>& changes);

}  // namespace spotfit::webhook

#pragma once
// The `webhook:` section of the serve config. Every part of the mutation can be switched off; parsing is
// strict (unknown keys and wrong types are errors naming the key path and the line).
//
//   webhook:
//     ownNamespace: spotfit            # never mutated, like kube-system
//     excludedNamespaces: [kube-system]
//     requireNamespaceLabel: true      # when the namespace's labels are known, need spotfit.io/enabled=true
//     maxBodyBytes: 7340032
//     defaultCapacityType: spot-preferred
//     capacity: {preset: spotfit}      # spotfit | karpenter | eks | gke | aks: label, values, tolerations
//     tolerations: {enabled: true, add: [{key: ..., operator: Equal, value: spot, effect: NoSchedule}]}
//     affinity: {enabled: true, capacityTypeLabel: spotfit.io/capacity-type, spotValue: spot,
//                onDemandValue: on-demand, preferredWeight: 100, gpuProduct: true}
//     rightSizing: {enabled: true,      # VPA recommendations, else the workflow's profile (docs/profiles.md)
//                   profiles: true, minRuns: 3, headroomPercent: 20, minCpu: 10m, maxCpu: "64",
//                   minMemory: 16Mi, maxMemory: 256Gi, refresh: 30s}
//     checkpoint: {enabled: true, command: "", gracePeriodSeconds: 120, skipContainers: [istio-proxy]}
//     labels: {enabled: true}
//     pdb: {enabled: true, defaultMinAvailable: "50%", minParallelism: 2}
//     budgets: {enabled: true, refresh: 30s}  # refresh: how often the scaler's cost-ledger ConfigMap is re-read
//     interruption: {enabled: auto, window: 30m, threshold: 3, coolOff: 30m,   # spot cool-off without the scaler
//                    taints: [aws-node-termination-handler/spot-itn, cloud.google.com/impending-node-termination]}
//     scope:                           # which pods are batch work (webhook/scope.hpp)
//       batchOwners: [batch/Job, batch/CronJob, argoproj.io/Workflow, ...]   # group/Kind
//       batchPodLabels: [spark-role]
//       coordinators: [{label: spark-role, values: [driver]}, ...]           # kept on on-demand
//     schedulerName: ""                # e.g. spotfit (the second scheduler): set on pods of the default scheduler

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/vocabulary.hpp"
#include "profile/profile.hpp"

namespace YAML {
class Node;
}

namespace spotfit::webhook {

struct Toleration {
  std::string key;
  std::string op;  // "Equal" | "Exists" (empty means Equal)
  std::string value;
  std::string effect;  // "", NoSchedule, PreferNoSchedule, NoExecute
  std::optional<int64_t> tolerationSeconds;
  bool operator==(const Toleration&) const = default;
};

enum class CapacityType { SpotPreferred, Spot, OnDemand };

struct WebhookConfig {
  std::string ownNamespace = "spotfit-system";
  std::vector<std::string> excludedNamespaces{"kube-system"};
  bool requireNamespaceLabel = true;
  size_t maxBodyBytes = 7 * 1024 * 1024;
  CapacityType defaultCapacityType = CapacityType::SpotPreferred;
  // Set as spec.schedulerName on pods (Job templates) whose schedulerName is unset or default-scheduler, so
  // that the second scheduler (manifests/scheduler/second-scheduler) and with it the extender place them.
  // Empty (the default): schedulerName is never touched. Another scheduler's name is never overridden.
  std::string schedulerName;

  struct Tolerations {
    bool enabled = true;
    std::vector<Toleration> add{{vocab::kTaintCapacityType, "Equal", "spot", "NoSchedule", std::nullopt}};
  } tolerations;

  // `capacity.preset`: spotfit | karpenter | eks | gke | aks (placement/capacity_preset.hpp). It sets the
  // defaults of affinity.capacityTypeLabel/spotValue/onDemandValue and tolerations.add; keys set in
  // `affinity:` or `tolerations.add` override it.
  std::string capacityPreset = "spotfit";

  struct Affinity {
    bool enabled = true;
    std::string capacityTypeLabel = vocab::kLabelCapacityType;
    std::string spotValue = "spot";
    // Empty: on-demand nodes carry no such label (GKE, AKS); required on-demand is `label NotIn [spotValue]`.
    std::string onDemandValue = "on-demand";
    int preferredWeight = 100;
    bool gpuProduct = true;
  } affinity;

  // Beside Karpenter or Cluster Autoscaler: keep their consolidation from killing work that cannot resume,
  // and keep interruptions from using up a Job's backoffLimit.
  struct Disruption {
    // Annotation put on batch pods that cannot resume (no checkpoint hook), unless spotfit.io/do-not-disrupt
    // says otherwise: auto (by capacity.preset: karpenter -> karpenter; eks, gke, aks -> cluster-autoscaler;
    // spotfit -> none) | karpenter (karpenter.sh/do-not-disrupt: "true") | cluster-autoscaler
    // (cluster-autoscaler.kubernetes.io/safe-to-evict: "false") | both | none.
    std::string protect = "auto";
    // Jobs whose pods restart Never get podFailurePolicy {Ignore on DisruptionTarget} (and podReplacementPolicy
    // Failed, which the apiserver requires with it) unless they have one: auto (on with every preset but
    // spotfit, whose scaler drains by eviction and relies on prompt replacements) | true | false.
    std::string podFailurePolicy = "auto";
  } disruption;

  // The spot circuit breaker without spotfit's scaler (webhook/spot_cooloff.hpp): `threshold` interruptions
  // of spot nodes within `window` (a notice taint on a spot node; with the karpenter preset also a spot
  // NodeClaim deleted by something other than Karpenter's disruption controller and not expired, which is
  // how Karpenter acts on a spot notice) put new batch pods that would have gone to spot on on-demand
  // capacity for `coolOff`. Pods whose spotfit.io/capacity-type says spot, and spot-only budgets, keep spot.
  struct Interruption {
    // auto: on with every preset but spotfit (whose scaler runs its own breaker per pool) | true | false.
    std::string enabled = "auto";
    std::chrono::milliseconds window{std::chrono::minutes(30)};
    int64_t threshold = 3;
    std::chrono::milliseconds coolOff{std::chrono::minutes(30)};
    // Node taints that announce a spot interruption (counted on spot nodes only). Not karpenter.sh/disrupted:
    // Karpenter puts it on every node it disrupts, consolidation included.
    std::vector<std::string> taints{"aws-node-termination-handler/spot-itn",
                                    "cloud.google.com/impending-node-termination"};
  } interruption;
  struct RightSizing {
    bool enabled = true;
    // Requests from the workflow's learned profile (docs/profiles.md) for Jobs and pods no VPA targets.
    bool profiles = true;
    profile::RightSizeConfig profile;  // minRuns, headroom, min/max (keys minRuns, headroomPercent, minCpu, ...)
    std::chrono::milliseconds refresh{std::chrono::seconds(30)};  // how often the stored profiles are re-read
  } rightSizing;

  struct Checkpoint {
    bool enabled = true;
    std::string command;  // default preStop command; empty: only the annotation adds one
    int64_t gracePeriodSeconds = 120;
    // Helper containers that must not run user commands: service-mesh proxies and Argo's executor
    // (`wait` next to the main container, `init` among the init containers, which never get a hook).
    std::vector<std::string> skipContainers{"istio-proxy", "linkerd-proxy", "wait", "init"};
  } checkpoint;

  struct Labels {
    bool enabled = true;
  } labels;

  struct Pdb {
    bool enabled = true;
    std::string defaultMinAvailable = "50%";
    int64_t minParallelism = 2;
  } pdb;

  // Batch-only scope, coordinator roles (webhook/scope.hpp).
  struct Scope {
    // Owners ("group/Kind"; core kinds as "Kind") whose pods are batch work and mutated by default. Pods
    // of anything else, and bare pods, are mutated only when they carry a spotfit.io/ annotation.
    std::vector<std::string> batchOwners{
        "batch/Job",
        "batch/CronJob",
        "batch.volcano.sh/Job",
        "argoproj.io/Workflow",
        "kubeflow.org/PyTorchJob",
        "kubeflow.org/TFJob",
        "kubeflow.org/MPIJob",
        "kubeflow.org/XGBoostJob",
        "kubeflow.org/PaddleJob",
        "kubeflow.org/JAXJob",
        "trainer.kubeflow.org/TrainJob",
        "jobset.x-k8s.io/JobSet",
        "ray.io/RayJob",
        "ray.io/RayCluster",
        "sparkoperator.k8s.io/SparkApplication",
        "sparkoperator.k8s.io/ScheduledSparkApplication",
    };
    // Pod labels that make a pod batch work whatever owns it (spark-submit labels its driver and its
    // executors, which the driver pod owns).
    std::vector<std::string> batchPodLabels{"spark-role"};
    struct Role {
      std::string label;
      std::vector<std::string> values;  // compared case-insensitively
      bool operator==(const Role&) const = default;
    };
    // A run's coordinators: kept on on-demand capacity unless spotfit.io/capacity-type says otherwise.
    std::vector<Role> coordinators{{"spark-role", {"driver"}},
                                   {"ray.io/node-type", {"head"}},
                                   {"training.kubeflow.org/replica-type", {"master", "launcher"}}};
  } scope;

  struct Budgets {
    bool enabled = true;
    // How often the scaler's cost-ledger ConfigMap is re-read for budget decisions (like the extender's
    // `budgets.refresh`); the scaler flushes the ledger every 30 s. Between 1s and 1h.
    std::chrono::milliseconds refresh{std::chrono::seconds(30)};
  } budgets;
};

// Parses the value of the `webhook:` key (`node` may be null/undefined: defaults).
Result<WebhookConfig> parseWebhookConfig(const YAML::Node& node);
// Parses YAML text and reads its top-level `webhook:` section; other top-level keys belong to other
// sections of the serve config and are ignored here.
Result<WebhookConfig> parseWebhookConfigText(std::string_view yaml);
Result<WebhookConfig> loadWebhookConfigFile(const std::string& path);

// "50%" or "3": the forms a PDB's minAvailable accepts.
bool validIntOrPercent(std::string_view s);

inline constexpr std::chrono::milliseconds kMinLedgerRefresh{std::chrono::seconds(1)};
inline constexpr std::chrono::milliseconds kMaxLedgerRefresh{std::chrono::hours(1)};
std::string_view capacityTypeName(CapacityType t);
// The required term the policy writes for spot (`label In [spotValue]`) or on-demand (`label In
// [onDemandValue]`, or `label NotIn [spotValue]` when onDemandValue is empty), as text.
std::string requiredCapacityTerm(const WebhookConfig::Affinity& a, bool spot);
// disruption.protect resolved against capacity.preset: "karpenter", "cluster-autoscaler", "both" or "none".
std::string_view disruptionProtection(const WebhookConfig& c);
// disruption.podFailurePolicy resolved against capacity.preset.
bool addsPodFailurePolicy(const WebhookConfig& c);
// Whether the webhook runs its own spot cool-off (interruption.enabled, auto by preset).
bool spotCoolOffEnabled(const WebhookConfig& c);
std::optional<CapacityType> parseCapacityType(std::string_view s);

}  // namespace spotfit::webhook

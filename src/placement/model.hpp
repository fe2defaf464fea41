#pragma once
// The snapshot types every spotfit module shares. kube/ converts API objects into these; placement/
// decides on them; the extender, the scaler and the simulator all hand the same structs to the same
// functions, so what the scaler plans is exactly what the extender accepts.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/vocabulary.hpp"
#include "placement/resources.hpp"

namespace spotfit::placement {

using Labels = std::map<std::string, std::string, std::less<>>;

// Well-known labels and annotations.
inline constexpr std::string_view kLabelGpuProduct = "nvidia.com/gpu.product";
inline constexpr std::string_view kLabelCapacityType = vocab::kLabelCapacityType;  // "spot" | "on-demand"
inline constexpr std::string_view kLabelKarpenterCapacityType = "karpenter.sh/capacity-type";
inline constexpr std::string_view kLabelEksCapacityType = "eks.amazonaws.com/capacityType";  // SPOT | ON_DEMAND
inline constexpr std::string_view kLabelGkeSpot = "cloud.google.com/gke-spot";               // "true"
inline constexpr std::string_view kLabelNodePool = vocab::kLabelNodePool;
inline constexpr std::string_view kLabelInstanceType = "node.kubernetes.io/instance-type";
inline constexpr std::string_view kAnnotationDoNotDisrupt = vocab::kAnnotationDoNotDisrupt;
inline constexpr std::string_view kTaintUnschedulable = "node.kubernetes.io/unschedulable";

// ---------------------------------------------------------------------------------------------------
// Taints and tolerations (core/v1 semantics).

enum class TaintEffect { NoSchedule, PreferNoSchedule, NoExecute };

struct Taint {
  std::string key;
  std::string value;
  TaintEffect effect = TaintEffect::NoSchedule;
  friend bool operator==(const Taint&, const Taint&) = default;
};

enum class TolerationOperator { Equal, Exists };

struct Toleration {
  std::string key;  // empty with Exists: tolerates every taint
  TolerationOperator op = TolerationOperator::Equal;
  std::string value;
  std::optional<TaintEffect> effect;         // empty: every effect
  std::optional<int64_t> tolerationSeconds;  // NoExecute grace; irrelevant to fit

  // core/v1 Toleration.ToleratesTaint.
  bool toleratesTaint(const Taint& taint) const;
  friend bool operator==(const Toleration&, const Toleration&) = default;
};

// True when some toleration tolerates the taint.
bool tolerated(const std::vector<Toleration>& tolerations, const Taint& taint);

// The first NoSchedule/NoExecute taint no toleration covers (what the TaintToleration filter rejects
// on), or nullptr.
const Taint* firstUntoleratedTaint(const std::vector<Taint>& taints, const std::vector<Toleration>& tolerations);

std::string_view toString(TaintEffect effect);
std::optional<TaintEffect> parseTaintEffect(std::string_view text);

// ---------------------------------------------------------------------------------------------------
// Node selectors (required node affinity).

enum class SelectorOperator { In, NotIn, Exists, DoesNotExist, Gt, Lt };

struct NodeSelectorRequirement {
  std::string key;
  SelectorOperator op = SelectorOperator::In;
  std::vector<std::string> values;

  // labels.Selector semantics: In needs the label with a listed value, NotIn passes when the label is
  // absent, Gt/Lt need the label and exactly one value, both parsed as int64. A malformed requirement
  // (In/NotIn without values, Exists with values, Gt/Lt without exactly one integer) matches nothing,
  // as Kubernetes drops a term whose selector fails to build.
  bool matches(const Labels& labels) const;
  friend bool operator==(const NodeSelectorRequirement&, const NodeSelectorRequirement&) = default;
};

struct NodeSelectorTerm {
  std::vector<NodeSelectorRequirement> matchExpressions;  // over node labels
  std::vector<NodeSelectorRequirement> matchFields;       // only key "metadata.name" (In / NotIn)

  // All requirements hold. A term with no requirements at all matches no node (core/v1 semantics).
  bool matches(const Labels& labels, std::string_view nodeName) const;
  friend bool operator==(const NodeSelectorTerm&, const NodeSelectorTerm&) = default;
};

// Terms are ORed. An empty list means "no required node affinity" and matches every node.
bool matchesAnyTerm(const std::vector<NodeSelectorTerm>& terms, const Labels& labels, std::string_view nodeName);

std::string_view toString(SelectorOperator op);
std::optional<SelectorOperator> parseSelectorOperator(std::string_view text);

// ---------------------------------------------------------------------------------------------------
// Capacity types and policies.

enum class CapacityType { OnDemand, Spot };

// What the pod is allowed / asked to run on (annotation spotfit.io/capacity-type, budget-action).
enum class CapacityPolicy {
  SpotPreferred,  // either; spot preferred (default)
  Spot,           // spot only, by the user's choice
  OnDemand,       // on-demand only
  SpotOnly,       // spot only because the workflow is over budget (budget-action: spot-only)
};

std::string_view toString(CapacityType type);      // "spot" | "on-demand"
std::string_view toString(CapacityPolicy policy);  // "spot-preferred" | "spot" | "on-demand" | "spot-only"
std::optional<CapacityType> parseCapacityType(std::string_view text);
std::optional<CapacityPolicy> parseCapacityPolicy(std::string_view text);

bool allows(CapacityPolicy policy, CapacityType type);

// The capacity type a node advertises through well-known labels (spotfit.io/capacity-type,
// karpenter.sh/capacity-type, eks.amazonaws.com/capacityType, cloud.google.com/gke-spot,
// kubernetes.azure.com/scalesetpriority); on-demand when none says spot.
CapacityType capacityTypeFromLabels(const Labels& labels);

// ---------------------------------------------------------------------------------------------------
// Pods.

enum class PodPhase { Pending, Running, Succeeded, Failed, Unknown };

struct Container {
  std::string name;
  Resources requests;
  Resources limits;  // a resource with a limit but no (zero) request is requested at its limit
  // Init containers only: restartPolicy Always makes it a sidecar that keeps running with the pod.
  bool restartAlways = false;
  // What rounding up lost: Kubernetes keeps quantities to 1e-9, and sums them exactly before rounding
  // once. For each resource whose request (limit) is not a whole millicore (cpu) or unit, how many
  // billionths of that unit the amount above exceeds the exact one. Zero for whole amounts (the usual case).
  Resources requestsRoundedUpBy;
  Resources limitsRoundedUpBy;
  friend bool operator==(const Container&, const Container&) = default;
};

// Resource names kube-scheduler takes from a pod's spec.resources instead of its containers: cpu, memory
// and hugepages-* (component-helpers IsSupportedPodLevelResource).
bool isPodLevelResource(std::string_view name);

// Pod-level requests (spec.resources.requests, PodLevelResources: beta and on by default since 1.34).
struct PodLevelRequests {
  std::vector<std::string> names;  // the pod-level resources the pod sets, sorted (an explicit 0 counts)
  Resources amounts;               // rounded up like container requests
  Resources roundedUpBy;           // as Container::requestsRoundedUpBy
  bool empty() const { return names.empty(); }
  friend bool operator==(const PodLevelRequests&, const PodLevelRequests&) = default;
};

struct PodInfo {
  std::string namespace_;
  std::string name;
  std::string uid;
  Labels labels;
  Labels annotations;

  // The controlling owner reference (ownerReferences[].controller == true), if any.
  std::string ownerKind;  // "Job", "ReplicaSet", ...
  std::string ownerName;
  bool hasController = false;

  std::string workflow;  // cost-attribution id (spotfit.io/workflow, default the Job name)

  std::vector<Container> containers;
  std::vector<Container> initContainers;
  Resources overhead;             // spec.overhead (RuntimeClass)
  Resources overheadRoundedUpBy;  // as Container::requestsRoundedUpBy
  PodLevelRequests podLevel;      // spec.resources.requests (pod-level resources)

  Labels nodeSelector;                                 // spec.nodeSelector
  std::vector<NodeSelectorTerm> requiredNodeAffinity;  // requiredDuringScheduling terms (ORed)
  std::optional<CapacityType> preferredCapacityType;   // from preferred node affinity; a score hint
  std::vector<Toleration> tolerations;
  std::string gpuProduct;  // required nvidia.com/gpu.product (spotfit.io/gpu-product); empty: any
  CapacityPolicy capacityPolicy = CapacityPolicy::SpotPreferred;
  bool doNotDisrupt = false;  // spotfit.io/do-not-disrupt=true (or safe-to-evict=false)

  // Inter-pod constraints the placement core does not evaluate (see docs/placement.md): the scaler
  // plans such pods alone and never moves them during consolidation.
  bool hasPodAffinity = false;
  bool hasPodAntiAffinity = false;
  bool hasTopologySpread = false;
  bool hasLocalStorage = false;  // emptyDir/hostPath data that eviction would lose

  int32_t priority = 0;
  PodPhase phase = PodPhase::Pending;
  std::string nodeName;  // spec.nodeName once bound

  std::string key() const { return namespace_ + "/" + name; }
  bool hasInterPodConstraints() const { return hasPodAffinity || hasPodAntiAffinity || hasTopologySpread; }
};

// Effective requests exactly as kube-scheduler computes them (component-helpers PodRequests):
// max(sum of containers + sidecars, largest "init container + sidecars started before it"), then each
// pod-level request (cpu, memory, hugepages-*) replaces that aggregate, plus overhead; a resource with a
// limit but no request counts its limit (API defaulting). Fractional quantities are summed exactly and
// rounded up once at the end, as Kubernetes does (cpu to the millicore, the rest to whole units).
// pods is always 1 (the slot the pod takes).
Resources podRequests(const PodInfo& pod);

// ---------------------------------------------------------------------------------------------------
// Nodes.

struct NodeInfo {
  std::string name;
  Labels labels;
  std::vector<Taint> taints;
  Resources allocatable;
  Resources requested;  // sum of podRequests of the pods bound to the node (pods = their count)
  CapacityType capacityType = CapacityType::OnDemand;
  double hourlyPrice = 0;  // USD/hour; 0 when unknown
  bool unschedulable = false;
  std::string gpuProduct;    // nvidia.com/gpu.product label value
  std::string pool;          // spotfit node pool, empty when not managed by spotfit
  std::string instanceType;  // node.kubernetes.io/instance-type
  bool inFlight = false;     // created by the scaler, not Ready yet

  Resources free() const { return allocatable - requested; }
};

// Fills capacityType, gpuProduct, pool and instanceType from the labels when they are unset.
void deriveFromLabels(NodeInfo& node);

}  // namespace spotfit::placement

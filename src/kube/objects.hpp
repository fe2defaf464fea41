#pragma once
// Compact, typed views of the Kubernetes objects spotfit reads, decoded straight from RapidJSON values.
//
// Informer caches hold these structs, never whole JSON documents: a cached Pod keeps what placement,
// the scaler and the extender use (requests, scheduling constraints, owner, node, phase, the
// PodScheduled condition, labels and the annotations listed in `keptAnnotation`) and nothing else.
// Decoders return an Error (code "invalid", message naming the JSON path) on wrong types or missing
// required fields; they never throw and never crash on untrusted input.
//
// API stability: other modules depend on these types. Changes are additive only.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/time.hpp"
#include "kube/flat_map.hpp"
#include "kube/json.hpp"
#include "placement/model.hpp"
#include "placement/quantity.hpp"

namespace spotfit::kube {

struct OwnerReference {
  std::string apiVersion;
  std::string kind;
  std::string name;
  std::string uid;
  bool controller = false;
};

// The subset of metav1.ObjectMeta kept for every cached object.
struct ObjectMeta {
  std::string name;
  std::string namespace_;  // empty for cluster-scoped objects
  std::string uid;
  std::string resourceVersion;
  int64_t generation = 0;
  FlatMap labels;
  FlatMap annotations;  // only the keys `keptAnnotation` accepts (see below)
  std::vector<OwnerReference> ownerReferences;
  std::optional<base::WallTime> creationTimestamp;
  std::optional<base::WallTime> deletionTimestamp;

  // "namespace/name", or "name" for cluster-scoped objects (client-go's MetaNamespaceKeyFunc).
  std::string key() const;
  // The controller owner (controller: true), if any.
  const OwnerReference* controllerRef() const;
};

// Annotations cached on objects: every `spotfit.io/` key plus the few foreign ones spotfit acts on
// (safe-to-evict, do-not-disrupt, mirror pods). Everything else (last-applied-configuration, ...) is
// dropped at decode time.
bool keptAnnotation(std::string_view key);

// Decodes metadata; `path` prefixes error messages (e.g. "metadata").
Result<ObjectMeta> decodeMeta(const json::Value& metadata, std::string_view path = "metadata");

struct Condition {
  std::string type;
  std::string status;  // "True" | "False" | "Unknown"
  std::string reason;
  std::string message;
  std::optional<base::WallTime> lastTransitionTime;
};

// ---------------------------------------------------------------------------------------------------
// Label selectors (metav1.LabelSelector) — PDBs select pods with them.
struct LabelSelectorRequirement {
  std::string key;
  std::string op;  // In | NotIn | Exists | DoesNotExist
  std::vector<std::string> values;
};
struct LabelSelector {
  std::vector<std::pair<std::string, std::string>> matchLabels;
  std::vector<LabelSelectorRequirement> matchExpressions;
  // An empty selector matches everything (as in policy/v1); a null selector is represented by
  // std::optional<LabelSelector> being empty at the use site.
  bool matches(const FlatMap& labels) const;
};
Result<LabelSelector> decodeLabelSelector(const json::Value& v, std::string_view path);

// ---------------------------------------------------------------------------------------------------
// Pods. The scheduling-relevant part of the spec is interned: pods created from one template (the pods
// of a Job, a ReplicaSet) point at a single shared PodSchedulingSpec, which is what keeps 150,000 cached
// pods small.
using PodPhase = placement::PodPhase;
std::string_view toString(PodPhase p);
PodPhase parsePodPhase(std::string_view text);  // unknown text → Unknown

struct PodSchedulingSpec {
  std::vector<placement::Container> containers;
  std::vector<placement::Container> initContainers;
  placement::Resources overhead;
  placement::Resources overheadRoundedUpBy;  // see placement::Container::requestsRoundedUpBy
  placement::PodLevelRequests podLevel;      // spec.resources.requests (pod-level resources)
  placement::Labels nodeSelector;
  std::vector<placement::NodeSelectorTerm> requiredNodeAffinity;
  std::optional<placement::CapacityType> preferredCapacityType;  // from preferred node affinity
  std::vector<placement::Toleration> tolerations;
  bool hasPodAffinity = false;
  bool hasPodAntiAffinity = false;
  bool hasTopologySpread = false;
  bool hasLocalStorage = false;  // emptyDir (not medium Memory) or hostPath volumes
  std::string schedulerName;
  int32_t priority = 0;
  std::optional<int64_t> terminationGracePeriodSeconds;
  placement::Resources requests;  // placement::podRequests over the fields above

  friend bool operator==(const PodSchedulingSpec&, const PodSchedulingSpec&) = default;
};

struct Pod {
  ObjectMeta meta;
  std::shared_ptr<const PodSchedulingSpec> spec;  // never null in a decoded Pod
  std::string nodeName;                           // spec.nodeName ("" while unbound)
  PodPhase phase = PodPhase::Unknown;
  // The PodScheduled condition: scheduled == false with reason "Unschedulable" is what the scaler reacts to.
  std::optional<bool> scheduled;  // nullopt when the condition is absent
  std::string scheduledReason;    // e.g. "Unschedulable"
  std::string scheduledMessage;   // kept only while not scheduled (it can be long)
  bool isMirror = false;          // static pod mirror (annotation kubernetes.io/config.mirror)
  // For the profile learner (scaler/kube_learner.hpp): status.startTime, the latest
  // status.containerStatuses[].state.terminated.finishedAt, and the containers whose current or last
  // termination reason is OOMKilled (at most kMaxContainerStatuses statuses are read).
  std::optional<base::WallTime> startTime;
  std::optional<base::WallTime> finishedAt;
  std::vector<std::string> oomKilled;

  // Effective requests as kube-scheduler computes them (placement::podRequests).
  const placement::Resources& requests() const { return spec->requests; }
  bool unschedulable() const { return scheduled == false && scheduledReason == "Unschedulable"; }
  bool terminal() const { return phase == PodPhase::Succeeded || phase == PodPhase::Failed; }
  bool ownedByDaemonSet() const;
  // spotfit.io/do-not-disrupt=true, karpenter.sh/do-not-disrupt=true or safe-to-evict=false.
  bool doNotDisrupt() const;

  // The placement core's view of this pod (labels, kept annotations, owner, workflow, requests and
  // constraints, capacity policy and GPU product from spotfit.io/ annotations).
  placement::PodInfo toPodInfo() const;
};
Result<Pod> decodePod(const json::Value& v);
// decodePod(v) then toPodInfo(): for one-off decoding (extender requests, admission).
Result<placement::PodInfo> decodePodInfo(const json::Value& v);

// ---------------------------------------------------------------------------------------------------
struct Node {
  ObjectMeta meta;           // labels are all kept
  placement::NodeInfo info;  // name, labels, taints, allocatable, unschedulable, derived capacity type,
                             // GPU product, pool and instance type (requested stays zero: the caches
                             // that know the pods fill it)
  placement::Resources capacity;
  std::optional<bool> ready;  // the Ready condition: true/false, nullopt when absent or Unknown
  std::string providerID;

  bool unschedulable() const { return info.unschedulable; }
};
Result<Node> decodeNode(const json::Value& v);

// ---------------------------------------------------------------------------------------------------
struct Job {
  ObjectMeta meta;
  std::optional<int64_t> parallelism;
  std::optional<int64_t> completions;
  bool suspend = false;
  int64_t active = 0;
  int64_t succeeded = 0;
  int64_t failed = 0;
  std::optional<base::WallTime> startTime;
  std::optional<base::WallTime> completionTime;
  bool complete = false;         // condition Complete=True
  bool failedCondition = false;  // condition Failed=True
  FlatMap templateLabels;
  FlatMap templateAnnotations;  // filtered like metadata annotations

  bool finished() const { return complete || failedCondition; }
};
Result<Job> decodeJob(const json::Value& v);

// ---------------------------------------------------------------------------------------------------
struct Namespace {
  ObjectMeta meta;
  bool terminating = false;  // status.phase == Terminating
};
Result<Namespace> decodeNamespace(const json::Value& v);

// ---------------------------------------------------------------------------------------------------
struct PodDisruptionBudget {
  ObjectMeta meta;
  std::optional<json::IntOrString> minAvailable;
  std::optional<json::IntOrString> maxUnavailable;
  std::optional<LabelSelector> selector;  // nullopt selects no pods (policy/v1)
  int64_t disruptionsAllowed = 0;
  int64_t currentHealthy = 0;
  int64_t desiredHealthy = 0;
  int64_t expectedPods = 0;
  int64_t observedGeneration = 0;

  bool selects(const Pod& pod) const;  // same namespace and selector matches
};
Result<PodDisruptionBudget> decodePodDisruptionBudget(const json::Value& v);

// ---------------------------------------------------------------------------------------------------
// autoscaling.k8s.io/v1 VerticalPodAutoscaler.
struct NamedQuantity {
  std::string resource;                                                     // "cpu", "memory", ...
  int64_t milli = 0;                                                        // value × 1000 (placement::parseMilli)
  placement::QuantityFormat format = placement::QuantityFormat::DecimalSI;  // as written (1Gi: BinarySI)
};
using QuantityList = std::vector<NamedQuantity>;
std::optional<int64_t> milliOf(const QuantityList& list, std::string_view resource);

struct ContainerRecommendation {
  std::string containerName;
  QuantityList target;
  QuantityList lowerBound;
  QuantityList upperBound;
  QuantityList uncappedTarget;
};

struct ContainerResourcePolicy {
  std::string containerName;  // "*" applies to every container without its own entry
  std::string mode = "Auto";  // Auto | Off
  QuantityList minAllowed;
  QuantityList maxAllowed;
  std::vector<std::string> controlledResources;        // empty = cpu and memory
  std::string controlledValues = "RequestsAndLimits";  // | RequestsOnly
};

struct CrossVersionObjectReference {
  std::string apiVersion;
  std::string kind;
  std::string name;
};

struct VerticalPodAutoscaler {
  ObjectMeta meta;
  std::optional<CrossVersionObjectReference> targetRef;
  std::string updateMode = "Auto";  // Off | Initial | Recreate | Auto | InPlaceOrRecreate
  std::vector<ContainerResourcePolicy> containerPolicies;
  std::vector<ContainerRecommendation> recommendations;

  const ContainerRecommendation* recommendationFor(std::string_view container) const;
  // The container's own policy, else the "*" policy, else nullptr.
  const ContainerResourcePolicy* policyFor(std::string_view container) const;
};
Result<VerticalPodAutoscaler> decodeVerticalPodAutoscaler(const json::Value& v);

// ---------------------------------------------------------------------------------------------------
// karpenter.sh/v1 NodeClaim: the part the webhook's spot cool-off reads (a spot NodeClaim Karpenter deletes
// on an interruption notice). Labels carry karpenter.sh/capacity-type and the instance type.
struct NodeClaim {
  ObjectMeta meta;
  std::string expireAfter;  // spec.expireAfter: "Never", a Go duration, or empty
  std::string nodeName;     // status.nodeName, once registered
  std::vector<Condition> conditions;
  // The condition Karpenter's disruption controller sets (reason Empty, Underutilized, Drifted, ...) on a
  // NodeClaim it is about to disrupt; an interruption or a user deletes without it.
  bool disruptedByKarpenter() const;
};
Result<NodeClaim> decodeNodeClaim(const json::Value& v);

// ---------------------------------------------------------------------------------------------------
// coordination.k8s.io/v1 Lease.
struct Lease {
  ObjectMeta meta;
  std::string holderIdentity;
  std::optional<int64_t> leaseDurationSeconds;
  std::optional<base::WallTime> acquireTime;
  std::optional<base::WallTime> renewTime;
  int64_t leaseTransitions = 0;
};
Result<Lease> decodeLease(const json::Value& v);
// A full Lease object as JSON (for create/update); resourceVersion included when non-empty.
std::string encodeLease(const Lease& lease);

// ---------------------------------------------------------------------------------------------------
// Parse-and-decode conveniences for whole documents.
template <typename T>
using Decoder = Result<T> (*)(const json::Value&);

template <typename T>
Result<T> decodeText(std::string_view text, Decoder<T> decode) {
  auto doc = json::parse(text);
  if (!doc.ok()) return doc.error();
  return decode(*doc);
}

}  // namespace spotfit::kube

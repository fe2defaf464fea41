#pragma once
// Which gang, if any, a pod belongs to (docs/annotations.md, "Gangs"). Pure: everything comes from the
// pod's labels, annotations and controller, plus the few owner facts an adapter looked up (GangFacts).

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/vocabulary.hpp"
#include "placement/gang.hpp"
#include "placement/model.hpp"

namespace spotfit::placement {

inline constexpr std::string_view kAnnotationGang = vocab::kAnnotationGang;                  // "true" | "false"
inline constexpr std::string_view kAnnotationGangSize = vocab::kAnnotationGangSize;          // members, 1..kMaxGangSize
inline constexpr std::string_view kAnnotationGangTopology = vocab::kAnnotationGangTopology;  // "zone" | "any"
inline constexpr std::string_view kAnnotationGangMixedCapacity = vocab::kAnnotationGangMixedCapacity;  // "true"
// A gang larger than this is refused as a size (the gang is still detected, its size left unknown).
inline constexpr int64_t kMaxGangSize = 10000;

// What an adapter knows about the owners of pods; keys are "namespace/name". Optional: without them
// Volcano and Indexed Job gangs are still detected, with an unknown size.
struct GangFacts {
  std::map<std::string, int64_t, std::less<>> podGroupMinMember;  // Volcano PodGroup spec.minMember
  // Jobs with completionMode Indexed and parallelism == completions: their parallelism.
  std::map<std::string, int64_t, std::less<>> indexedJobs;
};

struct GangRef {
  std::string key;     // identifies the gang: "<namespace>/<source>/<name>"
  std::string source;  // "annotation" | "kueue" | "volcano" | "jobset" | "kubeflow" | "indexed-job"
  int64_t size = 0;    // members expected; 0 = unknown
  GangTopology topology = GangTopology::Any;
  bool allowMixedCapacity = false;
  std::vector<std::string> warnings;  // unusable annotation values (the gang is still planned as one)
};

// The gang of this pod, or nullopt. Order: spotfit.io/gang ("false" opts out of everything below),
// Kueue pod group (kueue.x-k8s.io/pod-group-name + pod-group-total-count), Volcano / scheduler-plugins
// PodGroup (scheduling.k8s.io/group-name or scheduling.x-k8s.io/pod-group), JobSet (also Kubeflow
// TrainJob, which runs as a JobSet), Kubeflow training-operator jobs (PyTorchJob, MPIJob, TFJob, ...), an
// Indexed Job whose parallelism equals its completions (webhook-stamped spotfit.io/gang, or GangFacts).
// spotfit.io/gang-size overrides the detected size; spotfit.io/gang-topology and -mixed-capacity apply
// to every source.
std::optional<GangRef> detectGang(const PodInfo& pod, const GangFacts& facts = {});

// The label value (spotfit.io/gang on nodes the scaler launched for a gang) naming the gang of `key`:
// "g-" + 16 hex digits of a 64-bit FNV-1a hash, a valid label value whatever the key holds.
inline constexpr std::string_view kLabelGangNode = vocab::kLabelGangNode;
std::string gangLabelValue(std::string_view key);

// What the extender holds a gang member to (docs/extender.md, "Gangs"): the capacity type and, for a
// zonal gang, the zone of the candidate nodes the scaler launched for this gang (labelled
// spotfit.io/gang=<gangLabelValue>). Unset when no such node is among the candidates or they disagree.
struct GangPin {
  std::string label;  // gangLabelValue of the gang
  std::optional<CapacityType> capacityType;
  std::optional<std::string> zone;
};
GangPin gangPin(const GangRef& gang, const std::vector<const NodeInfo*>& candidates);
// Empty when a member of the pinned gang may use the node; else why not ("spot node, gang ... runs on
// on-demand nodes").
std::string gangMismatch(const GangPin& pin, const NodeInfo& node);
// Whether the node was launched for this gang.
bool isGangNode(const GangPin& pin, const NodeInfo& node);

// Parses a member count: an integer in 1..kMaxGangSize, else an error message naming the value.
std::optional<int64_t> parseGangSize(std::string_view text, std::string* error = nullptr);

}  // namespace spotfit::placement

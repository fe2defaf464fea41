#include "placement/gang_detect.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <set>

namespace spotfit::placement {

namespace {

constexpr std::string_view kKueuePodGroup = "kueue.x-k8s.io/pod-group-name";               // label
constexpr std::string_view kKueuePodGroupTotal = "kueue.x-k8s.io/pod-group-total-count";   // annotation
constexpr std::string_view kVolcanoGroup = "scheduling.k8s.io/group-name";                 // annotation
constexpr std::string_view kCoschedulingGroup = "scheduling.x-k8s.io/pod-group";           // label
constexpr std::string_view kJobSetName = "jobset.sigs.k8s.io/jobset-name";                 // label
constexpr std::string_view kKubeflowJobName = "training.kubeflow.org/job-name";            // label
constexpr std::string_view kCompletionIndex = "batch.kubernetes.io/job-completion-index";  // annotation/label
constexpr std::array<std::string_view, 7> kKubeflowKinds{"PyTorchJob", "MPIJob", "TFJob", "XGBoostJob",
                                                         "PaddleJob",  "JAXJob", "MXJob"};

std::optional<std::string_view> get(const Labels& m, std::string_view key) {
  auto it = m.find(key);
  if (it == m.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::optional<std::string_view> either(const PodInfo& pod, std::string_view key) {
  if (auto v = get(pod.annotations, key)) return v;
  return get(pod.labels, key);
}

// A value quoted in a warning, cut so that a hostile annotation cannot bloat logs and events.
std::string quoted(std::string_view v) {
  constexpr size_t kMax = 40;
  std::string s = "\"" + std::string(v.substr(0, kMax)) + (v.size() > kMax ? "...\"" : "\"");
  return s;
}

}  // namespace

std::string gangLabelValue(std::string_view key) {
  uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : key) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "g-";
  for (int i = 15; i >= 0; --i) out += kHex[(h >> (i * 4)) & 0xF];
  return out;
}

namespace {
std::string zoneOf(const NodeInfo& n) {
  auto it = n.labels.find(kLabelTopologyZone);
  return it == n.labels.end() ? std::string() : it->second;
}
}  // namespace

bool isGangNode(const GangPin& pin, const NodeInfo& node) {
  auto it = node.labels.find(kLabelGangNode);
  return it != node.labels.end() && it->second == pin.label;
}

GangPin gangPin(const GangRef& gang, const std::vector<const NodeInfo*>& candidates) {
  GangPin pin;
  pin.label = gangLabelValue(gang.key);
  std::set<CapacityType> types;
  std::set<std::string> zones;
  for (const NodeInfo* n : candidates) {
    if (!n || !isGangNode(pin, *n)) continue;
    types.insert(n->capacityType);
    zones.insert(zoneOf(*n));
  }
  if (types.size() == 1 && !gang.allowMixedCapacity) pin.capacityType = *types.begin();
  if (zones.size() == 1 && gang.topology == GangTopology::Zone) pin.zone = *zones.begin();
  return pin;
}

std::string gangMismatch(const GangPin& pin, const NodeInfo& node) {
  if (pin.capacityType && node.capacityType != *pin.capacityType) {
    return std::string(toString(node.capacityType)) + " node, gang " + pin.label + " runs on " +
           std::string(toString(*pin.capacityType)) + " nodes";
  }
  if (pin.zone && zoneOf(node) != *pin.zone) {
    return "zone " + (zoneOf(node).empty() ? std::string("(none)") : zoneOf(node)) + ", gang " + pin.label +
           " runs in zone " + *pin.zone;
  }
  return "";
}

std::optional<int64_t> parseGangSize(std::string_view text, std::string* error) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (text.empty() || ec != std::errc() || ptr != end || v < 1 || v > kMaxGangSize) {
    if (error) *error = quoted(text) + " is not a member count (an integer in 1.." + std::to_string(kMaxGangSize) + ")";
    return std::nullopt;
  }
  return v;
}

std::optional<GangRef> detectGang(const PodInfo& pod, const GangFacts& facts) {
  const std::string& ns = pod.namespace_;
  GangRef g;
  auto explicitFlag = get(pod.annotations, kAnnotationGang);
  if (explicitFlag == std::string_view("false")) return std::nullopt;
  if (explicitFlag && explicitFlag != std::string_view("true")) {
    g.warnings.push_back(std::string(kAnnotationGang) + " " + quoted(*explicitFlag) +
                         " is neither \"true\" nor \"false\"; ignored");
    explicitFlag.reset();
  }

  std::optional<std::string_view> sizeFrom;  // a detected size's text, parsed below
  std::string sizeSource;
  if (explicitFlag) {
    g.source = "annotation";
    std::string name = pod.hasController && !pod.ownerName.empty() ? pod.ownerKind + "/" + pod.ownerName
                       : !pod.workflow.empty()                     ? "workflow/" + pod.workflow
                                                                   : "pod/" + pod.name;
    g.key = ns + "/annotation/" + name;
  } else if (auto group = get(pod.labels, kKueuePodGroup)) {
    g.source = "kueue";
    g.key = ns + "/kueue/" + std::string(*group);
    sizeFrom = get(pod.annotations, kKueuePodGroupTotal);
    sizeSource = std::string(kKueuePodGroupTotal);
  } else if (auto pg = either(pod, kVolcanoGroup) ? either(pod, kVolcanoGroup) : get(pod.labels, kCoschedulingGroup)) {
    g.source = "volcano";
    g.key = ns + "/volcano/" + std::string(*pg);
    if (auto it = facts.podGroupMinMember.find(ns + "/" + std::string(*pg)); it != facts.podGroupMinMember.end()) {
      if (it->second >= 1 && it->second <= kMaxGangSize) {
        g.size = it->second;
      } else {
        g.warnings.push_back("PodGroup " + std::string(*pg) + " minMember " + std::to_string(it->second) +
                             " is not a member count (1.." + std::to_string(kMaxGangSize) + ")");
      }
    }
  } else if (auto js = get(pod.labels, kJobSetName)) {
    g.source = "jobset";
    g.key = ns + "/jobset/" + std::string(*js);
  } else if (auto kf = get(pod.labels, kKubeflowJobName)) {
    g.source = "kubeflow";
    g.key = ns + "/kubeflow/" + std::string(*kf);
  } else if (pod.hasController &&
             std::find(kKubeflowKinds.begin(), kKubeflowKinds.end(), pod.ownerKind) != kKubeflowKinds.end()) {
    g.source = "kubeflow";
    g.key = ns + "/kubeflow/" + pod.ownerName;
  } else if (pod.hasController && pod.ownerKind == "Job" && either(pod, kCompletionIndex)) {
    auto it = facts.indexedJobs.find(ns + "/" + pod.ownerName);
    if (it == facts.indexedJobs.end()) return std::nullopt;  // not known to run all its indexes at once
    g.source = "indexed-job";
    g.key = ns + "/indexed-job/" + pod.ownerName;
    if (it->second >= 1 && it->second <= kMaxGangSize) g.size = it->second;
  } else {
    return std::nullopt;
  }

  if (sizeFrom) {
    std::string err;
    if (auto n = parseGangSize(*sizeFrom, &err)) {
      g.size = *n;
    } else {
      g.warnings.push_back(sizeSource + " " + err + "; gang size unknown");
    }
  }
  if (auto s = get(pod.annotations, kAnnotationGangSize)) {
    std::string err;
    if (auto n = parseGangSize(*s, &err)) {
      g.size = *n;
    } else {
      g.warnings.push_back(std::string(kAnnotationGangSize) + " " + err + "; gang size unknown");
    }
  }
  if (auto t = get(pod.annotations, kAnnotationGangTopology)) {
    if (*t == "zone") {
      g.topology = GangTopology::Zone;
    } else if (*t != "any") {
      g.warnings.push_back(std::string(kAnnotationGangTopology) + " " + quoted(*t) +
                           " is neither \"zone\" nor \"any\"; any zone");
    }
  }
  if (auto m = get(pod.annotations, kAnnotationGangMixedCapacity)) {
    if (*m == "true") {
      g.allowMixedCapacity = true;
    } else if (*m != "false") {
      g.warnings.push_back(std::string(kAnnotationGangMixedCapacity) + " " + quoted(*m) +
                           " is neither \"true\" nor \"false\"; one capacity type");
    }
  }
  return g;
}

}  // namespace spotfit::placement

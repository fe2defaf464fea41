#include "placement/model.hpp"

#include <algorithm>
#include <charconv>
#include <limits>

namespace spotfit::placement {

bool Toleration::toleratesTaint(const Taint& taint) const {
  if (effect && *effect != taint.effect) return false;
  if (!key.empty() && key != taint.key) return false;
  switch (op) {
    case TolerationOperator::Equal:
      return value == taint.value;
    case TolerationOperator::Exists:
      return true;
  }
  return false;
}

bool tolerated(const std::vector<Toleration>& tolerations, const Taint& taint) {
  return std::any_of(tolerations.begin(), tolerations.end(),
                     [&](const Toleration& t) { return t.toleratesTaint(taint); });
}

const Taint* firstUntoleratedTaint(const std::vector<Taint>& taints, const std::vector<Toleration>& tolerations) {
  for (const Taint& t : taints) {
    if (t.effect == TaintEffect::PreferNoSchedule) continue;
    if (!tolerated(tolerations, t)) return &t;
  }
  return nullptr;
}

std::string_view toString(TaintEffect effect) {
  switch (effect) {
    case TaintEffect::NoSchedule:
      return "NoSchedule";
    case TaintEffect::PreferNoSchedule:
      return "PreferNoSchedule";
    case TaintEffect::NoExecute:
      return "NoExecute";
  }
  return "NoSchedule";
}

std::optional<TaintEffect> parseTaintEffect(std::string_view text) {
  if (text == "NoSchedule") return TaintEffect::NoSchedule;
  if (text == "PreferNoSchedule") return TaintEffect::PreferNoSchedule;
  if (text == "NoExecute") return TaintEffect::NoExecute;
  return std::nullopt;
}

namespace {

std::optional<int64_t> parseInt64(std::string_view s) {
  int64_t v = 0;
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (b != e && *b == '+') ++b;  // strconv.ParseInt accepts a leading '+'
  auto [ptr, ec] = std::from_chars(b, e, v);
  if (ec != std::errc() || ptr != e || b == e) return std::nullopt;
  return v;
}

bool contains(const std::vector<std::string>& values, std::string_view v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

bool NodeSelectorRequirement::matches(const Labels& labels) const {
  auto it = labels.find(key);
  bool has = it != labels.end();
  switch (op) {
    case SelectorOperator::In:
      return !values.empty() && has && contains(values, it->second);
    case SelectorOperator::NotIn:
      return !values.empty() && (!has || !contains(values, it->second));
    case SelectorOperator::Exists:
      return values.empty() && has;
    case SelectorOperator::DoesNotExist:
      return values.empty() && !has;
    case SelectorOperator::Gt:
    case SelectorOperator::Lt: {
      if (values.size() != 1) return false;
      auto want = parseInt64(values[0]);
      if (!want || !has) return false;
      auto got = parseInt64(it->second);
      if (!got) return false;
      return op == SelectorOperator::Gt ? *got > *want : *got < *want;
    }
  }
  return false;
}

bool NodeSelectorTerm::matches(const Labels& labels, std::string_view nodeName) const {
  if (matchExpressions.empty() && matchFields.empty()) return false;
  for (const auto& r : matchExpressions) {
    if (!r.matches(labels)) return false;
  }
  for (const auto& f : matchFields) {
    if (f.key != "metadata.name") return false;
    if (f.op != SelectorOperator::In && f.op != SelectorOperator::NotIn) return false;
    if (f.values.size() != 1) return false;  // field selectors take exactly one value
    bool eq = f.values[0] == nodeName;
    if ((f.op == SelectorOperator::In) != eq) return false;
  }
  return true;
}

bool matchesAnyTerm(const std::vector<NodeSelectorTerm>& terms, const Labels& labels, std::string_view nodeName) {
  if (terms.empty()) return true;
  return std::any_of(terms.begin(), terms.end(),
                     [&](const NodeSelectorTerm& t) { return t.matches(labels, nodeName); });
}

std::string_view toString(SelectorOperator op) {
  switch (op) {
    case SelectorOperator::In:
      return "In";
    case SelectorOperator::NotIn:
      return "NotIn";
    case SelectorOperator::Exists:
      return "Exists";
    case SelectorOperator::DoesNotExist:
      return "DoesNotExist";
    case SelectorOperator::Gt:
      return "Gt";
    case SelectorOperator::Lt:
      return "Lt";
  }
  return "In";
}

std::optional<SelectorOperator> parseSelectorOperator(std::string_view text) {
  if (text == "In") return SelectorOperator::In;
  if (text == "NotIn") return SelectorOperator::NotIn;
  if (text == "Exists") return SelectorOperator::Exists;
  if (text == "DoesNotExist") return SelectorOperator::DoesNotExist;
  if (text == "Gt") return SelectorOperator::Gt;
  if (text == "Lt") return SelectorOperator::Lt;
  return std::nullopt;
}

std::string_view toString(CapacityType type) {
  return type == CapacityType::Spot ? "spot" : "on-demand";
}

std::string_view toString(CapacityPolicy policy) {
  switch (policy) {
    case CapacityPolicy::SpotPreferred:
      return "spot-preferred";
    case CapacityPolicy::Spot:
      return "spot";
    case CapacityPolicy::OnDemand:
      return "on-demand";
    case CapacityPolicy::SpotOnly:
      return "spot-only";
  }
  return "spot-preferred";
}

std::optional<CapacityType> parseCapacityType(std::string_view text) {
  if (text == "spot" || text == "SPOT") return CapacityType::Spot;
  if (text == "on-demand" || text == "ON_DEMAND" || text == "on_demand") return CapacityType::OnDemand;
  return std::nullopt;
}

std::optional<CapacityPolicy> parseCapacityPolicy(std::string_view text) {
  if (text == "spot-preferred") return CapacityPolicy::SpotPreferred;
  if (text == "spot") return CapacityPolicy::Spot;
  if (text == "on-demand") return CapacityPolicy::OnDemand;
  if (text == "spot-only") return CapacityPolicy::SpotOnly;
  return std::nullopt;
}

bool allows(CapacityPolicy policy, CapacityType type) {
  switch (policy) {
    case CapacityPolicy::SpotPreferred:
      return true;
    case CapacityPolicy::Spot:
    case CapacityPolicy::SpotOnly:
      return type == CapacityType::Spot;
    case CapacityPolicy::OnDemand:
      return type == CapacityType::OnDemand;
  }
  return true;
}

CapacityType capacityTypeFromLabels(const Labels& labels) {
  for (std::string_view key : {kLabelCapacityType, kLabelKarpenterCapacityType, kLabelEksCapacityType}) {
    auto it = labels.find(key);
    if (it != labels.end()) {
      if (auto t = parseCapacityType(it->second)) return *t;
    }
  }
  auto gke = labels.find(kLabelGkeSpot);
  if (gke != labels.end() && gke->second == "true") return CapacityType::Spot;
  auto aks = labels.find("kubernetes.azure.com/scalesetpriority");
  if (aks != labels.end() && aks->second == "spot") return CapacityType::Spot;
  return CapacityType::OnDemand;
}

namespace {

// API defaulting: a resource with a limit and no request is requested at its limit.
Resources effectiveRequests(const Container& c) {
  Resources r = c.requests;
  const Resources& l = c.limits;
  if (r.cpuMilli == 0) r.cpuMilli = l.cpuMilli;
  if (r.memory == 0) r.memory = l.memory;
  if (r.ephemeralStorage == 0) r.ephemeralStorage = l.ephemeralStorage;
  for (const auto& [name, v] : l.extended) {
    if (r.get(name) == 0) r.set(name, v);
  }
  return r;
}

}  // namespace

bool isPodLevelResource(std::string_view name) {
  return name == kResourceCpu || name == kResourceMemory || name.starts_with("hugepages-");
}

namespace {

constexpr int64_t kBillion = 1'000'000'000;
__extension__ using Exact = __int128;  // an amount in billionths of its unit

// Exact amounts by resource name (few entries: a linear scan beats a map).
class ExactList {
 public:
  Exact get(std::string_view name) const {
    for (const auto& [n, v] : entries_) {
      if (n == name) return v;
    }
    return 0;
  }
  void set(std::string_view name, Exact v) {
    for (auto& [n, old] : entries_) {
      if (n == name) {
        old = v;
        return;
      }
    }
    entries_.emplace_back(std::string(name), v);
  }
  void add(const ExactList& o) {
    for (const auto& [n, v] : o.entries_) set(n, get(n) + v);
  }
  void maxWith(const ExactList& o) {
    for (const auto& [n, v] : o.entries_) set(n, std::max(get(n), v));
  }
  const std::vector<std::pair<std::string, Exact>>& entries() const { return entries_; }

 private:
  std::vector<std::pair<std::string, Exact>> entries_;
};

std::vector<std::string_view> names(const Resources& r) {
  std::vector<std::string_view> out;
  if (r.cpuMilli != 0) out.push_back(kResourceCpu);
  if (r.memory != 0) out.push_back(kResourceMemory);
  if (r.ephemeralStorage != 0) out.push_back(kResourceEphemeralStorage);
  if (r.pods != 0) out.push_back(kResourcePods);
  for (const auto& [n, v] : r.extended) out.push_back(n);
  return out;
}

ExactList exact(const Resources& amounts, const Resources& roundedUpBy) {
  ExactList out;
  for (std::string_view n : names(amounts)) out.set(n, Exact{amounts.get(n)} * kBillion - roundedUpBy.get(n));
  return out;
}

// API defaulting on exact amounts: a resource with a limit and no request is requested at its limit.
ExactList exactRequests(const Container& c) {
  ExactList r = exact(c.requests, c.requestsRoundedUpBy);
  for (std::string_view n : names(c.limits)) {
    if (c.requests.get(n) == 0) r.set(n, Exact{c.limits.get(n)} * kBillion - c.limitsRoundedUpBy.get(n));
  }
  return r;
}

bool hasFractions(const Container& c) {
  return !c.requestsRoundedUpBy.isZero() || !c.limitsRoundedUpBy.isZero();
}

// The general path: exact sums, pod-level requests, one rounding at the end.
Resources exactPodRequests(const PodInfo& pod) {
  ExactList reqs;
  for (const Container& c : pod.containers) reqs.add(exactRequests(c));
  ExactList restartable;
  ExactList initMax;
  for (const Container& c : pod.initContainers) {
    ExactList r = exactRequests(c);
    if (c.restartAlways) {
      reqs.add(r);
      restartable.add(r);
      initMax.maxWith(restartable);
    } else {
      r.add(restartable);
      initMax.maxWith(r);
    }
  }
  reqs.maxWith(initMax);
  const ExactList podLevel = exact(pod.podLevel.amounts, pod.podLevel.roundedUpBy);
  for (const std::string& n : pod.podLevel.names) reqs.set(n, podLevel.get(n));
  reqs.add(exact(pod.overhead, pod.overheadRoundedUpBy));
  Resources out;
  for (const auto& [n, v] : reqs.entries()) {
    Exact units = v <= 0 ? -((-v) / kBillion) : (v + kBillion - 1) / kBillion;  // ceil, like MilliValue/Value
    if (units > std::numeric_limits<int64_t>::max()) units = std::numeric_limits<int64_t>::max();
    if (units < std::numeric_limits<int64_t>::min()) units = std::numeric_limits<int64_t>::min();
    out.set(n, static_cast<int64_t>(units));
  }
  out.pods = 1;
  return out;
}

}  // namespace

Resources podRequests(const PodInfo& pod) {
  bool exactPath = !pod.podLevel.empty() || !pod.overheadRoundedUpBy.isZero();
  for (const Container& c : pod.containers) exactPath = exactPath || hasFractions(c);
  for (const Container& c : pod.initContainers) exactPath = exactPath || hasFractions(c);
  if (exactPath) return exactPodRequests(pod);
  Resources reqs;
  for (const Container& c : pod.containers) reqs += effectiveRequests(c);
  Resources restartable;  // sidecars started so far
  Resources initMax;
  for (const Container& c : pod.initContainers) {
    Resources r = effectiveRequests(c);
    if (c.restartAlways) {
      reqs += r;
      restartable += r;
      initMax = Resources::max(initMax, restartable);
    } else {
      initMax = Resources::max(initMax, r + restartable);
    }
  }
  reqs = Resources::max(reqs, initMax);
  reqs += pod.overhead;
  reqs.pods = 1;
  return reqs;
}

void deriveFromLabels(NodeInfo& node) {
  auto label = [&](std::string_view k) -> std::string {
    auto it = node.labels.find(k);
    return it == node.labels.end() ? std::string() : it->second;
  };
  if (node.capacityType == CapacityType::OnDemand) node.capacityType = capacityTypeFromLabels(node.labels);
  if (node.gpuProduct.empty()) node.gpuProduct = label(kLabelGpuProduct);
  if (node.pool.empty()) node.pool = label(kLabelNodePool);
  if (node.instanceType.empty()) node.instanceType = label(kLabelInstanceType);
}

}  // namespace spotfit::placement

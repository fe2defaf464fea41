#include "extender/cache.hpp"

#include <algorithm>
#include <mutex>

namespace spotfit::extender {

// Expired ledger entries are ignored by readers at once; the memory is reclaimed at most this often.
static constexpr std::chrono::seconds kSweepInterval{1};

ClusterCache::ClusterCache(const kube::Clock& clock, std::chrono::nanoseconds assumeTtl, std::size_t maxAssumed)
    : clock_(clock), ttl_(assumeTtl), maxAssumed_(maxAssumed) {}

ClusterCache::~ClusterCache() = default;

std::string ClusterCache::podKey(std::string_view uid, std::string_view ns, std::string_view name) {
  if (!uid.empty()) return std::string(uid);
  std::string key;
  key.reserve(ns.size() + 1 + name.size());
  key.append(ns).append("/").append(name);
  return key;
}

std::string ClusterCache::podKey(const placement::PodInfo& pod) {
  return podKey(pod.uid, pod.namespace_, pod.name);
}

ClusterCache::NodeSlot& ClusterCache::slotLocked(std::string_view name) {
  auto it = nodes_.find(name);
  if (it != nodes_.end()) return *it->second;
  auto slot = std::make_unique<NodeSlot>();
  slot->name = std::string(name);
  auto& ref = *slot;
  nodes_.emplace(slot->name, std::move(slot));
  return ref;
}

void ClusterCache::releaseSlotIfUnusedLocked(NodeSlot& slot) {
  if (slot.info || slot.boundPods > 0 || !slot.assumed.empty()) return;
  nodes_.erase(slot.name);
}

void ClusterCache::nodeUpserted(placement::NodeInfo node) {
  std::unique_lock lock(mu_);
  sweepLocked(clock_.now());
  NodeSlot& slot = slotLocked(node.name);
  if (!slot.info) ++knownNodes_;
  node.requested = slot.requested;
  slot.info = std::move(node);
}

void ClusterCache::nodeDeleted(std::string_view name) {
  std::unique_lock lock(mu_);
  auto it = nodes_.find(name);
  if (it == nodes_.end() || !it->second->info) return;
  NodeSlot& slot = *it->second;
  slot.info.reset();
  --knownNodes_;
  releaseSlotIfUnusedLocked(slot);
}

void ClusterCache::unbindLocked(std::string_view key) {
  auto it = bound_.find(key);
  if (it == bound_.end()) return;
  NodeSlot& slot = *it->second.node;
  slot.requested -= it->second.requests;
  --slot.boundPods;
  if (slot.info) slot.info->requested = slot.requested;
  bound_.erase(it);
  releaseSlotIfUnusedLocked(slot);
}

void ClusterCache::forgetAssumedLocked(std::string_view key) {
  auto it = assumed_.find(key);
  if (it == assumed_.end()) return;
  AssumedPod* entry = it->second.get();
  NodeSlot& slot = *entry->node;
  std::erase(slot.assumed, entry);
  assumed_.erase(it);
  releaseSlotIfUnusedLocked(slot);
}

void ClusterCache::podUpserted(std::string_view key, std::string_view nodeName, bool terminal,
                               const placement::Resources& requests) {
  const bool counts = !nodeName.empty() && !terminal;
  std::unique_lock lock(mu_);
  sweepLocked(clock_.now());
  // The informer showing the pod bound (or finished) settles its assumption, wherever it ended up.
  if (!nodeName.empty() || terminal) forgetAssumedLocked(key);
  auto it = bound_.find(key);
  if (it != bound_.end() && counts && it->second.node->name == nodeName && it->second.requests == requests) return;
  unbindLocked(key);
  if (!counts) return;
  NodeSlot& slot = slotLocked(nodeName);
  slot.requested += requests;
  ++slot.boundPods;
  if (slot.info) slot.info->requested = slot.requested;
  bound_.emplace(std::string(key), BoundPod{&slot, requests});
}

void ClusterCache::podDeleted(std::string_view key) {
  std::unique_lock lock(mu_);
  forgetAssumedLocked(key);
  unbindLocked(key);
}

void ClusterCache::synced() {
  std::unique_lock lock(mu_);
  synced_ = true;
}

bool ClusterCache::isSynced() const {
  std::shared_lock lock(mu_);
  return synced_;
}

CacheStats ClusterCache::stats() const {
  std::shared_lock lock(mu_);
  const auto now = clock_.now();
  std::size_t live = 0;
  for (const auto& [_, entry] : assumed_) live += entry->expires > now ? 1 : 0;
  return CacheStats{knownNodes_, bound_.size(), live};
}

void ClusterCache::sweepLocked(kube::Clock::TimePoint now, bool force) {
  if (now < nextSweep_ && !force) return;
  nextSweep_ = now + kSweepInterval;
  std::vector<std::string> expired;
  for (const auto& [key, entry] : assumed_) {
    if (entry->expires <= now) expired.push_back(key);
  }
  for (const auto& key : expired) forgetAssumedLocked(key);
}

bool ClusterCache::addAssumed(const NodeSlot& slot, std::string_view podKey, kube::Clock::TimePoint now,
                              placement::Resources& into) {
  bool any = false;
  for (const AssumedPod* a : slot.assumed) {
    if (a->expires <= now || a->key == podKey) continue;
    into += a->requests;
    any = true;
  }
  return any;
}

ClusterCache::Snapshot::Snapshot(const ClusterCache& cache)
    : cache_(cache), lock_(cache.mu_), now_(cache.clock_.now()) {}

const placement::NodeInfo* ClusterCache::Snapshot::node(std::string_view name, std::string_view podKey,
                                                        placement::NodeInfo& scratch) const {
  auto it = cache_.nodes_.find(name);
  if (it == cache_.nodes_.end() || !it->second->info) return nullptr;
  const NodeSlot& slot = *it->second;
  if (slot.assumed.empty()) return &*slot.info;  // the common case: no copy
  placement::Resources extra;
  if (!addAssumed(slot, podKey, now_, extra)) return &*slot.info;
  scratch = *slot.info;
  scratch.requested += extra;
  return &scratch;
}

placement::Resources ClusterCache::Snapshot::usage(std::string_view name, std::string_view podKey) const {
  auto it = cache_.nodes_.find(name);
  if (it == cache_.nodes_.end()) return {};
  placement::Resources used = it->second->requested;
  addAssumed(*it->second, podKey, now_, used);
  return used;
}

AssumeOutcome ClusterCache::assume(const placement::PodInfo& pod, const placement::Resources& requests,
                                   std::string_view nodeName, const placement::NodeInfo* requestNode) {
  const std::string key = podKey(pod);
  std::unique_lock lock(mu_);
  const auto now = clock_.now();
  sweepLocked(now);
  auto it = nodes_.find(nodeName);
  const NodeSlot* slot = it == nodes_.end() ? nullptr : it->second.get();
  if (requestNode == nullptr && (slot == nullptr || !slot->info)) return AssumeOutcome::kUnknownNode;

  // The re-check: the node as it stands now, with every other live assumption counted.
  placement::NodeInfo check = requestNode != nullptr ? *requestNode : *slot->info;
  check.requested = slot != nullptr ? slot->requested : placement::Resources{};
  if (slot != nullptr) addAssumed(*slot, key, now, check.requested);
  if (!placement::fit(pod, requests, check).fits) return AssumeOutcome::kNoLongerFits;

  if (assumed_.size() >= maxAssumed_ && !assumed_.contains(key)) {
    sweepLocked(now, /*force=*/true);
    if (assumed_.size() >= maxAssumed_) return AssumeOutcome::kLedgerFull;
  }
  forgetAssumedLocked(key);
  NodeSlot& target = slotLocked(nodeName);
  auto entry = std::make_unique<AssumedPod>(AssumedPod{key, &target, requests, now + ttl_});
  target.assumed.push_back(entry.get());
  assumed_.insert_or_assign(key, std::move(entry));
  return AssumeOutcome::kAssumed;
}

std::optional<std::string> ClusterCache::assumedNode(std::string_view podKey) const {
  std::shared_lock lock(mu_);
  auto it = assumed_.find(podKey);
  if (it == assumed_.end() || it->second->expires <= clock_.now()) return std::nullopt;
  return it->second->node->name;
}

}  // namespace spotfit::extender

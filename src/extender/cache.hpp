#pragma once
// The extender's view of the cluster: nodes and the requests of the pods bound to them (fed by
// informers), plus an assumed-pod ledger for pods that prioritize has just placed but whose binding the
// informer has not shown yet.
//
// A node's usage = Σ requests of the non-terminal pods bound to it (informer-confirmed)
//                + Σ requests of live ledger entries on it (this replica's own assumptions).
// A ledger entry ends when the informer shows the pod bound (anywhere) or deleted, or after the TTL
// (30 s, kube-scheduler's own assume timeout) on the injected clock.
//
// Concurrency: one shared_mutex. Filter and prioritize read many nodes under one shared lock (a
// consistent snapshot); informer events and assume() take it exclusively. assume() re-checks the fit
// against the usage it sees under the exclusive lock, so two pods can never both be assumed onto the
// last free GPU of a node, however their prioritize calls interleave.

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "kube/clock.hpp"
#include "placement/budget.hpp"
#include "placement/fit.hpp"
#include "placement/model.hpp"
#include "placement/resources.hpp"

namespace spotfit::extender {

// The informer events the cache consumes. The kube informer adapter (informer_adapter.hpp) calls these
// from its watch threads; tests and benchmarks call them directly. A pod is identified by its key (uid,
// namespace/name when the uid is empty, see ClusterCache::podKey) and counts on a node while it has
// spec.nodeName and is not terminal. Only the key, node and requests are kept per pod.
class ClusterEvents {
 public:
  virtual ~ClusterEvents() = default;
  virtual void nodeUpserted(placement::NodeInfo node) = 0;
  virtual void nodeDeleted(std::string_view name) = 0;
  // `nodeName` is spec.nodeName ("" while unbound); `terminal` is phase Succeeded or Failed;
  // `requests` is placement::podRequests of the pod.
  virtual void podUpserted(std::string_view key, std::string_view nodeName, bool terminal,
                           const placement::Resources& requests) = 0;
  virtual void podDeleted(std::string_view key) = 0;
  // The initial lists of both informers have been delivered.
  virtual void synced() = 0;
};

// What a workflow has spent so far in USD (the cost ledger's figure, read through the same interface as
// the webhook's budget gate), nullopt when unknown. A pod with `spotfit.io/budget-action: spot-only` whose
// workflow is over its `spotfit.io/budget` (placement/budget.hpp) is narrowed to spot capacity.
using BudgetStatus = placement::SpendSource;

struct CacheStats {
  std::size_t nodes = 0;        // nodes known from the informer
  std::size_t boundPods = 0;    // non-terminal pods counted on some node
  std::size_t assumedPods = 0;  // live ledger entries
};

enum class AssumeOutcome {
  kAssumed,       // the ledger now holds the pod on that node
  kNoLongerFits,  // under the lock the node had no room left (a concurrent assumption or binding won)
  kUnknownNode,   // names mode and the node is not in the cache
  kLedgerFull,    // the ledger holds maxAssumed live entries already: nothing recorded (see ClusterCache)
};

class ClusterCache final : public ClusterEvents {
 public:
  static constexpr std::chrono::seconds kDefaultAssumeTtl{30};
  // Live ledger entries at most. Keys come from the request (pod uid or namespace/name), so the ledger is
  // state a client chooses: bounded by the entry count here and by the key lengths the extender accepts
  // (Kubernetes' own: names 253, namespaces 63, uids 128 bytes), at most ~20 MB. A full ledger assumes
  // nothing more until entries expire or settle; kube-scheduler's own checks still guard every binding.
  // 20,000 is over 600 pods/s for the 30 s TTL, beyond what one kube-scheduler binds.
  static constexpr std::size_t kDefaultMaxAssumed = 20'000;

  explicit ClusterCache(const kube::Clock& clock, std::chrono::nanoseconds assumeTtl = kDefaultAssumeTtl,
                        std::size_t maxAssumed = kDefaultMaxAssumed);
  ~ClusterCache() override;
  ClusterCache(const ClusterCache&) = delete;
  ClusterCache& operator=(const ClusterCache&) = delete;

  // ClusterEvents
  void nodeUpserted(placement::NodeInfo node) override;
  void nodeDeleted(std::string_view name) override;
  void podUpserted(std::string_view key, std::string_view nodeName, bool terminal,
                   const placement::Resources& requests) override;
  void podDeleted(std::string_view key) override;
  void synced() override;

  bool isSynced() const;
  CacheStats stats() const;

  // A consistent read of many nodes: holds the shared lock until destroyed. Keep it short-lived.
  class Snapshot {
   public:
    // The cached node with `requested` raised by the live assumptions of pods other than `podKey`;
    // nullptr when the informer has not shown the node. The pointer is valid until the next call with
    // the same `scratch` or the end of the snapshot.
    const placement::NodeInfo* node(std::string_view name, std::string_view podKey, placement::NodeInfo& scratch) const;
    // Usage on a node by name (bound + live assumptions of other pods), for nodes sent in full by
    // kube-scheduler; zero for a node nothing is known about.
    placement::Resources usage(std::string_view name, std::string_view podKey) const;

   private:
    friend class ClusterCache;
    Snapshot(const ClusterCache& cache);
    const ClusterCache& cache_;
    std::shared_lock<std::shared_mutex> lock_;
    kube::Clock::TimePoint now_;
  };
  Snapshot snapshot() const { return Snapshot(*this); }

  // Assumes `pod` onto `nodeName` after re-checking placement::fit under the exclusive lock against the
  // usage at that moment. `requestNode` is the node as kube-scheduler sent it (objects mode), or nullptr
  // to use the cached node (names mode). Replaces any earlier assumption of the same pod.
  AssumeOutcome assume(const placement::PodInfo& pod, const placement::Resources& requests, std::string_view nodeName,
                       const placement::NodeInfo* requestNode = nullptr);

  // The node a pod is assumed on, if a live ledger entry exists (for tests and debugging).
  std::optional<std::string> assumedNode(std::string_view podKey) const;

  // Ledger identity of a pod: its uid, else namespace/name.
  static std::string podKey(const placement::PodInfo& pod);
  static std::string podKey(std::string_view uid, std::string_view ns, std::string_view name);

 private:
  struct NodeSlot;
  struct BoundPod {
    NodeSlot* node = nullptr;
    placement::Resources requests;
  };
  struct AssumedPod {
    std::string key;
    NodeSlot* node = nullptr;
    placement::Resources requests;
    kube::Clock::TimePoint expires;
  };
  struct NodeSlot {
    std::string name;
    std::optional<placement::NodeInfo> info;  // requested kept equal to `requested` below
    placement::Resources requested;           // bound, non-terminal pods
    int64_t boundPods = 0;
    std::vector<AssumedPod*> assumed;
  };

  struct StringHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
  };
  template <typename V>
  using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

  NodeSlot& slotLocked(std::string_view name);
  void releaseSlotIfUnusedLocked(NodeSlot& slot);
  void unbindLocked(std::string_view key);
  void forgetAssumedLocked(std::string_view key);
  void sweepLocked(kube::Clock::TimePoint now, bool force = false);
  // Adds the live assumptions on `slot` of pods other than podKey to `into`; returns whether any did.
  static bool addAssumed(const NodeSlot& slot, std::string_view podKey, kube::Clock::TimePoint now,
                         placement::Resources& into);

  const kube::Clock& clock_;
  const std::chrono::nanoseconds ttl_;
  const std::size_t maxAssumed_;
  mutable std::shared_mutex mu_;
  StringMap<std::unique_ptr<NodeSlot>> nodes_;
  StringMap<BoundPod> bound_;
  StringMap<std::unique_ptr<AssumedPod>> assumed_;
  std::size_t knownNodes_ = 0;
  bool synced_ = false;
  kube::Clock::TimePoint nextSweep_{};
};

}  // namespace spotfit::extender

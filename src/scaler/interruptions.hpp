#pragma once
// Spot interruption bookkeeping: which taints are notices, how often each pool and instance type was
// interrupted recently, and whether a pool is in its on-demand cool-off after too many interruptions.

#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "base/vocabulary.hpp"
#include "scaler/duration.hpp"
#include "scaler/provider.hpp"

namespace spotfit::scaler {

// The taint the kwok provider (and the simulator) put on a node to announce its interruption.
inline constexpr const char* kKwokInterruptionTaint = vocab::kTaintInterruptionNotice;

// Taint keys treated as interruption notices unless the config says otherwise. Not karpenter.sh/disrupted:
// Karpenter puts it on every node it disrupts (consolidation, drift, expiry) and drains those nodes itself;
// beside Karpenter the scaler (kept for the cost ledger) must not evict their pods a second time.
std::vector<std::string> defaultInterruptionTaints();

// The first taint whose key is a notice, or nullopt.
std::optional<NodeTaint> findInterruptionNotice(const std::vector<NodeTaint>& taints,
                                                const std::vector<std::string>& noticeKeys);

struct InterruptionPolicy {
  Duration window = std::chrono::minutes(30);   // interruptions counted over this window
  int threshold = 3;                            // this many in a pool within the window ...
  Duration coolOff = std::chrono::minutes(30);  // ... sends the pool's new capacity on-demand this long
  // An interrupted node is deleted this long after its notice even if pods are still on it (evictions
  // refused by PDBs): AWS gives 2 minutes' warning, GCP 30 s; deleting first beats losing the machine.
  Duration drainDeadline = std::chrono::minutes(2);
};

// One interruption as remembered across a failover (see scaler_state.hpp).
struct InterruptionRecord {
  std::string pool, instanceType, node;
  TimePoint at{};
};

class InterruptionTracker {
 public:
  explicit InterruptionTracker(InterruptionPolicy policy) : policy_(policy) {}

  // Records one interruption. Returns true when it starts (or extends) the pool's cool-off. A node already
  // counted within the window is not counted again (a new leader sees the same notice taint again).
  bool record(const std::string& pool, const std::string& instanceType, TimePoint now, const std::string& node = "");

  int count(const std::string& pool, TimePoint now) const;
  int count(const std::string& pool, const std::string& instanceType, TimePoint now) const;
  // Interruptions per hour over the window, for NodePool status.
  double ratePerHour(const std::string& pool, TimePoint now) const;
  bool inCoolOff(const std::string& pool, TimePoint now) const;
  std::optional<TimePoint> coolOffUntil(const std::string& pool, TimePoint now) const;

  const InterruptionPolicy& policy() const { return policy_; }

  // What to persist: the interruptions still inside the window and the cool-offs still running.
  std::vector<InterruptionRecord> history(TimePoint now) const;
  std::map<std::string, TimePoint> coolOffs(TimePoint now) const;
  // Puts persisted state back (a record outside the window at `now` or already known is dropped; a
  // cool-off keeps the later of the known and the restored end). Restoring never starts a cool-off.
  void restore(const InterruptionRecord& record, TimePoint now);
  void restoreCoolOff(const std::string& pool, TimePoint until);

 private:
  void prune(TimePoint now) const;
  InterruptionPolicy policy_;
  struct Event {
    TimePoint at;
    std::string instanceType, node;
  };
  mutable std::map<std::string, std::deque<Event>> events_;
  std::map<std::string, TimePoint> coolOffUntil_;
};

}  // namespace spotfit::scaler

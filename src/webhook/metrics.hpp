#pragma once
// Prometheus metrics of the admission path. Every series the hot path touches is created up front, so a
// request only increments pre-resolved counters (no label hashing or family lock per request).

#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <string>
#include <string_view>

namespace spotfit::webhook {

enum class ReviewResult { Patched, Unchanged, Skipped, Denied, Invalid, BadRequest, Error };
inline constexpr size_t kReviewResults = 7;
std::string_view reviewResultName(ReviewResult r);

class WebhookMetrics {
 public:
  explicit WebhookMetrics(prometheus::Registry& registry);

  void request(std::string_view kind, std::string_view operation, ReviewResult result, double seconds);
  void mutation(std::string_view change);
  void pdb(bool created);
  void pdbUpdate(bool ok);                 // the reconciler's patch of a PDB's minAvailable (result updated or failed)
  void budget(std::string_view decision);  // within, alert, spot-only, deny
  void internalError();
  // A required capacity term was written that no Ready node satisfies (the pod may stay Pending).
  void unsatisfiableRequiredTerm();
  // The spot cool-off (spot_cooloff.hpp): one interruption counted (and whether it started or extended a
  // cool-off); one Job or pod placed on on-demand because of it.
  void spotInterruption(bool startedCoolOff);
  void spotCoolOffPlacement();

 private:
  static constexpr std::array<std::string_view, 3> kKinds{"Pod", "Job", "other"};
  static constexpr std::array<std::string_view, 5> kOperations{"CREATE", "UPDATE", "DELETE", "CONNECT", "other"};
  static constexpr std::array<std::string_view, 12> kChanges{
      "tolerations", "capacity-affinity", "gpu-affinity",   "requests",           "prestop",        "grace-period",
      "workflow",    "annotations",       "scheduler-name", "pod-failure-policy", "do-not-disrupt", "other"};
  static constexpr std::array<std::string_view, 5> kBudget{"within", "alert", "spot-only", "deny", "other"};

  prometheus::Counter* requests_[3][5][kReviewResults] = {};
  prometheus::Histogram* latency_ = nullptr;
  std::array<prometheus::Counter*, kChanges.size()> mutations_{};
  prometheus::Counter* pdbCreated_ = nullptr;
  prometheus::Counter* pdbFailed_ = nullptr;
  prometheus::Counter* pdbUpdated_ = nullptr;
  std::array<prometheus::Counter*, kBudget.size()> budget_{};
  prometheus::Counter* internalErrors_ = nullptr;
  prometheus::Counter* unsatisfiable_ = nullptr;
  prometheus::Counter* spotInterruptions_ = nullptr;
  prometheus::Counter* spotCoolOffs_ = nullptr;
  prometheus::Counter* coolOffPlacements_ = nullptr;
};

}  // namespace spotfit::webhook

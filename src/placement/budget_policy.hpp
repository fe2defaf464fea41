#pragma once
// BudgetPolicy (budgetpolicies.spotfit.io, docs/budgets.md): "what this namespace / team / CronJob may
// spend per day, week or month", the one rule the webhook, the extender and the scaler apply. Pure (std and
// the std-only base module): the policy as data, the window arithmetic in the policy's time zone with the
// caller's clock, which Jobs and pods a policy covers, how a window's spend is read from the ledger's UTC
// days, and what a policy decides at each enforcement point. The per-workflow spotfit.io/budget annotation
// (placement/budget.hpp) is one case of it: fromWorkflowBudget() turns it into a policy with a lifetime
// window whose decisions equal decideBudget()'s.

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "base/time.hpp"
#include "base/tz.hpp"
#include "placement/budget.hpp"

namespace spotfit::placement {

// Ordered by strictness: when several policies cover one object the strictest action wins.
enum class PolicyAction { Alert, SpotOnly, Suspend, Deny };
std::string_view policyActionName(PolicyAction a);  // "alert" | "spot-only" | "suspend" | "deny"
std::optional<PolicyAction> parsePolicyAction(std::string_view s);

// Day, week (ISO: Monday 00:00 to the next Monday 00:00) and month windows are calendar windows in the
// policy's time zone. Lifetime is the annotation's case (no window: all the spend the ledger records).
enum class WindowKind { Day, Week, Month, Lifetime };
std::string_view windowKindName(WindowKind k);                  // "day" | "week" | "month" | "lifetime"
std::optional<WindowKind> parseWindowKind(std::string_view s);  // day | week | month (lifetime is not spelled)

struct WindowSpan {
  base::WallTime start{}, end{};  // [start, end)
  friend bool operator==(const WindowSpan&, const WindowSpan&) = default;
};

// The window that contains `now`: start <= now < end, and the window after it starts at end. Midnight in
// a DST gap starts the day at the transition; a midnight that shows twice starts it at the first showing.
WindowSpan windowAt(WindowKind kind, const base::TimeZone& tz, base::WallTime now);

// ---- Spend in a window -------------------------------------------------------------------------------
// The ledger keeps spend in UTC days (scaler/ledger.hpp LedgerDay, accrued up to now for the current
// day). A window's spend is the sum of the UTC days that overlap it: [day, day + 24h) ∩ [start, end) ≠ ∅.
// That is exact when the window's edges are UTC midnights (every window of a UTC policy) and otherwise an
// over-estimate by at most the part of the first and the last UTC day outside the window (e.g. a
// Europe/Berlin month also counts 22:00-24:00 UTC of the previous month's last day). Over, never under:
// a budget acts early rather than late. The days counted are these (UTC midnights, oldest first):
std::vector<base::WallTime> utcDaysOf(const WindowSpan& w);
bool windowIsExactInUtcDays(const WindowSpan& w);
double spendInWindow(const std::map<base::WallTime, double>& dailyUsd, const WindowSpan& w);

// ---- What a policy covers ----------------------------------------------------------------------------
struct LabelRequirement {
  enum class Op { In, NotIn, Exists, DoesNotExist };
  std::string key;
  Op op = Op::In;
  std::vector<std::string> values;
  friend bool operator==(const LabelRequirement&, const LabelRequirement&) = default;
};

struct PolicySelector {
  // Namespaces covered. A policy covers its own namespace only (this stays empty), except a team policy
  // (one in spotfit's own namespace, which only cluster admins write): it covers these, or every
  // namespace when empty.
  std::vector<std::string> namespaces;
  std::vector<LabelRequirement> labels;  // matchLabels and matchExpressions, ANDed, on the Job's/pod's labels
  std::string workflow;                  // one workflow (spotfit.io/workflow or the Job's name)
  std::string cronJob;                   // every run of one CronJob
  friend bool operator==(const PolicySelector&, const PolicySelector&) = default;
};

struct BudgetPolicy {
  std::string namespaceName;  // the policy object's namespace
  std::string name;
  PolicySelector selector;
  WindowKind window = WindowKind::Month;
  base::TimeZone timeZone = base::TimeZone::utc();
  double limitUsd = 0;
  std::vector<double> thresholds;  // fractions of the limit in (0, 1], ascending, distinct
  PolicyAction action = PolicyAction::Alert;
  bool teamWide = false;  // a team policy: the object lives in spotfit's own namespace (docs/budgets.md)
};

inline constexpr size_t kMaxPolicyNamespaces = 100;
inline constexpr size_t kMaxPolicyLabelRequirements = 16;
inline constexpr size_t kMaxPolicyLabelValues = 32;
inline constexpr size_t kMaxPolicyThresholds = 8;

// The checks a schema cannot express. An "invalid" Error whose message starts with the field path
// ("spec.thresholds[1]: ..."). `ledgerLabelKey` is the pod label the ledger sums spend by (scaler.ledgerLabel,
// empty when none): a label selector can only be charged when it names that key.
Status validatePolicy(const BudgetPolicy& p, std::string_view ledgerLabelKey);

// A Job or pod as the rule sees it.
struct BudgetSubject {
  std::string namespaceName;
  std::string workflow;  // spotfit.io/workflow, else the Job's name; may be empty for a bare pod
  std::string cronJob;   // the owning CronJob, empty when none
  std::map<std::string, std::string> labels;
};

bool labelsMatch(const std::vector<LabelRequirement>& reqs, const std::map<std::string, std::string>& labels);
bool policyCovers(const BudgetPolicy& p, const BudgetSubject& s);

// Where a policy's spend is read from in the ledger's daily windows (validatePolicy guarantees one applies):
//   Owner      workflow or cronJob set: the (namespace, owner) rows (a CronJob's runs roll up to it)
//   Label      a label selector on the ledger's label key: the per-label rows (cluster-wide, so only on
//              team policies without namespaces)
//   Namespaces otherwise: the per-namespace rows of the covered namespaces (all of them when empty)
struct SpendScope {
  enum class Kind { Namespaces, Owner, Label };
  Kind kind = Kind::Namespaces;
  std::vector<std::string> namespaces;   // Namespaces (empty: all); Owner: the one namespace
  std::string owner;                     // Owner
  std::vector<std::string> labelValues;  // Label
};
SpendScope spendScopeOf(const BudgetPolicy& p);

// ---- Decisions ---------------------------------------------------------------------------------------
// How many thresholds the spend has reached (spent >= fraction × limit).
size_t thresholdsReached(const BudgetPolicy& p, double spentUsd);

// What an over-budget action does at each enforcement point:
//   JobAdmission  deny: refuse the Job; suspend: create it with spec.suspend: true; spot-only: spot only
//   PodAdmission  deny: refuse the pod; suspend, spot-only: spot only (a Job admitted before the crossing
//                 keeps running, but on spot capacity)
//   Scheduling, ScaleUp: deny, suspend, spot-only: no on-demand capacity
//   alert never changes an object: Events only.
enum class EnforcementPoint { JobAdmission, PodAdmission, Scheduling, ScaleUp };
enum class Effect { None, Alert, SpotOnly, Suspend, Deny };
std::string_view effectName(Effect e);  // "within" (None) | "alert" | "spot-only" | "suspend" | "deny"

struct PolicyDecision {
  Effect effect = Effect::None;
  std::string policy;   // "<namespace>/<name>" or "<name>" of the policy that decided (strictest, then first)
  std::string message;  // "BudgetPolicy team-a/monthly: namespace team-a has spent $812.40 of its $800.00 month budget
                        // (window ends 2024-06-01T00:00:00Z)"
  double spentUsd = 0, limitUsd = 0;
};

// One policy at one point given its window's spend (nullopt: unknown, so within, as for the annotation).
PolicyDecision decidePolicy(const BudgetPolicy& p, std::optional<double> spentUsd, EnforcementPoint at,
                            base::WallTime now);

// Every policy that covers the subject; `spend` returns the spend of a policy's scope in its current window
// (nullopt: unknown). The strictest effect wins; None when nothing covers the subject or all are within.
template <typename SpendFn>
PolicyDecision decidePolicies(const std::vector<const BudgetPolicy*>& policies, const BudgetSubject& s, SpendFn&& spend,
                              EnforcementPoint at, base::WallTime now) {
  PolicyDecision best;
  for (const BudgetPolicy* p : policies) {
    if (!policyCovers(*p, s)) continue;
    PolicyDecision d = decidePolicy(*p, spend(*p), at, now);
    if (static_cast<int>(d.effect) > static_cast<int>(best.effect)) best = std::move(d);
  }
  return best;
}

// The annotation's rule as a policy: selector = the workflow, lifetime window, no thresholds. With the
// workflow's recordedSpend as its spend, decidePolicy(...).effect matches decideBudget(rule, spend).
BudgetPolicy fromWorkflowBudget(std::string_view ns, std::string_view workflow, const BudgetRule& rule);

// Threshold Events: the thresholds to announce now, given what was announced (count reached, in the
// window that started at `announcedWindow`) and the count reached now in `current`. A new window starts
// again from zero, so each crossing is announced once per window.
std::vector<size_t> thresholdsToAnnounce(size_t announced, base::WallTime announcedWindow, size_t reached,
                                         const WindowSpan& current);

// Suspended Jobs are resumed when the window that suspended them has ended or the policy no longer
// suspends (limit raised, action changed, policy deleted: the caller passes nullopt).
bool shouldResume(base::WallTime suspendedWindowEnd, std::optional<Effect> nowAtJobAdmission, base::WallTime now);

}  // namespace spotfit::placement

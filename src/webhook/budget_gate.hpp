#pragma once
// BudgetPolicies at admission (docs/budgets.md): the webhook asks the gate what the policies covering a Job
// or pod decide (placement::decidePolicies, the rule the extender and the scaler share) and applies it:
// deny refuses the Job (or a bare pod), suspend creates the Job with spec.suspend: true and says why in
// spotfit.io/budget-suspended, spot-only requires spot capacity, alert warns and records an Event.

#include <map>
#include <optional>
#include <string>

#include "base/vocabulary.hpp"
#include "kube/budget_policy.hpp"
#include "kube/clock.hpp"
#include "kube/informer.hpp"
#include "placement/budget_policy.hpp"
#include "scaler/ledger_spend.hpp"
#include "webhook/json.hpp"

namespace spotfit::webhook {

inline constexpr std::string_view kAnnBudgetSuspended = vocab::kAnnotationBudgetSuspended;

// The port: what the policies covering `subject` decide at `at` now.
class BudgetPolicyGate {
 public:
  virtual ~BudgetPolicyGate() = default;
  virtual placement::PolicyDecision decide(const placement::BudgetSubject& subject,
                                           placement::EnforcementPoint at) const = 0;
};

// The labels of an object's metadata (at most 256; Kubernetes objects have fewer).
std::map<std::string, std::string> metadataLabels(const json::Value& object);

// What the admitter does with a decision.
struct BudgetGateOutcome {
  std::optional<std::string> refuse;  // 403 with this message
  bool forceSpot = false;
  bool suspend = false;  // set the Job's spec.suspend and kAnnBudgetSuspended
  std::optional<std::string> warning;
  bool event = false;  // record a BudgetExceeded Event with `message`
  std::string policy, message;
};
// `podOfJob`: a pod whose Job was admitted already (deny and suspend were decided at the Job: refusing its
// pods would only make the Job controller retry; it runs on spot).
BudgetGateOutcome gateBudgetPolicies(const placement::PolicyDecision& d, bool isJob, bool podOfJob);

// Sets a Job's spec.suspend to true and kAnnBudgetSuspended to the policy; false (nothing changed) when the
// Job was created suspended already (its owner suspended it, so spotfit must not resume it).
bool suspendForBudget(json::Value& job, const std::string& policy, json::Allocator& a);

// The production gate: the policies from an informer (decoded in the webhook's context), spend from the
// scaler's ledger snapshot. Before the informer has synced or the ledger was read, nothing is decided.
class InformerBudgetGate final : public BudgetPolicyGate {
 public:
  InformerBudgetGate(const kube::Informer<kube::BudgetPolicyObject>& informer, const scaler::LedgerSpend& spend,
                     kube::BudgetPolicyContext ctx, const kube::Clock& clock)
      : informer_(informer), spend_(spend), ctx_(std::move(ctx)), clock_(clock) {}
  placement::PolicyDecision decide(const placement::BudgetSubject& subject,
                                   placement::EnforcementPoint at) const override;

 private:
  const kube::Informer<kube::BudgetPolicyObject>& informer_;
  const scaler::LedgerSpend& spend_;
  kube::BudgetPolicyContext ctx_;
  const kube::Clock& clock_;
};

}  // namespace spotfit::webhook

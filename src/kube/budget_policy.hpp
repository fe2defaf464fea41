#pragma once
// BudgetPolicy objects (budgetpolicies.spotfit.io, docs/budgets.md) as the API server returns them: the
// decoder every role's informer uses, and the bounded set of policies a role keeps. A policy whose spec the
// schema let through but placement::validatePolicy (or the time zone reader) refuses decodes with
// `invalid` set to the message naming the field ("spec.thresholds[1]: ..."): the controller writes it as
// the Valid=False condition, and the set never enforces it, while every valid policy stays enforced.

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "base/tz.hpp"
#include "kube/client.hpp"
#include "kube/json.hpp"
#include "kube/objects.hpp"
#include "placement/budget_policy.hpp"

namespace spotfit::kube {

// What the object's status says spotfit last wrote (read leniently: a malformed status is as none), so a
// new leader announces each threshold once per window and keeps the Valid condition's transition time.
struct BudgetPolicyStatusSeen {
  std::optional<base::WallTime> windowStart;
  int64_t thresholdsReached = 0;
  std::optional<bool> valid;
  std::optional<base::WallTime> validSince;  // the Valid condition's lastTransitionTime
};

struct BudgetPolicyObject {
  ObjectMeta meta;
  BudgetPolicyStatusSeen status;
  placement::BudgetPolicy policy;  // meaningful when valid()
  std::string specError;           // what decoding the spec refused (context-free), empty when none
  std::string invalid;             // specError, else what validatePolicy refuses in the context; empty: valid
  bool valid() const { return invalid.empty(); }
};

// Where the decoder looks things up: spotfit's namespace (policies there are team policies), the ledger's
// label key (the only label a policy can be charged by) and the zoneinfo directory.
struct BudgetPolicyContext {
  std::string spotfitNamespace = "spotfit-system";
  std::string ledgerLabelKey;
  std::string zoneinfoDir = base::kZoneinfoDir;
};

// An error only when `v` is not a namespaced object with a name (nothing to report a condition on); any
// problem of its spec decodes with `invalid` set.
Result<BudgetPolicyObject> decodeBudgetPolicy(const json::Value& v, const BudgetPolicyContext& ctx);

Result<BudgetPolicyObject> decodeBudgetPolicy(const json::Value& v, const BudgetPolicyContext& ctx,
                                              base::TimeZoneCache& zones);

// budgetpolicies.spotfit.io/v1alpha1, namespaced.
extern const ResourceType kBudgetPolicies;
// kube::Decoder for Informer<BudgetPolicyObject>: decodes with the default zoneinfo directory (through one
// process-wide TimeZoneCache) and the default context; the role then calls applyBudgetPolicyContext with
// its own spotfit namespace and ledger label before enforcing.
Result<BudgetPolicyObject> decodeBudgetPolicyObject(const json::Value& v);
// Sets policy.teamWide and `invalid` for `ctx` (idempotent).
void applyBudgetPolicyContext(BudgetPolicyObject& o, const BudgetPolicyContext& ctx);

// The policies one role enforces, keyed by namespace/name. Bounded: at most maxPolicies objects are kept;
// one more is refused (counted in refused()), so a flood of policies cannot grow a role's memory.
class BudgetPolicySet {
 public:
  explicit BudgetPolicySet(size_t maxPolicies = 2000) : max_(maxPolicies) {}
  // Adds or replaces. False when the set is full and the key is new.
  bool upsert(BudgetPolicyObject obj);
  void remove(const std::string& key);
  const BudgetPolicyObject* find(const std::string& key) const;
  // The valid policies, for placement::decidePolicies (pointers stay valid until the next change).
  std::vector<const placement::BudgetPolicy*> enforced() const;
  std::vector<const BudgetPolicyObject*> all() const;
  size_t size() const { return objects_.size(); }
  size_t refused() const { return refused_; }

 private:
  size_t max_;
  size_t refused_ = 0;
  std::map<std::string, BudgetPolicyObject> objects_;
};

}  // namespace spotfit::kube

#include "webhook/budget_gate.hpp"

#include <vector>

#include "webhook/pod_template.hpp"

namespace spotfit::webhook {

std::map<std::string, std::string> metadataLabels(const json::Value& object) {
  std::map<std::string, std::string> out;
  if (!object.IsObject()) return out;
  auto md = object.FindMember("metadata");
  if (md == object.MemberEnd() || !md->value.IsObject()) return out;
  auto labels = md->value.FindMember("labels");
  if (labels == md->value.MemberEnd() || !labels->value.IsObject()) return out;
  for (auto it = labels->value.MemberBegin(); it != labels->value.MemberEnd() && out.size() < 256; ++it) {
    if (it->value.IsString()) {
      out.emplace(std::string(it->name.GetString(), it->name.GetStringLength()),
                  std::string(it->value.GetString(), it->value.GetStringLength()));
    }
  }
  return out;
}

BudgetGateOutcome gateBudgetPolicies(const placement::PolicyDecision& d, bool isJob, bool podOfJob) {
  BudgetGateOutcome o;
  o.policy = d.policy;
  o.message = d.message;
  switch (d.effect) {
    case placement::Effect::None:
      break;
    case placement::Effect::Deny:
      if (podOfJob) {
        o.forceSpot = true;
        o.warning = "spotfit: " + d.message + "; deny applies when a Job is created";
      } else {
        o.refuse = "spotfit: " + d.message + " (action deny)";
      }
      break;
    case placement::Effect::Suspend:
      if (isJob) {
        o.suspend = true;
        o.warning = "spotfit: " + d.message + "; the Job is created suspended until the budget allows it";
        o.event = true;
      } else {
        o.forceSpot = true;
        o.warning = "spotfit: " + d.message + "; spot capacity required";
      }
      break;
    case placement::Effect::SpotOnly:
      o.forceSpot = true;
      o.warning = "spotfit: " + d.message + "; spot capacity required";
      break;
    case placement::Effect::Alert:
      o.warning = "spotfit: " + d.message;
      o.event = true;
      break;
  }
  return o;
}

bool suspendForBudget(json::Value& job, const std::string& policy, json::Allocator& a) {
  auto spec = job.FindMember("spec");
  if (spec == job.MemberEnd() || !spec->value.IsObject()) return false;
  auto suspend = spec->value.FindMember("suspend");
  if (suspend != spec->value.MemberEnd()) {
    if (suspend->value.IsBool() && suspend->value.GetBool()) return false;
    suspend->value.SetBool(true);
  } else {
    spec->value.AddMember("suspend", true, a);
  }
  ObjectMeta meta(job, a);
  meta.setAnnotation(kAnnBudgetSuspended, policy);
  return true;
}

placement::PolicyDecision InformerBudgetGate::decide(const placement::BudgetSubject& subject,
                                                     placement::EnforcementPoint at) const {
  if (!informer_.hasSynced() || !spend_.loaded()) return {};
  std::vector<kube::BudgetPolicyObject> covering;
  for (const auto& p : informer_.store().list()) {
    kube::BudgetPolicyObject o = *p;
    kube::applyBudgetPolicyContext(o, ctx_);
    if (o.valid() && placement::policyCovers(o.policy, subject)) covering.push_back(std::move(o));
  }
  std::vector<const placement::BudgetPolicy*> ptrs;
  for (const auto& o : covering) ptrs.push_back(&o.policy);
  return placement::decidePolicies(
      ptrs, subject, [this](const placement::BudgetPolicy& p) { return spend_.policySpendUsd(p); }, at,
      clock_.wallNow());
}

}  // namespace spotfit::webhook

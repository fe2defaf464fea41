// BudgetPolicies at admission (webhook/budget_gate.hpp): deny refuses a Job with the policy's message,
// suspend creates it with spec.suspend: true and the annotation naming the policy, spot-only requires spot,
// pods of an admitted Job are never refused, a Job its owner suspended is left to its owner.
#include "webhook/budget_gate.hpp"

#include <gtest/gtest.h>

#include <map>
#include <vector>

#include "webhook/admitter.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::parseJson;
using testing::patchedBy;

// The real rule over in-memory policies and a fixed window spend per policy name.
class FakeGate final : public BudgetPolicyGate {
 public:
  std::vector<placement::BudgetPolicy> policies;
  std::map<std::string, double> spend;
  placement::PolicyDecision decide(const placement::BudgetSubject& s, placement::EnforcementPoint at) const override {
    std::vector<const placement::BudgetPolicy*> ptrs;
    for (const auto& p : policies) ptrs.push_back(&p);
    return placement::decidePolicies(
        ptrs, s,
        [this](const placement::BudgetPolicy& p) -> std::optional<double> {
          auto it = spend.find(p.name);
          return it == spend.end() ? std::nullopt : std::optional<double>(it->second);
        },
        at, base::parseTime("2024-06-10T00:00:00Z").valueOr(base::WallTime{}));
  }
};

placement::BudgetPolicy nsPolicy(const std::string& name, placement::PolicyAction action, double limit) {
  placement::BudgetPolicy p;
  p.namespaceName = "ml";
  p.name = name;
  p.window = placement::WindowKind::Month;
  p.limitUsd = limit;
  p.action = action;
  return p;
}

std::string review(const std::string& object, const std::string& kind) {
  std::string gvk = kind == "Job" ? R"({"group":"batch","version":"v1","kind":"Job"})"
                                  : R"({"group":"","version":"v1","kind":")" + kind + R"("})";
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":)" + gvk +
         R"(,"operation":"CREATE","namespace":"ml","object":)" + object + "}}";
}

const char* kJob = R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"etl","namespace":"ml",
  "labels":{"team":"data"}},"spec":{"template":{"spec":{"containers":[{"name":"c","image":"busybox"}]}}}})";
const char* kSuspendedJob = R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"etl","namespace":"ml"},
  "spec":{"suspend":true,"template":{"spec":{"containers":[{"name":"c","image":"busybox"}]}}}})";
const char* kJobPod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"etl-","namespace":"ml",
  "labels":{"batch.kubernetes.io/job-name":"etl"},
  "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"etl","uid":"j1","controller":true}]},
  "spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox"}]}})";

struct GateFixture : ::testing::Test {
  WebhookConfig config;
  FakeGate gate;
  RecordingEvents events;
  Admission run(const std::string& object, const std::string& kind) {
    AdmitterPorts p;
    p.budgetPolicies = &gate;
    p.events = &events;
    return Admitter(config, p).review(review(object, kind));
  }
};

TEST_F(GateFixture, DenyRefusesTheJobWithThePolicysMessage) {
  gate.policies = {nsPolicy("monthly", placement::PolicyAction::Deny, 800)};
  gate.spend["monthly"] = 812.4;
  Admission a = run(kJob, "Job");
  EXPECT_EQ(a.result, ReviewResult::Denied);
  auto d = parseJson(a.body);
  EXPECT_EQ(d["response"]["status"]["code"].GetInt(), 403);
  EXPECT_STREQ(d["response"]["status"]["message"].GetString(),
               "spotfit: BudgetPolicy ml/monthly: namespace ml has spent $812.40 of its $800.00 month budget (window "
               "ends 2024-07-01T00:00:00Z) (action deny)");
  // Within the limit: admitted.
  gate.spend["monthly"] = 799;
  EXPECT_NE(run(kJob, "Job").result, ReviewResult::Denied);
  // No spend known yet: admitted.
  gate.spend.clear();
  EXPECT_NE(run(kJob, "Job").result, ReviewResult::Denied);
}

TEST_F(GateFixture, APodOfAnAdmittedJobIsNotRefusedButGoesToSpot) {
  gate.policies = {nsPolicy("monthly", placement::PolicyAction::Deny, 800)};
  gate.spend["monthly"] = 900;
  Admission a = run(kJobPod, "Pod");
  EXPECT_TRUE(a.response.allowed);
  auto pod = patchedBy(kJobPod, a.body);
  const auto& exprs = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                         ["nodeSelectorTerms"][0]["matchExpressions"];
  EXPECT_STREQ(exprs[0]["values"][0].GetString(), "spot");
  ASSERT_FALSE(a.response.warnings.empty());
  EXPECT_NE(a.response.warnings.back().find("deny applies when a Job is created"), std::string::npos);
}

TEST_F(GateFixture, SuspendCreatesTheJobSuspendedAndSaysWhy) {
  gate.policies = {nsPolicy("monthly", placement::PolicyAction::Suspend, 800)};
  gate.spend["monthly"] = 800;
  Admission a = run(kJob, "Job");
  EXPECT_TRUE(a.response.allowed);
  auto job = patchedBy(kJob, a.body);
  ASSERT_TRUE(job["spec"].HasMember("suspend"));
  EXPECT_TRUE(job["spec"]["suspend"].GetBool());
  EXPECT_STREQ(job["metadata"]["annotations"]["spotfit.io/budget-suspended"].GetString(), "ml/monthly");
  ASSERT_EQ(events.events().size(), 1u);
  EXPECT_EQ(events.events()[0].reason, "BudgetExceeded");
  EXPECT_EQ(events.events()[0].involvedName, "etl");
  // A Job its owner created suspended keeps no annotation: spotfit must never resume it.
  Admission own = run(kSuspendedJob, "Job");
  auto ownJob = patchedBy(kSuspendedJob, own.body);
  EXPECT_TRUE(ownJob["spec"]["suspend"].GetBool());
  EXPECT_FALSE(ownJob["metadata"].HasMember("annotations") &&
               ownJob["metadata"]["annotations"].HasMember("spotfit.io/budget-suspended"));
  // Under the limit: not suspended.
  gate.spend["monthly"] = 10;
  auto fine = patchedBy(kJob, run(kJob, "Job").body);
  EXPECT_FALSE(fine["spec"].HasMember("suspend"));
}

TEST_F(GateFixture, SelectorsAndTheStrictestPolicy) {
  auto cron = nsPolicy("other-cron", placement::PolicyAction::Deny, 1);
  cron.selector.cronJob = "nightly";  // does not cover etl
  auto team = nsPolicy("data-team", placement::PolicyAction::SpotOnly, 100);
  team.selector.labels = {{"team", placement::LabelRequirement::Op::In, {"data"}}};
  gate.policies = {cron, team};
  gate.spend = {{"other-cron", 50}, {"data-team", 150}};
  Admission a = run(kJob, "Job");
  EXPECT_TRUE(a.response.allowed);
  auto job = patchedBy(kJob, a.body);
  const auto& terms = job["spec"]["template"]["spec"]["affinity"]["nodeAffinity"]
                         ["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
  EXPECT_STREQ(terms[0]["matchExpressions"][0]["values"][0].GetString(), "spot");
}

TEST(BudgetGate, OutcomeTable) {
  placement::PolicyDecision d;
  d.policy = "ml/p";
  d.message = "m";
  d.effect = placement::Effect::Alert;
  auto o = gateBudgetPolicies(d, true, false);
  EXPECT_TRUE(o.event);
  EXPECT_FALSE(o.refuse || o.forceSpot || o.suspend);
  d.effect = placement::Effect::Suspend;
  o = gateBudgetPolicies(d, false, true);  // a pod: suspension is the Job's
  EXPECT_TRUE(o.forceSpot);
  EXPECT_FALSE(o.suspend);
  d.effect = placement::Effect::Deny;
  o = gateBudgetPolicies(d, false, false);  // a bare pod
  ASSERT_TRUE(o.refuse);
  EXPECT_EQ(*o.refuse, "spotfit: m (action deny)");
  d.effect = placement::Effect::None;
  o = gateBudgetPolicies(d, true, false);
  EXPECT_FALSE(o.refuse || o.forceSpot || o.suspend || o.event || o.warning);
}

}  // namespace
}  // namespace spotfit::webhook

// BudgetPolicy objects (kube/budget_policy.hpp): decoding as the API server returns them, Valid=False
// messages naming the field for what the schema lets through, and the bounded policy set in which an
// invalid policy never stops the valid ones.
#include "kube/budget_policy.hpp"

#include <gtest/gtest.h>

#include <string>

namespace spotfit::kube {
namespace {

using placement::Effect;
using placement::EnforcementPoint;

json::Document doc(const std::string& text) {
  auto d = json::parse(text, json::kApiServerLimits);
  EXPECT_TRUE(d.ok()) << text;
  return d.ok() ? std::move(*d) : json::Document();
}

std::string object(const std::string& ns, const std::string& name, const std::string& spec) {
  return R"({"apiVersion":"spotfit.io/v1alpha1","kind":"BudgetPolicy","metadata":{"name":")" + name +
         R"(","namespace":")" + ns + R"(","uid":"u-)" + name + R"(","generation":3},"spec":)" + spec + "}";
}

BudgetPolicyObject decoded(const std::string& text, const BudgetPolicyContext& ctx = {}) {
  auto d = doc(text);
  auto o = decodeBudgetPolicy(d, ctx);
  EXPECT_TRUE(o.ok()) << (o.ok() ? "" : o.error().message);
  return o.ok() ? std::move(*o) : BudgetPolicyObject{};
}

TEST(BudgetPolicyDecode, ReadsEveryField) {
  auto o = decoded(object("team-a", "monthly", R"({"window":"month","timeZone":"Asia/Kolkata","limitUSD":800,
      "thresholds":[0.5,0.8],"action":"suspend","selector":{"matchLabels":{"tier":"batch"},
      "matchExpressions":[{"key":"env","operator":"NotIn","values":["prod"]}],"cronJob":"nightly"}})"));
  ASSERT_TRUE(o.valid()) << o.invalid;
  EXPECT_EQ(o.meta.key(), "team-a/monthly");
  EXPECT_EQ(o.meta.generation, 3);
  const auto& p = o.policy;
  EXPECT_EQ(p.namespaceName, "team-a");
  EXPECT_EQ(p.name, "monthly");
  EXPECT_FALSE(p.teamWide);
  EXPECT_EQ(p.window, placement::WindowKind::Month);
  EXPECT_EQ(p.timeZone.name(), "Asia/Kolkata");
  EXPECT_DOUBLE_EQ(p.limitUsd, 800);
  EXPECT_EQ(p.thresholds, (std::vector<double>{0.5, 0.8}));
  EXPECT_EQ(p.action, placement::PolicyAction::Suspend);
  EXPECT_EQ(p.selector.cronJob, "nightly");
  ASSERT_EQ(p.selector.labels.size(), 2u);
  EXPECT_EQ(p.selector.labels[0],
            (placement::LabelRequirement{"tier", placement::LabelRequirement::Op::In, {"batch"}}));
  EXPECT_EQ(p.selector.labels[1].op, placement::LabelRequirement::Op::NotIn);

  // Defaults: UTC, alert; a policy in spotfit's namespace is a team policy.
  auto team = decoded(object("spotfit-system", "ml", R"({"window":"week","limitUSD":0,
      "selector":{"matchLabels":{"team":"ml"}}})"),
                      BudgetPolicyContext{"spotfit-system", "team", "/usr/share/zoneinfo"});
  ASSERT_TRUE(team.valid()) << team.invalid;
  EXPECT_TRUE(team.policy.teamWide);
  EXPECT_EQ(team.policy.timeZone.name(), "UTC");
  EXPECT_EQ(team.policy.action, placement::PolicyAction::Alert);
}

TEST(BudgetPolicyDecode, WhatTheSchemaLetsThroughGetsAMessageNamingTheField) {
  const BudgetPolicyContext ctx{"spotfit-system", "team", "/usr/share/zoneinfo"};
  struct Row {
    std::string ns, spec, field;
  };
  const Row rows[] = {
      {"a", R"({"window":"month","limitUSD":10,"thresholds":[0.8,0.5]})", "spec.thresholds[1]: "},
      {"a", R"({"window":"month","limitUSD":10,"timeZone":"Mars/Olympus_Mons"})", "spec.timeZone: "},
      {"a", R"({"window":"month","limitUSD":10,"timeZone":"+99:00"})", "spec.timeZone: "},
      {"a", R"({"window":"month","limitUSD":10,"selector":{"namespaces":["b"]}})", "spec.selector.namespaces: "},
      {"a", R"({"window":"month","limitUSD":10,"selector":{"matchLabels":{"team":"ml"}}})", "spec.selector.labels: "},
      {"spotfit-system", R"({"window":"month","limitUSD":10,"selector":{"matchLabels":{"owner":"x"}}})",
       "spec.selector.labels: "},
      {"a", R"({"window":"month","limitUSD":10,"selector":{"workflow":"a","cronJob":"b"}})", "spec.selector: "},
      {"a", R"({"window":"month","limitUSD":10,"selector":{"workflow":"Not_A_Name"}})", "spec.selector.workflow: "},
      // What the schema would refuse, in case the CRD is old or absent: still refused, still named.
      {"a", R"({"window":"year","limitUSD":10})", "spec.window: "},
      {"a", R"({"window":"month"})", "spec.limitUSD: "},
      {"a", R"({"window":"month","limitUSD":"10"})", "spec.limitUSD: "},
      {"a", R"({"window":"month","limitUSD":-1})", "spec.limitUSD: "},
      {"a", R"({"window":"month","limitUSD":10,"action":"shout"})", "spec.action: "},
      {"a", R"({"window":"month","limitUSD":10,"thresholds":["x"]})", "spec.thresholds[0]: "},
      {"a", R"({"window":"month","limitUSD":10,"thresholds":[0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9]})",
       "spec.thresholds: "},
      {"a", R"({"window":"month","limitUSD":10,"selector":{"matchExpressions":[{"key":"k","operator":"Near"}]}})",
       "spec.selector.matchExpressions[0].operator: "},
      {"a", R"({"window":"month","limitUSD":10,"selector":{"matchExpressions":[{"key":"k","operator":"In"}]}})",
       "spec.selector.labels[0].values: "},
      {"a", R"({"window":"month","limitUSD":10,"selector":"all"})", "spec.selector: "},
      {"a", R"("month")", "spec: "},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(r.spec);
    auto o = decoded(object(r.ns, "p", r.spec), ctx);
    EXPECT_FALSE(o.valid());
    EXPECT_EQ(o.invalid.rfind(r.field, 0), 0u) << o.invalid;
    EXPECT_LT(o.invalid.size(), 400u);
  }
}

TEST(BudgetPolicyDecode, ObjectsWithoutNameOrNamespaceAreErrors) {
  for (const char* text : {R"([1])", R"({"spec":{}})", R"({"metadata":{"name":"x"},"spec":{}})",
                           R"({"metadata":{"namespace":"x"},"spec":{}})", R"({"metadata":"x"})"}) {
    auto d = doc(text);
    EXPECT_FALSE(decodeBudgetPolicy(d, {}).ok()) << text;
  }
}

TEST(BudgetPolicyDecode, HostileSizesAreBounded) {
  std::string many = "[";
  for (int i = 0; i < 5000; ++i) many += std::string(i ? "," : "") + R"({"key":"k","operator":"Exists"})";
  many += "]";
  auto o = decoded(object("a", "p", R"({"window":"day","limitUSD":1,"selector":{"matchExpressions":)" + many + "}}"));
  EXPECT_EQ(o.invalid, "spec.selector.matchExpressions: at most 16 expressions");
  std::string ns = "[";
  for (int i = 0; i < 1000; ++i) ns += std::string(i ? "," : "") + "\"n" + std::to_string(i) + "\"";
  ns += "]";
  o = decoded(object("spotfit-system", "p", R"({"window":"day","limitUSD":1,"selector":{"namespaces":)" + ns + "}}"));
  EXPECT_EQ(o.invalid, "spec.selector.namespaces: at most 100 items");

  base::TimeZoneCache zones;
  for (int h = -12; h <= 12; ++h) {
    for (int m : {0, 15, 30, 45}) {
      char name[16];
      std::snprintf(name, sizeof name, "%c%02d:%02d", h < 0 ? '-' : '+', h < 0 ? -h : h, m);
      EXPECT_TRUE(zones.get(name).ok()) << name;
    }
  }
  EXPECT_EQ(zones.size(), base::TimeZoneCache::kMaxZones);
  EXPECT_FALSE(zones.get("Nowhere/Land").ok());
  EXPECT_EQ(zones.size(), base::TimeZoneCache::kMaxZones);
}

TEST(BudgetPolicySet, AnInvalidPolicyNeverStopsTheValidOnes) {
  BudgetPolicySet set(3);
  EXPECT_TRUE(set.upsert(decoded(object("team-a", "deny", R"({"window":"month","limitUSD":100,"action":"deny"})"))));
  EXPECT_TRUE(set.upsert(decoded(
      object("team-a", "broken", R"({"window":"month","limitUSD":1,"action":"deny","thresholds":[0.9,0.1]})"))));
  EXPECT_TRUE(set.upsert(decoded(object("team-a", "alert", R"({"window":"day","limitUSD":1,"action":"alert"})"))));
  ASSERT_EQ(set.size(), 3u);
  const auto enforced = set.enforced();
  ASSERT_EQ(enforced.size(), 2u);
  ASSERT_NE(set.find("team-a/broken"), nullptr);
  EXPECT_FALSE(set.find("team-a/broken")->valid());

  const auto now = base::parseTime("2024-06-10T00:00:00Z").valueOr(base::WallTime{});
  placement::BudgetSubject s{"team-a", "etl", "", {}};
  auto spend = [](const placement::BudgetPolicy&) { return std::optional<double>(150); };
  const auto d = placement::decidePolicies(enforced, s, spend, EnforcementPoint::JobAdmission, now);
  EXPECT_EQ(d.effect, Effect::Deny);
  EXPECT_EQ(d.policy, "team-a/deny");

  // Full: a fourth policy is refused and counted; replacing one is still accepted.
  EXPECT_FALSE(set.upsert(decoded(object("team-b", "x", R"({"window":"day","limitUSD":1})"))));
  EXPECT_EQ(set.refused(), 1u);
  EXPECT_TRUE(set.upsert(decoded(object("team-a", "broken", R"({"window":"month","limitUSD":1,"action":"deny"})"))));
  EXPECT_EQ(set.enforced().size(), 3u);
  set.remove("team-a/deny");
  EXPECT_EQ(set.size(), 2u);
  EXPECT_TRUE(set.upsert(decoded(object("team-b", "x", R"({"window":"day","limitUSD":1})"))));
}

}  // namespace
}  // namespace spotfit::kube

namespace spotfit::kube {
namespace {

TEST(BudgetPolicyDecode, TheInformersDecoderThenTheRolesContext) {
  auto d = json::parse(R"({"metadata":{"name":"ml","namespace":"ops"},
      "spec":{"window":"day","limitUSD":5,"selector":{"matchLabels":{"team":"ml"}}}})");
  ASSERT_TRUE(d.ok());
  auto o = decodeBudgetPolicyObject(*d);
  ASSERT_TRUE(o.ok());
  EXPECT_FALSE(o->valid()) << "in the default context: not spotfit's namespace, no ledger label";
  EXPECT_TRUE(o->specError.empty());
  applyBudgetPolicyContext(*o, BudgetPolicyContext{"ops", "team", base::kZoneinfoDir});
  EXPECT_TRUE(o->valid()) << o->invalid;
  EXPECT_TRUE(o->policy.teamWide);
  applyBudgetPolicyContext(*o, BudgetPolicyContext{"ops", "owner", base::kZoneinfoDir});
  EXPECT_EQ(o->invalid.rfind("spec.selector.labels: ", 0), 0u) << o->invalid;
  EXPECT_EQ(kBudgetPolicies.collectionPath("ops"), "/apis/spotfit.io/v1alpha1/namespaces/ops/budgetpolicies");
}

}  // namespace
}  // namespace spotfit::kube

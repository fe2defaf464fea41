#include "webhook/vpa.hpp"

#include <gtest/gtest.h>

#include "webhook/memory_ports.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::parseJson;

TEST(DecodeVpa, ReadsTargetPolicyAndRecommendation) {
  auto d = parseJson(R"({
    "apiVersion":"autoscaling.k8s.io/v1","kind":"VerticalPodAutoscaler",
    "metadata":{"name":"v","namespace":"ml"},
    "spec":{"targetRef":{"apiVersion":"batch/v1","kind":"CronJob","name":"nightly"},
            "updatePolicy":{"updateMode":"Off"},
            "resourcePolicy":{"containerPolicies":[
              {"containerName":"*","minAllowed":{"cpu":"100m"},"maxAllowed":{"memory":"8Gi"}},
              {"containerName":"side","mode":"Off","controlledResources":["cpu"],"controlledValues":"RequestsOnly"}]}},
    "status":{"recommendation":{"containerRecommendations":[
      {"containerName":"main","target":{"cpu":"1","memory":"1Gi"},"lowerBound":{"cpu":"500m"}}]}}})");
  auto v = decodeVpa(d);
  ASSERT_TRUE(v) << v.error().message;
  EXPECT_EQ(v->namespace_, "ml");
  EXPECT_EQ(v->targetKind, "CronJob");
  EXPECT_EQ(v->targetName, "nightly");
  EXPECT_TRUE(v->updateOff);
  ASSERT_EQ(v->policies.size(), 2u);
  EXPECT_EQ(v->policies[0].minAllowed.at("cpu"), "100m");
  EXPECT_TRUE(v->policies[1].off);
  EXPECT_FALSE(v->policies[1].requestsAndLimits);
  EXPECT_EQ(v->targets.at("main").at("memory"), "1Gi");
  EXPECT_EQ(v->policyFor("side"), &v->policies[1]);
  EXPECT_EQ(v->policyFor("other"), &v->policies[0]);
}

TEST(DecodeVpa, ErrorsNameTheField) {
  const std::pair<const char*, const char*> cases[] = {
      {R"({"spec":{}})", "spec.targetRef"},
      {R"({"spec":{"targetRef":{"kind":"Job","name":"j"},"resourcePolicy":{"containerPolicies":[{"mode":"Sometimes"}]}}})",
       "containerPolicies[0].mode"},
      {R"({"spec":{"targetRef":{"kind":"Job","name":"j"},"resourcePolicy":{"containerPolicies":[{"minAllowed":{"cpu":"lots"}}]}}})",
       "minAllowed.cpu: 'lots' is not a quantity"},
      {R"({"spec":{"targetRef":{"kind":"Job","name":"j"},"resourcePolicy":{"containerPolicies":[{"controlledValues":"All"}]}}})",
       "controlledValues"},
      {R"({"spec":{"targetRef":{"kind":"Job","name":"j"}},"status":{"recommendation":{"containerRecommendations":[{"target":{}}]}}})",
       "containerName"},
      {R"([])", "must be a JSON object"},
  };
  for (const auto& [json, message] : cases) {
    auto v = decodeVpa(parseJson(json));
    ASSERT_FALSE(v) << json;
    EXPECT_NE(v.error().message.find(message), std::string::npos) << v.error().message;
  }
}

Vpa vpa(std::map<std::string, std::string> target) {
  Vpa v;
  v.name = "v";
  v.targets["main"] = std::move(target);
  return v;
}

json::Document pod(const std::string& resources) {
  return parseJson(R"({"spec":{"containers":[{"name":"main","resources":)" + resources + "}]}}");
}

std::string request(json::Document& d, const char* r) {
  return d["spec"]["containers"][0]["resources"]["requests"][r].GetString();
}
std::string limit(json::Document& d, const char* r) {
  return d["spec"]["containers"][0]["resources"]["limits"][r].GetString();
}

TEST(ApplyVpa, ClampsToMinAndMax) {
  Vpa v = vpa({{"cpu", "50m"}, {"memory", "20Gi"}});
  v.policies.push_back({"*", false, {{"cpu", "100m"}}, {{"memory", "4Gi"}}, std::nullopt, true});
  auto d = pod(R"({"requests":{"cpu":"1","memory":"1Gi"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  auto r = applyVpa(v, spec);
  ASSERT_TRUE(r);
  EXPECT_EQ(request(d, "cpu"), "100m");
  EXPECT_EQ(request(d, "memory"), "4Gi");
  EXPECT_EQ(r->changed.size(), 2u);
}

TEST(ApplyVpa, ScalesLimitsProportionallyWithRequestsAndLimits) {
  auto d = pod(R"({"requests":{"cpu":"500m","memory":"1Gi"},"limits":{"cpu":"1","memory":"3Gi"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  ASSERT_TRUE(applyVpa(vpa({{"cpu", "250m"}, {"memory", "2Gi"}}), spec));
  EXPECT_EQ(request(d, "cpu"), "250m");
  EXPECT_EQ(limit(d, "cpu"), "500m");
  EXPECT_EQ(request(d, "memory"), "2Gi");
  EXPECT_EQ(limit(d, "memory"), "6Gi");
}

TEST(ApplyVpa, MissingRequestDefaultsToTheLimit) {
  auto d = pod(R"({"limits":{"cpu":"2"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  ASSERT_TRUE(applyVpa(vpa({{"cpu", "1"}}), spec));
  EXPECT_EQ(request(d, "cpu"), "1");
  EXPECT_EQ(limit(d, "cpu"), "1");
}

// VPA's admission controller counts a request of 0 as none: the limit becomes the target. Scaling the
// limit by target/0 (or leaving it) gave requests.cpu 576m with limits.cpu 250m, which the apiserver rejects.
TEST(ApplyVpa, ZeroRequestCountsAsNoneAndTheLimitFollowsTheTarget) {
  auto d = pod(R"({"requests":{"cpu":"0","memory":"0"},"limits":{"cpu":"250m","memory":"256Mi"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  auto r = applyVpa(vpa({{"cpu", "576m"}, {"memory", "300Mi"}}), spec);
  ASSERT_TRUE(r);
  EXPECT_EQ(request(d, "cpu"), "576m");
  EXPECT_EQ(limit(d, "cpu"), "576m");
  EXPECT_EQ(request(d, "memory"), "300Mi");
  EXPECT_EQ(limit(d, "memory"), "300Mi");
  EXPECT_EQ(r->changed.size(), 2u);
}

TEST(ApplyVpa, ZeroRequestAtTheTargetStillGetsTheTarget) {
  auto d = pod(R"({"requests":{"cpu":"0"},"limits":{"cpu":"1"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  ASSERT_TRUE(applyVpa(vpa({{"cpu", "1"}}), spec));
  EXPECT_EQ(request(d, "cpu"), "1");
  EXPECT_EQ(limit(d, "cpu"), "1");
}

// Proportional limits truncate like VPA (big.Int division): cpu in millicores, memory in whole bytes.
TEST(ApplyVpa, ProportionalLimitsTruncate) {
  auto d = pod(R"({"requests":{"cpu":"300m","memory":"3"},"limits":{"cpu":"500m","memory":"5"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  ASSERT_TRUE(applyVpa(vpa({{"cpu", "1"}, {"memory", "1Gi"}}), spec));
  EXPECT_EQ(request(d, "cpu"), "1");
  EXPECT_EQ(limit(d, "cpu"), "1666m");
  EXPECT_EQ(request(d, "memory"), "1Gi");
  EXPECT_EQ(limit(d, "memory"), "1789569706");  // 5 × 2^30 / 3 = 1789569706.67
}

TEST(ApplyVpa, ZeroMinOrMaxAllowedIsNoBound) {
  Vpa v = vpa({{"cpu", "3"}, {"memory", "64Mi"}});
  v.policies.push_back({"*", false, {{"memory", "0"}}, {{"cpu", "0"}}, std::nullopt, true});
  auto d = pod(R"({"requests":{"cpu":"1","memory":"1Gi"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  ASSERT_TRUE(applyVpa(v, spec));
  EXPECT_EQ(request(d, "cpu"), "3");
  EXPECT_EQ(request(d, "memory"), "64Mi");
}

TEST(ApplyVpa, NeverARequestAboveItsLimit) {
  // RequestsOnly caps the target at the limit; an object whose request already exceeds its limit gets
  // a limit scaled from it and the request capped there.
  Vpa only = vpa({{"cpu", "4"}});
  only.policies.push_back({"*", false, {}, {}, std::nullopt, false});
  auto d = pod(R"({"requests":{"cpu":"1"},"limits":{"cpu":"2"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  ASSERT_TRUE(applyVpa(only, spec));
  EXPECT_EQ(request(d, "cpu"), "2");
  EXPECT_EQ(limit(d, "cpu"), "2");
  auto bad = pod(R"({"requests":{"cpu":"2"},"limits":{"cpu":"1"}})");
  PodSpec badSpec(bad["spec"], bad.GetAllocator());
  ASSERT_TRUE(applyVpa(vpa({{"cpu", "3"}}), badSpec));
  EXPECT_EQ(request(bad, "cpu"), "1500m");
  EXPECT_EQ(limit(bad, "cpu"), "1500m");
}

TEST(ApplyVpa, ApplyingTwiceChangesNothing) {
  auto d = pod(R"({"requests":{"cpu":"0","memory":"3"},"limits":{"cpu":"250m","memory":"5"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  Vpa v = vpa({{"cpu", "576m"}, {"memory", "1Gi"}});
  ASSERT_TRUE(applyVpa(v, spec));
  auto again = applyVpa(v, spec);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->changed.empty());
}

TEST(ApplyVpa, UpdateModeOffAndUnreadableQuantitiesChangeNothing) {
  Vpa v = vpa({{"cpu", "2"}});
  v.updateOff = true;
  auto d = pod(R"({"requests":{"cpu":"1"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  ASSERT_TRUE(applyVpa(v, spec));
  EXPECT_EQ(request(d, "cpu"), "1");
  auto bad = pod(R"({"requests":{"cpu":"one"}})");
  PodSpec badSpec(bad["spec"], bad.GetAllocator());
  auto r = applyVpa(vpa({{"cpu", "2"}}), badSpec);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->changed.empty());
  EXPECT_EQ(request(bad, "cpu"), "one");
}

TEST(ApplyVpa, EqualQuantityInAnotherSpellingIsLeftAsWritten) {
  auto d = pod(R"({"requests":{"cpu":"0.5","memory":"1024Mi"}})");
  PodSpec spec(d["spec"], d.GetAllocator());
  auto r = applyVpa(vpa({{"cpu", "500m"}, {"memory", "1Gi"}}), spec);
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->changed.empty());
  EXPECT_EQ(request(d, "cpu"), "0.5");
}

TEST(VpaIndex, LooksUpByTargetAndFollowsRetargetAndDelete) {
  VpaIndex idx;
  Vpa v;
  v.namespace_ = "ml";
  v.name = "v1";
  v.targetKind = "Job";
  v.targetName = "a";
  idx.upsert(v);
  ASSERT_NE(idx.find("ml", "Job", "a"), nullptr);
  EXPECT_EQ(idx.find("ml", "Job", "b"), nullptr);
  EXPECT_EQ(idx.find("other", "Job", "a"), nullptr);
  EXPECT_EQ(idx.find("ml", "CronJob", "a"), nullptr);
  v.targetName = "b";
  idx.upsert(v);
  EXPECT_EQ(idx.find("ml", "Job", "a"), nullptr);
  ASSERT_NE(idx.find("ml", "Job", "b"), nullptr);
  idx.erase("ml", "v1");
  EXPECT_EQ(idx.find("ml", "Job", "b"), nullptr);
  EXPECT_EQ(idx.size(), 0u);
}

}  // namespace
}  // namespace spotfit::webhook

namespace spotfit::webhook {
namespace {

TEST(StaticSpend, ReplaceAllSwapsTheWholeSnapshot) {
  StaticSpend s;
  s.set("ml", "old", 5);
  s.replaceAll({{{"ml", "train"}, 12.5}, {{"batch", "train"}, 1.0}});
  EXPECT_FALSE(s.spendUsd("ml", "old").has_value());
  EXPECT_EQ(s.spendUsd("ml", "train"), 12.5);
  EXPECT_EQ(s.spendUsd("batch", "train"), 1.0);
  EXPECT_FALSE(s.spendUsd("other", "train").has_value());
}

}  // namespace
}  // namespace spotfit::webhook

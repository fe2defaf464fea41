// Beside Karpenter or Cluster Autoscaler: batch pods that cannot resume are protected from voluntary
// disruption (karpenter.sh/do-not-disrupt, cluster-autoscaler.kubernetes.io/safe-to-evict) while
// resumable ones stay movable, and Jobs get a podFailurePolicy ignoring DisruptionTarget.
#include <gtest/gtest.h>

#include "webhook/admitter.hpp"
#include "webhook/config.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::patchedBy;

WebhookConfig configText(const std::string& yaml) {
  auto c = parseWebhookConfigText(yaml);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : WebhookConfig{};
}

json::Document admit(const WebhookConfig& config, const std::string& object, const std::string& kind) {
  std::string gvk = kind == "Job" ? R"({"group":"batch","version":"v1","kind":"Job"})"
                                  : R"({"group":"","version":"v1","kind":"Pod"})";
  Admission a =
      Admitter(config, {})
          .review(R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":)" + gvk +
                  R"(,"operation":"CREATE","namespace":"ml","object":)" + object + "}}");
  EXPECT_EQ(a.httpStatus, 200) << a.body;
  return patchedBy(object, a.body);
}

std::string pod(const std::string& annotations) {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{)" + annotations + R"(},
    "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"train","uid":"u1","controller":true}]},
    "spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"x"}]}})";
}

std::string annotation(const json::Document& d, const char* key) {
  const auto& meta = d["metadata"];
  if (!meta.HasMember("annotations") || !meta["annotations"].HasMember(key)) return "<none>";
  return meta["annotations"][key].GetString();
}

constexpr const char* kKarpenter = "karpenter.sh/do-not-disrupt";
constexpr const char* kCa = "cluster-autoscaler.kubernetes.io/safe-to-evict";

TEST(Disruption, NonResumablePodsAreProtectedPerPreset) {
  struct Case {
    std::string preset, karpenter, ca;
  };
  for (const Case& c :
       {Case{"karpenter", "true", "<none>"}, Case{"eks", "<none>", "false"}, Case{"gke", "<none>", "false"},
        Case{"aks", "<none>", "false"}, Case{"spotfit", "<none>", "<none>"}}) {
    auto d = admit(configText("webhook:\n  capacity: {preset: " + c.preset + "}\n"), pod(""), "Pod");
    EXPECT_EQ(annotation(d, kKarpenter), c.karpenter) << c.preset;
    EXPECT_EQ(annotation(d, kCa), c.ca) << c.preset;
    if (c.karpenter != "<none>" || c.ca != "<none>") {
      EXPECT_NE(annotation(d, "spotfit.io/mutated").find("do-not-disrupt"), std::string::npos) << c.preset;
    }
  }
}

TEST(Disruption, ResumablePodsStayMovable) {
  auto cfg = configText("webhook:\n  capacity: {preset: karpenter}\n");
  auto d = admit(cfg, pod(R"("spotfit.io/checkpoint":"/bin/save")"), "Pod");
  EXPECT_EQ(annotation(d, kKarpenter), "<none>");
  // A default checkpoint command makes every pod resumable...
  auto withCommand = configText("webhook:\n  capacity: {preset: eks}\n  checkpoint: {command: /bin/save}\n");
  EXPECT_EQ(annotation(admit(withCommand, pod(""), "Pod"), kCa), "<none>");
  // ... except one that opts out of the hook.
  EXPECT_EQ(annotation(admit(withCommand, pod(R"("spotfit.io/checkpoint":"none")"), "Pod"), kCa), "false");
}

TEST(Disruption, DoNotDisruptAnnotationDecidesAndUserAnnotationsStand) {
  auto cfg = configText("webhook:\n  capacity: {preset: karpenter}\n");
  EXPECT_EQ(annotation(admit(cfg, pod(R"("spotfit.io/do-not-disrupt":"false")"), "Pod"), kKarpenter), "<none>");
  EXPECT_EQ(
      annotation(admit(cfg, pod(R"("spotfit.io/checkpoint":"/bin/save","spotfit.io/do-not-disrupt":"true")"), "Pod"),
                 kKarpenter),
      "true");
  EXPECT_EQ(annotation(admit(cfg, pod(R"("karpenter.sh/do-not-disrupt":"false")"), "Pod"), kKarpenter), "false");
  auto both = configText("webhook:\n  disruption: {protect: both}\n");
  auto d = admit(both, pod(""), "Pod");
  EXPECT_EQ(annotation(d, kKarpenter), "true");
  EXPECT_EQ(annotation(d, kCa), "false");
  auto none = configText("webhook:\n  capacity: {preset: karpenter}\n  disruption: {protect: none}\n");
  EXPECT_EQ(annotation(admit(none, pod(""), "Pod"), kKarpenter), "<none>");
  auto bad = parseWebhookConfigText("webhook:\n  disruption: {protect: always}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(
      bad.error().message.find("webhook.disruption.protect: must be auto, karpenter, cluster-autoscaler, both or none"),
      std::string::npos);
}

std::string job(const std::string& restartPolicy, const std::string& extraSpec = "") {
  return R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"train"},"spec":{)" + extraSpec +
         R"("template":{"spec":{"restartPolicy":")" + restartPolicy + R"(","containers":[{"name":"c"}]}}}})";
}

TEST(Disruption, JobsGetAPodFailurePolicyIgnoringDisruptionTarget) {
  auto cfg = configText("webhook:\n  capacity: {preset: karpenter}\n");
  auto d = admit(cfg, job("Never"), "Job");
  ASSERT_TRUE(d["spec"].HasMember("podFailurePolicy"));
  const auto& rule = d["spec"]["podFailurePolicy"]["rules"][0];
  EXPECT_STREQ(rule["action"].GetString(), "Ignore");
  EXPECT_STREQ(rule["onPodConditions"][0]["type"].GetString(), "DisruptionTarget");
  EXPECT_EQ(d["spec"]["podFailurePolicy"]["rules"].Size(), 1u);
  // What the apiserver requires with a podFailurePolicy (it defaults TerminatingOrFailed before admission).
  EXPECT_STREQ(d["spec"]["podReplacementPolicy"].GetString(), "Failed");
  EXPECT_STREQ(admit(cfg, job("Never", R"("podReplacementPolicy":"TerminatingOrFailed",)"),
                     "Job")["spec"]["podReplacementPolicy"]
                   .GetString(),
               "Failed");
  EXPECT_NE(std::string(d["spec"]["template"]["metadata"]["annotations"]["spotfit.io/mutated"].GetString())
                .find("pod-failure-policy"),
            std::string::npos);

  // The apiserver refuses a podFailurePolicy unless restartPolicy is Never.
  EXPECT_FALSE(admit(cfg, job("OnFailure"), "Job")["spec"].HasMember("podFailurePolicy"));
  // A user's policy stands as written.
  const std::string own =
      R"("podFailurePolicy":{"rules":[{"action":"FailJob","onExitCodes":{"operator":"In","values":[42]}}]},)";
  auto kept = admit(cfg, job("Never", own), "Job");
  EXPECT_EQ(kept["spec"]["podFailurePolicy"]["rules"].Size(), 1u);
  EXPECT_STREQ(kept["spec"]["podFailurePolicy"]["rules"][0]["action"].GetString(), "FailJob");
  // Switchable; auto is off with the spotfit preset (its scaler drains by eviction and wants prompt
  // replacements, which podReplacementPolicy Failed would hold back until the old pod has finished).
  auto off = configText("webhook:\n  capacity: {preset: gke}\n  disruption: {podFailurePolicy: \"false\"}\n");
  EXPECT_FALSE(admit(off, job("Never"), "Job")["spec"].HasMember("podFailurePolicy"));
  EXPECT_FALSE(admit(WebhookConfig{}, job("Never"), "Job")["spec"].HasMember("podFailurePolicy"));
  auto on = configText("webhook:\n  disruption: {podFailurePolicy: \"true\"}\n");
  EXPECT_TRUE(admit(on, job("Never"), "Job")["spec"].HasMember("podFailurePolicy"));
  EXPECT_FALSE(parseWebhookConfigText("webhook:\n  disruption: {podFailurePolicy: maybe}\n").ok());
}

}  // namespace
}  // namespace spotfit::webhook

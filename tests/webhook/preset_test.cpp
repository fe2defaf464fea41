// webhook.capacity.preset: the node-affinity label, values and spot tolerations of each provisioner, and
// explicit keys overriding the preset.
#include <gtest/gtest.h>

#include "webhook/admitter.hpp"
#include "webhook/config.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::patchedBy;
using testing::toJson;

WebhookConfig presetConfig(const std::string& preset, const std::string& extra = "") {
  auto c = parseWebhookConfigText("webhook:\n  capacity: {preset: " + preset + "}\n" + extra);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : WebhookConfig{};
}

// A Job pod with these annotations, admitted with `config` (and a spend of $50 for workflow "train").
json::Document admitPod(const WebhookConfig& config, const std::string& annotations) {
  const std::string pod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"train-","namespace":"ml",
    "annotations":{)" + annotations +
                          R"(},
    "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"train","uid":"u1","controller":true}]},
    "spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox"}]}})";
  StaticSpend spend;
  spend.set("ml", "train", 50);
  AdmitterPorts ports;
  ports.spend = &spend;
  const std::string review = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u",
    "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"ml","object":)" +
                             pod + "}}";
  Admission a = Admitter(config, ports).review(review);
  EXPECT_EQ(a.httpStatus, 200) << a.body;
  return patchedBy(pod, a.body);
}

// "key op [values]" of the only required term's expressions, and of the preferred ones.
std::string requiredTerm(const json::Document& pod) {
  const auto& spec = pod["spec"];
  if (!spec.HasMember("affinity")) return "";
  const auto& na = spec["affinity"]["nodeAffinity"];
  if (!na.HasMember("requiredDuringSchedulingIgnoredDuringExecution")) return "";
  const auto& terms = na["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"];
  EXPECT_EQ(terms.Size(), 1u);
  std::string out;
  for (const auto& e : terms[0]["matchExpressions"].GetArray()) {
    out += std::string(e["key"].GetString()) + " " + e["operator"].GetString() + " [";
    for (const auto& v : e["values"].GetArray()) out += v.GetString();
    out += "]";
  }
  return out;
}

std::string preferredTerm(const json::Document& pod) {
  const auto& spec = pod["spec"];
  if (!spec.HasMember("affinity")) return "";
  const auto& na = spec["affinity"]["nodeAffinity"];
  if (!na.HasMember("preferredDuringSchedulingIgnoredDuringExecution")) return "";
  const auto& e = na["preferredDuringSchedulingIgnoredDuringExecution"][0]["preference"]["matchExpressions"][0];
  return std::string(e["key"].GetString()) + " " + e["operator"].GetString() + " [" + e["values"][0].GetString() + "]";
}

std::string tolerations(const json::Document& pod) {
  if (!pod["spec"].HasMember("tolerations")) return "";
  std::string out;
  for (const auto& t : pod["spec"]["tolerations"].GetArray()) {
    out += std::string(t["key"].GetString()) + "=" + t["value"].GetString() + ":" + t["effect"].GetString() + ";";
  }
  return out;
}

struct PresetCase {
  std::string preset;
  std::string spot;       // required term for spot (and a spot-only budget)
  std::string onDemand;   // required term for on-demand
  std::string preferred;  // preferred term for spot-preferred
  std::string toleration;
};

const PresetCase kPresets[] = {
    {"spotfit", "spotfit.io/capacity-type In [spot]", "spotfit.io/capacity-type In [on-demand]",
     "spotfit.io/capacity-type In [spot]", "spotfit.io/capacity-type=spot:NoSchedule;"},
    {"karpenter", "karpenter.sh/capacity-type In [spot]", "karpenter.sh/capacity-type In [on-demand]",
     "karpenter.sh/capacity-type In [spot]", "karpenter.sh/capacity-type=spot:NoSchedule;"},
    {"eks", "eks.amazonaws.com/capacityType In [SPOT]", "eks.amazonaws.com/capacityType In [ON_DEMAND]",
     "eks.amazonaws.com/capacityType In [SPOT]", "eks.amazonaws.com/capacityType=SPOT:NoSchedule;"},
    // GKE and AKS on-demand nodes lack the label: NotIn [spot value] is what they satisfy.
    {"gke", "cloud.google.com/gke-spot In [true]", "cloud.google.com/gke-spot NotIn [true]",
     "cloud.google.com/gke-spot In [true]", "cloud.google.com/gke-spot=true:NoSchedule;"},
    {"aks", "kubernetes.azure.com/scalesetpriority In [spot]", "kubernetes.azure.com/scalesetpriority NotIn [spot]",
     "kubernetes.azure.com/scalesetpriority In [spot]", "kubernetes.azure.com/scalesetpriority=spot:NoSchedule;"},
};

TEST(Preset, SpotPodRequiresThePresetsSpotLabelAndToleratesItsTaint) {
  for (const auto& p : kPresets) {
    auto pod = admitPod(presetConfig(p.preset), R"("spotfit.io/capacity-type":"spot")");
    EXPECT_EQ(requiredTerm(pod), p.spot) << p.preset;
    EXPECT_EQ(tolerations(pod), p.toleration) << p.preset;
  }
}

TEST(Preset, OnDemandPodRequiresOnDemandWithoutSpotTolerations) {
  for (const auto& p : kPresets) {
    auto pod = admitPod(presetConfig(p.preset), R"("spotfit.io/capacity-type":"on-demand")");
    EXPECT_EQ(requiredTerm(pod), p.onDemand) << p.preset;
    EXPECT_EQ(tolerations(pod), "") << p.preset;
  }
}

TEST(Preset, SpotPreferredPodPrefersSpot) {
  for (const auto& p : kPresets) {
    auto pod = admitPod(presetConfig(p.preset), "");
    EXPECT_EQ(requiredTerm(pod), "") << p.preset;
    EXPECT_EQ(preferredTerm(pod), p.preferred) << p.preset;
    EXPECT_EQ(tolerations(pod), p.toleration) << p.preset;
  }
}

TEST(Preset, SpotOnlyBudgetRequiresThePresetsSpotLabel) {
  for (const auto& p : kPresets) {
    auto pod = admitPod(
        presetConfig(p.preset),
        R"("spotfit.io/budget":"20","spotfit.io/budget-action":"spot-only","spotfit.io/capacity-type":"on-demand")");
    EXPECT_EQ(requiredTerm(pod), p.spot) << p.preset;
    EXPECT_EQ(tolerations(pod), p.toleration) << p.preset;
  }
}

TEST(Preset, ExplicitKeysOverrideThePreset) {
  // Whatever the order of the keys in the file, `affinity:` and `tolerations.add` win over the preset.
  auto c = presetConfig("gke",
                        "  affinity: {onDemandValue: \"false\"}\n"
                        "  tolerations: {add: [{key: pool, operator: Exists, effect: NoSchedule}]}\n");
  EXPECT_EQ(c.capacityPreset, "gke");
  EXPECT_EQ(c.affinity.capacityTypeLabel, "cloud.google.com/gke-spot");
  EXPECT_EQ(c.affinity.spotValue, "true");
  EXPECT_EQ(c.affinity.onDemandValue, "false");
  ASSERT_EQ(c.tolerations.add.size(), 1u);
  EXPECT_EQ(c.tolerations.add[0].key, "pool");
  auto before =
      parseWebhookConfigText("webhook:\n  affinity: {capacityTypeLabel: my/label}\n  capacity: {preset: karpenter}\n");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->affinity.capacityTypeLabel, "my/label");
  EXPECT_EQ(before->affinity.spotValue, "spot");
  auto pod = admitPod(c, R"("spotfit.io/capacity-type":"on-demand")");
  EXPECT_EQ(requiredTerm(pod), "cloud.google.com/gke-spot In [false]");
}

TEST(Preset, DefaultIsSpotfitAndUnknownPresetsAreRefused) {
  WebhookConfig d;
  EXPECT_EQ(d.capacityPreset, "spotfit");
  EXPECT_EQ(d.affinity.capacityTypeLabel, "spotfit.io/capacity-type");
  auto bad = parseWebhookConfigText("webhook:\n  capacity:\n    preset: openshift\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message,
            "webhook.capacity.preset: must be one of spotfit, karpenter, eks, gke, aks, got 'openshift' (line 3)");
  auto unknown = parseWebhookConfigText("webhook:\n  capacity: {presett: gke}\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("webhook.capacity.presett: unknown key"), std::string::npos);
  auto same = parseWebhookConfigText("webhook:\n  affinity: {spotValue: x, onDemandValue: x}\n");
  ASSERT_FALSE(same.ok());
  EXPECT_NE(same.error().message.find("must differ from spotValue"), std::string::npos);
}

}  // namespace
}  // namespace spotfit::webhook

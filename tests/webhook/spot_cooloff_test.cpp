// The spot circuit breaker without spotfit's scaler (issue 17): which deletions and taints count as spot
// interruptions, the cool-off they start, and what admission does while it runs.
#include "webhook/spot_cooloff.hpp"

#include <gtest/gtest.h>

#include "webhook/admitter.hpp"
#include "webhook/config.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using namespace std::chrono_literals;

kube::NodeClaim claim(const std::string& json) {
  auto d = kube::json::parse(json);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  auto c = kube::decodeNodeClaim(*d);
  EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
  return c.ok() ? *c : kube::NodeClaim{};
}

// A Karpenter NodeClaim created at 10:00, spot unless said otherwise, with optional deletion and conditions.
std::string claimJson(const std::string& capacity, const std::string& deletion, const std::string& conditions,
                      const std::string& expireAfter = "720h", const std::string& nodeName = "ip-10-0-0-1") {
  std::string meta = R"("name":"default-abcde","creationTimestamp":"2026-12-07T10:00:00Z","labels":{
    "karpenter.sh/capacity-type":")" +
                     capacity + R"(","node.kubernetes.io/instance-type":"m5.large"})";
  if (!deletion.empty()) meta += R"(,"deletionTimestamp":")" + deletion + R"(")";
  return R"({"apiVersion":"karpenter.sh/v1","kind":"NodeClaim","metadata":{)" + meta + R"(},"spec":{"expireAfter":")" +
         expireAfter + R"(","nodeClassRef":{"group":"karpenter.kwok.sh","kind":"KWOKNodeClass","name":"default"}},
         "status":{"nodeName":")" +
         nodeName + R"(","conditions":[)" + conditions + "]}}";
}

constexpr const char* kLaunched = R"({"type":"Launched","status":"True","reason":"Launched"})";
constexpr const char* kConsolidating =
    R"({"type":"DisruptionReason","status":"True","reason":"Underutilized","message":"Underutilized"})";

TEST(SpotCoolOff, OnlyASpotNodeClaimDeletedWithoutKarpentersDisruptionReasonIsAnInterruption) {
  // Karpenter's interruption controller deletes the NodeClaim: counted, under its node's name.
  EXPECT_EQ(interruptedNodeOf(claim(claimJson("spot", "2026-12-07T11:00:00Z", kLaunched))), "ip-10-0-0-1");
  // Before the node registered: the NodeClaim's name.
  EXPECT_EQ(interruptedNodeOf(claim(claimJson("spot", "2026-12-07T11:00:00Z", kLaunched, "720h", ""))),
            "default-abcde");
  // Not being deleted.
  EXPECT_EQ(interruptedNodeOf(claim(claimJson("spot", "", kLaunched))), std::nullopt);
  // On-demand.
  EXPECT_EQ(interruptedNodeOf(claim(claimJson("on-demand", "2026-12-07T11:00:00Z", kLaunched))), std::nullopt);
  // Consolidation (the disruption controller marks what it disrupts).
  EXPECT_EQ(interruptedNodeOf(
                claim(claimJson("spot", "2026-12-07T11:00:00Z", std::string(kLaunched) + "," + kConsolidating))),
            std::nullopt);
  // A DisruptionReason condition that is not True does not exclude it.
  EXPECT_TRUE(interruptedNodeOf(claim(claimJson(
      "spot", "2026-12-07T11:00:00Z", R"({"type":"DisruptionReason","status":"False","reason":"Cleared"})"))));
  // Expiration: deleted at or after creation + expireAfter.
  EXPECT_EQ(interruptedNodeOf(claim(claimJson("spot", "2026-12-07T11:00:00Z", kLaunched, "1h"))), std::nullopt);
  EXPECT_TRUE(interruptedNodeOf(claim(claimJson("spot", "2026-12-07T10:59:59Z", kLaunched, "1h"))));
  EXPECT_TRUE(interruptedNodeOf(claim(claimJson("spot", "2026-12-07T11:00:00Z", kLaunched, "Never"))));
}

kube::Node node(const std::string& labels, const std::string& taints) {
  auto d = kube::json::parse(R"({"apiVersion":"v1","kind":"Node","metadata":{"name":"n1","labels":{)" + labels +
                             R"(}},"spec":{"taints":[)" + taints + R"(]},"status":{"allocatable":{"cpu":"2"}}})");
  EXPECT_TRUE(d.ok());
  auto n = kube::decodeNode(*d);
  EXPECT_TRUE(n.ok()) << (n.ok() ? "" : n.error().message);
  return n.ok() ? *n : kube::Node{};
}

TEST(SpotCoolOff, NoticeTaintsCountOnSpotNodesOnly) {
  const std::vector<std::string> taints = WebhookConfig{}.interruption.taints;
  const std::string itn = R"({"key":"aws-node-termination-handler/spot-itn","effect":"NoSchedule"})";
  const std::string eksSpot = R"("eks.amazonaws.com/capacityType":"SPOT")";
  EXPECT_TRUE(interruptedSpotNode(node(eksSpot, itn), "eks.amazonaws.com/capacityType", "SPOT", taints));
  EXPECT_FALSE(interruptedSpotNode(node(R"("eks.amazonaws.com/capacityType":"ON_DEMAND")", itn),
                                   "eks.amazonaws.com/capacityType", "SPOT", taints));
  EXPECT_FALSE(interruptedSpotNode(node(eksSpot, ""), "eks.amazonaws.com/capacityType", "SPOT", taints));
  // Karpenter's disrupted taint marks consolidation too: not a notice by default.
  EXPECT_FALSE(interruptedSpotNode(
      node(R"("karpenter.sh/capacity-type":"spot")", R"({"key":"karpenter.sh/disrupted","effect":"NoSchedule"})"),
      "karpenter.sh/capacity-type", "spot", taints));
  EXPECT_TRUE(
      interruptedSpotNode(node(R"("cloud.google.com/gke-spot":"true")",
                               R"({"key":"cloud.google.com/impending-node-termination","effect":"NoSchedule"})"),
                          "cloud.google.com/gke-spot", "true", taints));
}

TEST(SpotCoolOff, ThresholdWithinTheWindowStartsACoolOffThatEnds) {
  kube::ManualClock clock;
  SpotCoolOff breaker({.window = 10min, .threshold = 2, .coolOff = 5min}, clock);
  EXPECT_EQ(breaker.until(), std::nullopt);
  auto first = breaker.record("n1", "m5.large");
  EXPECT_TRUE(first.counted);
  EXPECT_FALSE(first.startedCoolOff);
  // The same node again (its taint and its NodeClaim's deletion, or a re-list): counted once.
  EXPECT_FALSE(breaker.record("n1", "m5.large").counted);
  EXPECT_EQ(breaker.until(), std::nullopt);
  clock.advance(1min);
  auto second = breaker.record("n2", "m5.large");
  EXPECT_TRUE(second.counted);
  EXPECT_TRUE(second.startedCoolOff);
  ASSERT_TRUE(breaker.until());
  EXPECT_EQ(*breaker.until(), clock.wallNow() + 5min);
  EXPECT_NE(breaker.summary().find("spot cool-off until"), std::string::npos) << breaker.summary();
  clock.advance(5min);
  EXPECT_EQ(breaker.until(), std::nullopt) << "after the cool-off, spot again";
  EXPECT_NE(breaker.summary().find("no spot cool-off (2 spot interruptions"), std::string::npos) << breaker.summary();
  // Interruptions older than the window no longer count.
  clock.advance(10min);
  EXPECT_EQ(breaker.interruptions(), 0);
  EXPECT_FALSE(breaker.record("n3", "m5.large").startedCoolOff);
}

WebhookConfig karpenterConfig() {
  auto c = parseWebhookConfigText("webhook:\n  capacity: {preset: karpenter}\n");
  EXPECT_TRUE(c.ok());
  return c.ok() ? *c : WebhookConfig{};
}

std::string job(const std::string& annotations) {
  return R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"etl","annotations":{)" + annotations +
         R"(}},"spec":{"template":{"spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"x"}]}}}})";
}

Admission admit(const WebhookConfig& config, const SpotCoolOff* breaker, const std::string& object) {
  AdmitterPorts ports;
  ports.spotCoolOff = breaker;
  return Admitter(config, ports)
      .review(
          R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","kind":{"group":"batch","version":"v1","kind":"Job"},"operation":"CREATE","namespace":"ml","object":)" +
          object + "}}");
}

std::string affinity(const std::string& object, const Admission& a) {
  auto d = testing::patchedBy(object, a.body);
  const auto& spec = d["spec"]["template"]["spec"];
  if (!spec.HasMember("affinity")) return "<none>";
  return json::serialize(spec["affinity"]);
}

TEST(SpotCoolOff, WhileItRunsNewBatchWorkGoesOnDemandUnlessTheUserChoseSpot) {
  const WebhookConfig config = karpenterConfig();
  kube::ManualClock clock;
  SpotCoolOff breaker({.window = 10min, .threshold = 1, .coolOff = 5min}, clock);

  const std::string plain = job("");
  const std::string before = affinity(plain, admit(config, &breaker, plain));
  EXPECT_NE(before.find("preferredDuringScheduling"), std::string::npos) << before;

  ASSERT_TRUE(breaker.record("n1", "m5.large").startedCoolOff);
  Admission during = admit(config, &breaker, plain);
  const std::string onDemand = affinity(plain, during);
  EXPECT_NE(onDemand.find(R"("requiredDuringSchedulingIgnoredDuringExecution")"), std::string::npos) << onDemand;
  EXPECT_NE(onDemand.find(R"({"key":"karpenter.sh/capacity-type","operator":"In","values":["on-demand"]})"),
            std::string::npos)
      << onDemand;
  ASSERT_EQ(during.response.warnings.size(), 1u);
  EXPECT_NE(during.response.warnings[0].find("spotfit: spot cool-off until"), std::string::npos);
  EXPECT_NE(during.response.warnings[0].find("after 1 spot interruptions: placed on on-demand capacity"),
            std::string::npos)
      << during.response.warnings[0];

  // The user's capacity type stands.
  const std::string spot = job(R"("spotfit.io/capacity-type":"spot")");
  const std::string spotAffinity = affinity(spot, admit(config, &breaker, spot));
  EXPECT_NE(spotAffinity.find(R"("values":["spot"])"), std::string::npos) << spotAffinity;
  EXPECT_EQ(spotAffinity.find("on-demand"), std::string::npos) << spotAffinity;

  // After the cool-off: spot preferred again.
  clock.advance(5min);
  EXPECT_EQ(affinity(plain, admit(config, &breaker, plain)), before);
}

TEST(SpotCoolOff, ConfigEnablesItBesideOtherProvisionersOnly) {
  EXPECT_FALSE(spotCoolOffEnabled(WebhookConfig{})) << "spotfit preset: the scaler has its own breaker";
  EXPECT_TRUE(spotCoolOffEnabled(karpenterConfig()));
  auto c = parseWebhookConfigText(
      "webhook:\n  interruption: {enabled: true, window: 10m, threshold: 2, coolOff: 1h30m, taints: [x/y]}\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_TRUE(spotCoolOffEnabled(*c));
  EXPECT_EQ(c->interruption.window, std::chrono::minutes(10));
  EXPECT_EQ(c->interruption.threshold, 2);
  EXPECT_EQ(c->interruption.coolOff, std::chrono::minutes(90));
  EXPECT_EQ(c->interruption.taints, std::vector<std::string>{"x/y"});
  auto off = parseWebhookConfigText("webhook:\n  capacity: {preset: eks}\n  interruption: {enabled: false}\n");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(spotCoolOffEnabled(*off));
  auto bad = parseWebhookConfigText("webhook:\n  interruption: {enabled: sometimes}\n");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("webhook.interruption.enabled"), std::string::npos) << bad.error().message;
  EXPECT_FALSE(parseWebhookConfigText("webhook:\n  interruption: {threshold: 0}\n").ok());
  EXPECT_FALSE(parseWebhookConfigText("webhook:\n  interruption: {window: 5}\n").ok());
}

}  // namespace
}  // namespace spotfit::webhook

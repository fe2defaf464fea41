// ProvisioningRequests (scaler/provreq.hpp) with a fake clock, the in-memory provider and the real
// placement solver: every condition transition of both classes, bookings against scale-down and other
// pods, consumption by annotated pods, rollback of partial launches, and the bounded decoders.

#include "scaler/provreq.hpp"

#include <gtest/gtest.h>

#include "kube/json.hpp"
#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;

class RecordingStatus final : public ProvReqStatusWriter {
 public:
  Status updateProvisioningRequestStatus(const std::string& ns, const std::string& name,
                                         const std::string& statusJson) override {
    ++writes;
    last[ns + "/" + name] = statusJson;
    return {};
  }
  // The condition of `type` in the last status written for team/<name>, as "Status/Reason" ("" if absent).
  std::string condition(const std::string& name, const std::string& type) const {
    auto it = last.find("team/" + name);
    if (it == last.end()) return "";
    auto doc = kube::json::parse(it->second);
    if (!doc) return "parse error";
    for (const auto& c : (*doc)["conditions"].GetArray()) {
      if (std::string(c["type"].GetString()) == type)
        return std::string(c["status"].GetString()) + "/" + c["reason"].GetString();
    }
    return "";
  }
  std::string message(const std::string& name, const std::string& type) const {
    auto doc = kube::json::parse(last.at("team/" + name));
    for (const auto& c : (*doc)["conditions"].GetArray()) {
      if (std::string(c["type"].GetString()) == type) return c["message"].GetString();
    }
    return "";
  }
  int writes = 0;
  std::map<std::string, std::string> last;
};

struct ProvEnv : Env {
  RecordingStatus status;
  std::unique_ptr<ProvisioningRequestController> controller;
  std::vector<ProvisioningRequestObject> requests;
  std::map<std::string, PodTemplateObject> templates;

  ProvEnv() { config.nodePools = {m5Pool("cpu")}; }
  void begin() {
    start();
    controller =
        std::make_unique<ProvisioningRequestController>(*scaler, status, clock, config.provisioningRequestBookingTime,
                                                        [this](const std::string& line) { logs.push_back(line); });
  }
  void addTemplate(const std::string& name, int64_t cpuMilli, int64_t memMi) {
    PodTemplateObject t;
    t.meta.name = name;
    t.meta.namespace_ = "team";
    t.pod = pendingPod("x", cpuMilli, memMi).info;
    templates[name] = t;
  }
  ProvisioningRequestObject& request(const std::string& name, const std::string& cls, const std::string& tmpl,
                                     int64_t count) {
    ProvisioningRequestObject r;
    r.meta.name = name;
    r.meta.namespace_ = "team";
    r.meta.uid = "uid-pr-" + name;
    r.meta.creationTimestamp = clock.wallNow();
    r.className = cls;
    r.podSets = {{tmpl, count}};
    requests.push_back(r);
    return requests.back();
  }
  // One leader pass: the controller, then the scaler, with the same snapshot.
  void pass() {
    controller->reconcile(
        requests,
        [this](const std::string& ns, const std::string& name) -> const PodTemplateObject* {
          auto it = templates.find(name);
          return ns == "team" && it != templates.end() ? &it->second : nullptr;
        },
        cluster.snapshot);
    reconcile();
  }
  void passFor(Duration d, Duration step = 500ms) {
    const auto end = clock.wallNow() + d;
    while (clock.wallNow() < end) {
      pass();
      cluster.materialize(provider);
      clock.advance(step);
    }
  }
};

TEST(ProvisioningRequest, CheckCapacityBooksExistingRoomAndKeepsTheNode) {
  ProvEnv env;
  env.begin();
  env.cluster.addNode(env.config.nodePools[0], "n1", CapacityType::Spot, env.clock.wallNow());
  env.addTemplate("t", 1500, 1024);
  env.request("check", kProvReqCheckCapacity, "t", 1);
  env.pass();
  EXPECT_EQ(env.status.condition("check", "Accepted"), "True/Accepted");
  EXPECT_EQ(env.status.condition("check", "Provisioned"), "True/CapacityIsFound");
  ASSERT_EQ(env.scaler->bookings().count("team/check"), 1u);
  EXPECT_EQ(env.scaler->bookings().at("team/check").held.at("n1").cpuMilli, 1500);
  EXPECT_TRUE(env.provider.createRequests().empty());
  // The empty node would go after consolidateAfter (60 s); booked, it stays for the booking time.
  env.passFor(5min);
  EXPECT_TRUE(env.scaler->drains().empty());
  EXPECT_TRUE(env.actions.deletedNodes.empty());
  // A second request does not get the room the first one holds (m5.large: 2 CPU).
  env.request("second", kProvReqCheckCapacity, "t", 1);
  env.pass();
  EXPECT_EQ(env.status.condition("second", "Provisioned"), "False/CapacityIsNotFound");
  // After the booking time (10 min): BookingExpired, and the empty node is consolidated.
  env.passFor(6min);
  EXPECT_EQ(env.status.condition("check", "BookingExpired"), "True/BookingExpired");
  EXPECT_EQ(env.scaler->bookings().count("team/check"), 0u);
  EXPECT_EQ(env.status.condition("second", "Provisioned"), "True/CapacityIsFound");  // rechecked: room is free
}

TEST(ProvisioningRequest, CheckCapacityNotFoundThenFoundWhenRoomAppears) {
  ProvEnv env;
  env.begin();
  env.addTemplate("t", 1000, 512);
  env.request("check", kProvReqCheckCapacity, "t", 2);
  env.pass();
  EXPECT_EQ(env.status.condition("check", "Provisioned"), "False/CapacityIsNotFound");
  EXPECT_EQ(env.status.condition("check", "Failed"), "");
  EXPECT_TRUE(env.provider.createRequests().empty());  // check-capacity never launches
  env.cluster.addNode(env.config.nodePools[0], "n1", CapacityType::OnDemand, env.clock.wallNow());
  env.clock.advance(ProvisioningRequestController::kCheckInterval - 1s);
  env.pass();
  EXPECT_EQ(env.status.condition("check", "Provisioned"), "False/CapacityIsNotFound");  // not checked again yet
  env.clock.advance(1s);
  env.pass();
  EXPECT_EQ(env.status.condition("check", "Provisioned"), "True/CapacityIsFound");
}

TEST(ProvisioningRequest, CheckCapacityDoesNotCountNodesStillLaunching) {
  ProvEnv env;
  env.begin();
  env.addTemplate("t", 3000, 1024);
  env.request("gang", kProvReqAtomicScaleUp, "t", 1);
  env.pass();  // one m5.xlarge launching, booked for "gang"
  ASSERT_EQ(env.scaler->inFlight().size(), 1u);
  env.addTemplate("small", 500, 256);
  env.request("check", kProvReqCheckCapacity, "small", 1);  // would fit next to it, once it exists
  env.pass();
  EXPECT_EQ(env.status.condition("check", "Provisioned"), "False/CapacityIsNotFound");
}

TEST(ProvisioningRequest, CheckCapacityFailsAfterAWeek) {
  ProvEnv env;
  env.begin();
  env.addTemplate("t", 1000, 512);
  env.request("check", kProvReqCheckCapacity, "t", 1).meta.creationTimestamp = env.clock.wallNow() - 24h * 7;
  env.pass();
  EXPECT_EQ(env.status.condition("check", "Failed"), "True/Expired");
}

TEST(ProvisioningRequest, AtomicLaunchesEveryNodeThenProvisionedWhenReady) {
  ProvEnv env;
  env.begin();
  env.addTemplate("t", 3000, 1024);  // one per m5.xlarge
  env.request("gang", kProvReqAtomicScaleUp, "t", 4);
  env.pass();
  auto reqs = env.provider.createRequests();
  ASSERT_EQ(reqs.size(), 4u);
  for (const auto& r : reqs) EXPECT_EQ(r.capacityType, CapacityType::Spot);
  EXPECT_EQ(env.status.condition("gang", "Accepted"), "True/Accepted");
  EXPECT_EQ(env.status.condition("gang", "Provisioned"), "False/CapacityIsBeingProvisioned");
  env.cluster.materialize(env.provider, /*ready=*/false);
  env.pass();
  EXPECT_EQ(env.status.condition("gang", "Provisioned"), "False/CapacityIsBeingProvisioned");
  for (auto& n : env.cluster.snapshot.nodes) n.ready = true;
  env.pass();  // the scaler sees them initialized
  env.pass();
  EXPECT_EQ(env.status.condition("gang", "Provisioned"), "True/CapacityIsProvisioned");
  EXPECT_EQ(env.provider.createRequests().size(), 4u);  // nothing more
  EXPECT_NE(env.status.last.at("team/gang").find("\"spotfit.io/nodes\":\"cpu-"), std::string::npos);
}

TEST(ProvisioningRequest, AtomicFallsBackToOnDemandAsAWholeWhenSpotIsUnavailable) {
  ProvEnv env;
  env.begin();
  env.provider.setCapacityUnavailable("m5.xlarge", CapacityType::Spot, true);
  env.provider.setCapacityUnavailable("m5.large", CapacityType::Spot, true);
  env.addTemplate("t", 1500, 1024);
  env.request("gang", kProvReqAtomicScaleUp, "t", 3);
  env.pass();
  EXPECT_EQ(env.status.condition("gang", "Provisioned"), "False/CapacityIsBeingProvisioned");
  size_t live = 0;
  for (const auto& r : env.provider.createRequests()) live += r.capacityType == CapacityType::OnDemand;
  EXPECT_EQ(env.provider.liveNodes(), live);  // every live node is on-demand: the failed spot ones are gone
  EXPECT_GE(live, 2u);
  env.passFor(3s);
  EXPECT_EQ(env.status.condition("gang", "Provisioned"), "True/CapacityIsProvisioned");
  for (const auto& n : env.cluster.snapshot.nodes) EXPECT_EQ(n.info.capacityType, CapacityType::OnDemand);
}

TEST(ProvisioningRequest, AtomicPartialLaunchIsRolledBack) {
  ProvEnv env;
  env.config.nodePools[0].capacityTypes = {CapacityType::OnDemand};
  env.config.nodePools[0].instanceTypes.resize(1);  // m5.large only: one node per pod
  env.begin();
  env.addTemplate("t", 1500, 1024);
  env.request("gang", kProvReqAtomicScaleUp, "t", 3);
  env.provider.setQuota(2);  // the third create fails (quota): the two created are removed
  env.pass();
  EXPECT_EQ(env.provider.createRequests().size(), 3u);
  EXPECT_EQ(env.provider.liveNodes(), 0u);
  EXPECT_EQ(env.provider.removed().size(), 2u);
  EXPECT_TRUE(env.scaler->inFlight().empty());
  // Quota marks on-demand of the pool unavailable: nothing else to try, so Failed with the cause.
  EXPECT_EQ(env.status.condition("gang", "Failed"), "True/CapacityIsNotFound");
  EXPECT_NE(env.status.message("gang", "Failed").find("quota"), std::string::npos);
}

TEST(ProvisioningRequest, AtomicImpossibleRequestFailsWithReason) {
  ProvEnv env;
  env.begin();
  env.addTemplate("huge", 64000, 1024);
  env.request("huge", kProvReqAtomicScaleUp, "huge", 1);
  env.pass();
  EXPECT_EQ(env.status.condition("huge", "Failed"), "True/CapacityIsNotFound");
  EXPECT_EQ(env.status.condition("huge", "Provisioned"), "False/CapacityIsNotFound");
  EXPECT_TRUE(env.provider.createRequests().empty());
}

TEST(ProvisioningRequest, AtomicOverPoolMaxFailsWithoutLaunchingAny) {
  ProvEnv env;
  env.config.nodePools[0].maxNodes = 2;
  env.begin();
  env.addTemplate("t", 3000, 1024);
  env.request("gang", kProvReqAtomicScaleUp, "t", 3);  // 3 nodes, the pool allows 2
  env.pass();
  EXPECT_EQ(env.status.condition("gang", "Failed"), "True/CapacityIsNotFound");
  EXPECT_TRUE(env.provider.createRequests().empty());  // nothing half-launched
}

TEST(ProvisioningRequest, AtomicOverPoolCostLimitFails) {
  ProvEnv env;
  env.config.nodePools[0].limits.costPerHour = 0.05;  // below one m5.xlarge even on spot
  env.begin();
  env.addTemplate("t", 3000, 1024);
  env.request("gang", kProvReqAtomicScaleUp, "t", 1);
  env.pass();
  EXPECT_EQ(env.status.condition("gang", "Failed"), "True/CapacityIsNotFound");
  EXPECT_NE(env.status.message("gang", "Failed").find("cost limit"), std::string::npos);
}

// Runs a pod of workflow `wf` for an hour on a 1 USD/h on-demand node: the workflow has spent about 1 USD.
void spend(ProvEnv& env, const std::string& wf) {
  auto p = pool("ledger", {CapacityType::OnDemand}, {type("big", 2000, 8, 1.0, 0)});
  auto& node = env.cluster.addNode(p, "paid", CapacityType::OnDemand, env.clock.wallNow());
  node.info.hourlyPrice = 1.0;
  auto spender = pendingPod("spender", 2000, 8192);
  spender.info.workflow = wf;
  env.runPod(spender, "paid");
  env.reconcile();
  env.clock.advance(1h);
  env.reconcile();
  env.cluster.removePod("spender");
  env.cluster.removeNode("paid");
  env.reconcile();
}

TEST(ProvisioningRequest, AtomicOverBudgetDenyFailsAndSpotOnlyNeverGoesOnDemand) {
  ProvEnv env;
  env.begin();
  spend(env, "train");
  ASSERT_GT(env.scaler->workflowSpend("team", "train"), 0.5);
  env.addTemplate("t", 1000, 512);
  env.templates["t"].pod.annotations[kAnnotationBudget] = "0.5";
  env.templates["t"].pod.annotations[kAnnotationBudgetAction] = "deny";
  env.request("deny", kProvReqAtomicScaleUp, "t", 1);
  env.pass();
  EXPECT_EQ(env.status.condition("deny", "Failed"), "True/BudgetExceeded");
  EXPECT_TRUE(env.provider.createRequests().empty());
  // spot-only with spot unavailable: Failed, and no on-demand node was tried.
  env.templates["t"].pod.annotations[kAnnotationBudgetAction] = "spot-only";
  env.provider.setCapacityUnavailable("m5.large", CapacityType::Spot, true);
  env.provider.setCapacityUnavailable("m5.xlarge", CapacityType::Spot, true);
  env.request("spot", kProvReqAtomicScaleUp, "t", 1);
  env.pass();
  EXPECT_EQ(env.status.condition("spot", "Failed"), "True/CapacityIsNotFound");
  EXPECT_NE(env.status.message("spot", "Failed").find("spot only"), std::string::npos);
  for (const auto& r : env.provider.createRequests()) EXPECT_EQ(r.capacityType, CapacityType::Spot);
}

TEST(ProvisioningRequest, NodeThatNeverComesUpIsReplanned) {
  ProvEnv env;
  env.begin();
  env.addTemplate("t", 3000, 1024);
  env.request("gang", kProvReqAtomicScaleUp, "t", 1);
  env.pass();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  // Never registers: after the pool's ready timeout the scaler drops it, the request plans again.
  const auto timeout = env.config.nodePools[0].provider.readyTimeout;
  env.clock.advance(timeout);
  env.pass();  // scaler gives up on the node
  env.pass();  // controller notices, re-plans next pass
  env.clock.advance(1s);
  env.pass();
  EXPECT_GE(env.provider.createRequests().size(), 2u);
  EXPECT_EQ(env.status.condition("gang", "Failed"), "");
  EXPECT_TRUE(env.logged("did not become Ready"));
}

TEST(ProvisioningRequest, BookedNodeGoingAwayRevokesCapacity) {
  ProvEnv env;
  env.begin();
  env.addTemplate("t", 3000, 1024);
  env.request("gang", kProvReqAtomicScaleUp, "t", 2);
  env.passFor(3s);
  ASSERT_EQ(env.status.condition("gang", "Provisioned"), "True/CapacityIsProvisioned");
  env.cluster.removeNode(env.cluster.snapshot.nodes.front().info.name);
  env.pass();
  EXPECT_EQ(env.status.condition("gang", "CapacityRevoked"), "True/CapacityRevoked");
  EXPECT_EQ(env.scaler->bookings().count("team/gang"), 0u);
}

TEST(ProvisioningRequest, ConsumingPodsTriggerNoScaleUpAndTakeTheirSlots) {
  ProvEnv env;
  env.begin();
  env.addTemplate("t", 3000, 1024);
  env.request("gang", kProvReqAtomicScaleUp, "t", 2);
  env.passFor(3s);
  ASSERT_EQ(env.status.condition("gang", "Provisioned"), "True/CapacityIsProvisioned");
  const size_t created = env.provider.createRequests().size();
  // Kueue's pods: pending (say the scheduler has not got to them yet) with the consume annotation.
  for (const char* name : {"w0", "w1"}) {
    auto p = pendingPod(name, 3000, 1024);
    p.info.annotations[kAnnotationConsumeProvReq] = "gang";
    env.cluster.snapshot.pods.push_back(p);
  }
  env.passFor(5s);
  EXPECT_EQ(env.provider.createRequests().size(), created);  // the booked room is theirs: no scale-up
  // A pod without the annotation does trigger one (the booked room is not free for it).
  env.cluster.snapshot.pods.push_back(pendingPod("other", 3000, 1024));
  env.passFor(5s);
  EXPECT_EQ(env.provider.createRequests().size(), created + 1);
  // Bound, the consuming pods take their slots: nothing held any more.
  const auto& b = env.scaler->bookings().at("team/gang");
  std::vector<std::string> nodes(b.nodes.begin(), b.nodes.end());
  env.cluster.bind("w0", nodes[0], env.clock.wallNow());
  env.cluster.bind("w1", nodes[1], env.clock.wallNow());
  env.pass();
  EXPECT_TRUE(env.scaler->bookings().at("team/gang").held.empty());
  // A consumed node going away is not a revocation.
  env.cluster.removeNode(nodes[0]);
  env.pass();
  EXPECT_EQ(env.status.condition("gang", "CapacityRevoked"), "");
}

TEST(ProvisioningRequest, MissingPodTemplateWaitsThenFails) {
  ProvEnv env;
  env.begin();
  env.request("gang", kProvReqAtomicScaleUp, "absent", 1);
  env.pass();
  EXPECT_EQ(env.status.condition("gang", "Accepted"), "True/Accepted");
  EXPECT_EQ(env.status.condition("gang", "Failed"), "");
  env.clock.advance(ProvisioningRequestController::kTemplateGrace);
  env.pass();
  EXPECT_EQ(env.status.condition("gang", "Failed"), "True/PodTemplateNotFound");
}

TEST(ProvisioningRequest, OtherClassesAreLeftAlone) {
  ProvEnv env;
  env.begin();
  env.addTemplate("t", 1000, 512);
  env.request("queued", "queued-provisioning.gke.io", "t", 1);
  env.pass();
  EXPECT_EQ(env.status.writes, 0);
  EXPECT_EQ(env.controller->tracked(), 0u);
}

TEST(ProvisioningRequest, BookingIsRebuiltFromStatusAfterFailover) {
  ProvEnv env;
  env.begin();
  env.addTemplate("t", 1500, 1024);
  env.cluster.addNode(env.config.nodePools[0], "n1", CapacityType::Spot, env.clock.wallNow());
  auto& r = env.request("check", kProvReqCheckCapacity, "t", 1);
  r.conditions = {{"Accepted", "True", "Accepted", "", env.clock.wallNow() - 2min},
                  {"Provisioned", "True", "CapacityIsFound", "", env.clock.wallNow() - 2min}};
  r.details[kProvReqDetailNodes] = "n1";
  env.pass();
  ASSERT_EQ(env.scaler->bookings().count("team/check"), 1u);
  EXPECT_EQ(env.scaler->bookings().at("team/check").held.at("n1").cpuMilli, 1500);
  env.passFor(8min - 1s);
  EXPECT_EQ(env.status.condition("check", "BookingExpired"), "");
  env.passFor(2s);
  EXPECT_EQ(env.status.condition("check", "BookingExpired"), "True/BookingExpired");
}

TEST(ProvisioningRequest, DeletedRequestReleasesItsBooking) {
  ProvEnv env;
  env.begin();
  env.cluster.addNode(env.config.nodePools[0], "n1", CapacityType::Spot, env.clock.wallNow());
  env.addTemplate("t", 1500, 1024);
  env.request("check", kProvReqCheckCapacity, "t", 1);
  env.pass();
  ASSERT_EQ(env.scaler->bookings().size(), 1u);
  env.requests.clear();
  env.pass();
  EXPECT_TRUE(env.scaler->bookings().empty());
  EXPECT_EQ(env.controller->tracked(), 0u);
}

Result<ProvisioningRequestObject> decode(const std::string& text) {
  auto doc = kube::json::parse(text);
  if (!doc) return doc.error();
  return decodeProvisioningRequest(*doc);
}

TEST(ProvisioningRequestDecode, ReadsSpecAndStatus) {
  auto r = decode(R"({"metadata":{"name":"a","namespace":"team","uid":"u"},
    "spec":{"provisioningClassName":"best-effort-atomic-scale-up.autoscaling.x-k8s.io",
            "podSets":[{"podTemplateRef":{"name":"t"},"count":4}]},
    "status":{"conditions":[{"type":"Provisioned","status":"True","reason":"CapacityIsProvisioned",
      "message":"","lastTransitionTime":"2026-01-02T03:04:05Z"}],
      "provisioningClassDetails":{"spotfit.io/nodes":"a,b"}}})");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->className, kProvReqAtomicScaleUp);
  ASSERT_EQ(r->podSets.size(), 1u);
  EXPECT_EQ(r->podSets[0].second, 4);
  ASSERT_NE(r->condition("Provisioned"), nullptr);
  EXPECT_EQ(r->condition("Provisioned")->reason, "CapacityIsProvisioned");
  EXPECT_EQ(r->details.at("spotfit.io/nodes"), "a,b");
}

TEST(ProvisioningRequestDecode, RefusesWhatIsOutOfBounds) {
  auto spec = [](const std::string& sets) {
    return R"({"metadata":{"name":"a","namespace":"n"},"spec":{"provisioningClassName":"c","podSets":)" + sets + "}}";
  };
  std::string many = "[";
  for (int i = 0; i < 33; ++i) many += std::string(i ? "," : "") + R"({"podTemplateRef":{"name":"t"},"count":1})";
  many += "]";
  EXPECT_FALSE(decode(spec(many)).ok());
  EXPECT_FALSE(decode(spec(R"([{"podTemplateRef":{"name":"t"},"count":0}])")).ok());
  EXPECT_FALSE(decode(spec(R"([{"podTemplateRef":{"name":"t"},"count":2001}])")).ok());
  EXPECT_FALSE(
      decode(spec(R"([{"podTemplateRef":{"name":"t"},"count":1500},{"podTemplateRef":{"name":"u"},"count":600}])"))
          .ok());
  EXPECT_FALSE(decode(spec(R"([{"podTemplateRef":{},"count":1}])")).ok());
  EXPECT_FALSE(decode(spec(R"("x")")).ok());
  EXPECT_FALSE(decode(R"({"metadata":{"name":"a"}})").ok());  // no spec
  EXPECT_FALSE(decode("[]").ok());
}

TEST(ProvisioningRequestDecode, PodTemplateBecomesThePodItDescribes) {
  auto doc = kube::json::parse(R"({"metadata":{"name":"t","namespace":"team"},
    "template":{"metadata":{"labels":{"app":"x"},"annotations":{"spotfit.io/capacity":"spot"}},
      "spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"1500m","memory":"1Gi"}}}]}}})");
  ASSERT_TRUE(doc.ok());
  auto t = decodePodTemplate(*doc);
  ASSERT_TRUE(t.ok()) << t.error().message;
  EXPECT_EQ(t->meta.name, "t");
  EXPECT_EQ(placement::podRequests(t->pod).cpuMilli, 1500);
  EXPECT_EQ(t->pod.labels.at("app"), "x");
  auto bad = kube::json::parse(R"({"metadata":{"name":"t"},"template":{"spec":{"containers":"x"}}})");
  ASSERT_TRUE(bad.ok());
  EXPECT_FALSE(decodePodTemplate(*bad).ok());
}

}  // namespace
}  // namespace spotfit::scaler

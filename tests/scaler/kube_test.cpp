// The scaler's Kubernetes side against the fake API server over real sockets: the kwok provider, taints,
// evictions, events, NodePool status, the ConfigMap ledger store, the snapshot builder, and one
// reconcile loop from an unschedulable Pod object to a Ready Node object.

#include <gtest/gtest.h>

#include "kube/objects.hpp"
#include "kube/rest_client.hpp"
#include "scaler/duration.hpp"
#include "scaler/kube_actions.hpp"
#include "scaler/kube_snapshot.hpp"
#include "scaler/kwok_provider.hpp"
#include "scaler/planner.hpp"
#include "scaler/scaler.hpp"
#include "scaler/scaler_state.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using testsupport::FakeApiServer;

struct KubeEnv {
  FakeApiServer api;
  std::unique_ptr<kube::RestClient> client = kube::RestClient::create(api.clientConfig()).value();
  kube::ManualClock clock;
};

NodeRequest gpuRequest(const std::string& name, Duration readyDelay) {
  NodeRequest r;
  r.nodeName = name;
  r.pool = "gpu";
  r.instanceType = "g4dn.xlarge";
  r.capacityType = CapacityType::Spot;
  r.zone = "zone-a";
  r.cpuMilli = 4000;
  r.memoryBytes = 16LL << 30;
  r.pods = 29;
  r.extended["nvidia.com/gpu"] = 1;
  r.labels = {{"spotfit.io/node-pool", "gpu"},           {"node.kubernetes.io/instance-type", "g4dn.xlarge"},
              {"karpenter.sh/capacity-type", "spot"},    {"spotfit.io/capacity-type", "spot"},
              {"topology.kubernetes.io/zone", "zone-a"}, {"nvidia.com/gpu.product", "Tesla-T4"}};
  r.taints = {{"nvidia.com/gpu", "true", placement::TaintEffect::NoSchedule}};
  r.providerParams["readyDelay"] = formatDuration(readyDelay);
  return r;
}

// One list of every Node and Pod through the client into the builder: what the informers feed serve,
// without waiting for watch events.
Result<ClusterSnapshot> listSnapshot(KubeEnv& env, SnapshotBuilder& b) {
  kube::ListOptions o;
  o.limit = 500;
  auto nodes = env.client->listAll(kube::resources::kNodes, "", o, [&](const kube::json::Value& v) -> Status {
    if (auto n = kube::decodeNode(v)) b.addNode(*n);
    return {};
  });
  if (!nodes) return nodes.error();
  auto pods = env.client->listAll(kube::resources::kPods, "", o, [&](const kube::json::Value& v) -> Status {
    if (auto p = kube::decodePod(v)) b.addPod(*p);
    return {};
  });
  if (!pods) return pods.error();
  return b.take(env.clock.wallNow());
}

kube::Node storedNode(KubeEnv& env, const std::string& name) {
  auto text = env.api.object("nodes", "", name);
  EXPECT_TRUE(text.has_value());
  auto doc = kube::json::parse(*text);
  auto node = kube::decodeNode(*doc);
  EXPECT_TRUE(node.ok()) << (node.ok() ? "" : node.error().message);
  return *node;
}

TEST(KwokProvider, CreatesNodesThatTurnReadyAfterTheDelay) {
  KubeEnv env;
  KwokProvider kwok(*env.client, env.clock);
  auto created = kwok.create(gpuRequest("gpu-1", 5s));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->providerId, "kwok://gpu-1");
  auto node = storedNode(env, "gpu-1");
  EXPECT_EQ(node.ready, false);
  EXPECT_EQ(node.info.allocatable.cpuMilli, 4000);
  EXPECT_EQ(node.info.allocatable.memory, 16LL << 30);
  EXPECT_EQ(node.info.allocatable.get("nvidia.com/gpu"), 1);
  EXPECT_EQ(node.info.allocatable.pods, 29);
  EXPECT_EQ(node.info.capacityType, CapacityType::Spot);
  EXPECT_EQ(node.info.pool, "gpu");
  EXPECT_EQ(node.info.gpuProduct, "Tesla-T4");
  EXPECT_EQ(node.info.labels.at("topology.kubernetes.io/zone"), "zone-a");
  ASSERT_EQ(node.info.taints.size(), 1u);
  EXPECT_EQ(node.info.taints[0].key, "nvidia.com/gpu");
  kwok.poll(env.clock.wallNow() + 4s);
  EXPECT_EQ(storedNode(env, "gpu-1").ready, false);
  kwok.poll(env.clock.wallNow() + 5s);
  EXPECT_EQ(storedNode(env, "gpu-1").ready, true);
  EXPECT_EQ(kwok.pendingReady(), 0u);
  auto listed = kwok.list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].instanceType, "g4dn.xlarge");
  ASSERT_TRUE(kwok.remove({"gpu-1", "gpu", {}}).ok());
  ASSERT_TRUE(kwok.remove({"gpu-1", "gpu", {}}).ok());  // already gone
  EXPECT_EQ(env.api.count("nodes"), 0u);
}

TEST(KwokProvider, FaultKnobs) {
  KubeEnv env;
  KwokProvider kwok(*env.client, env.clock);
  kwok.setCapacityUnavailable("g4dn.xlarge", CapacityType::Spot, true);
  auto ice = kwok.create(gpuRequest("a", 0s));
  ASSERT_FALSE(ice.ok());
  EXPECT_EQ(providerErrorKind(ice.error()), ProviderErrorKind::InsufficientCapacity);
  kwok.setCapacityUnavailable("g4dn.xlarge", CapacityType::Spot, false);
  auto viaParams = gpuRequest("a", 0s);
  viaParams.providerParams["unavailableOfferings"] = "m5.large:spot, g4dn.xlarge:spot";
  EXPECT_EQ(providerErrorKind(kwok.create(viaParams).error()), ProviderErrorKind::InsufficientCapacity);
  ASSERT_TRUE(kwok.create(gpuRequest("a", 0s)).ok());
  EXPECT_EQ(storedNode(env, "a").ready, true);  // no delay: Ready at once
  auto dup = kwok.create(gpuRequest("a", 0s));
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(providerErrorKind(dup.error()), ProviderErrorKind::Other);
  ASSERT_TRUE(kwok.interrupt("a").ok());
  ASSERT_TRUE(kwok.interrupt("a").ok());
  auto node = storedNode(env, "a");
  ASSERT_EQ(node.info.taints.size(), 2u);
  EXPECT_EQ(node.info.taints[1].key, kKwokInterruptionTaint);
  EXPECT_FALSE(kwok.interrupt("missing").ok());
}

// After a failover the new leader's provider did not create the booting node; the ready-at annotation
// lets it mark the node Ready on the original schedule (else it would time out as not Ready and be removed).
TEST(KwokProvider, ANewInstanceMarksNodesOfThePreviousOneReadyOnTime) {
  KubeEnv env;
  {
    KwokProvider first(*env.client, env.clock);
    ASSERT_TRUE(first.create(gpuRequest("gpu-1", 10s)).ok());
    ASSERT_TRUE(first.create(gpuRequest("gpu-2", 0s)).ok());
  }
  auto stored = env.api.object("nodes", "", "gpu-1");
  ASSERT_TRUE(stored);
  EXPECT_NE(stored->find(kAnnotationKwokReadyAt), std::string::npos) << *stored;
  KwokProvider next(*env.client, env.clock);
  next.poll(env.clock.wallNow() + 5s);
  EXPECT_EQ(next.pendingReady(), 1u) << "gpu-2 is Ready already";
  EXPECT_EQ(storedNode(env, "gpu-1").ready, false);
  next.poll(env.clock.wallNow() + 10s);
  EXPECT_EQ(storedNode(env, "gpu-1").ready, true);
  EXPECT_EQ(next.pendingReady(), 0u);
  // A Ready node is not picked up again on the next resume.
  next.poll(env.clock.wallNow() + 10s + KwokProvider::kResumeEvery);
  EXPECT_EQ(next.pendingReady(), 0u);
}

TEST(KubeClusterActions, TaintsEvictsDeletesAndReports) {
  KubeEnv env;
  KwokProvider kwok(*env.client, env.clock);
  ASSERT_TRUE(kwok.create(gpuRequest("n1", 0s)).ok());
  KubeClusterActions actions(*env.client, env.clock);
  const placement::Taint t{kTaintDisrupting, "empty", placement::TaintEffect::NoSchedule};
  ASSERT_TRUE(actions.taintNode("n1", t).ok());
  ASSERT_TRUE(actions.taintNode("n1", t).ok());
  auto node = storedNode(env, "n1");
  ASSERT_EQ(node.info.taints.size(), 2u);
  EXPECT_EQ(node.info.taints[1].key, kTaintDisrupting);
  ASSERT_TRUE(actions.untaintNode("n1", kTaintDisrupting).ok());
  EXPECT_EQ(storedNode(env, "n1").info.taints.size(), 1u);
  EXPECT_TRUE(actions.untaintNode("gone", kTaintDisrupting).ok());
  EXPECT_FALSE(actions.taintNode("gone", t).ok());

  env.api.upsert("pods", R"({"metadata":{"name":"p1","namespace":"team"},"spec":{"nodeName":"n1","containers":[]}})");
  env.api.upsert("pods", R"({"metadata":{"name":"p2","namespace":"team"},"spec":{"nodeName":"n1","containers":[]}})");
  env.api.setEvictionHook([](const std::string&, const std::string& name) -> std::optional<std::string> {
    if (name == "p2") return std::string("Cannot evict pod as it would violate the pod's disruption budget.");
    return std::nullopt;
  });
  std::string msg;
  EXPECT_EQ(actions.evictPod("team", "p1", msg), EvictOutcome::Evicted);
  EXPECT_EQ(actions.evictPod("team", "p2", msg), EvictOutcome::Blocked);
  EXPECT_NE(msg.find("disruption budget"), std::string::npos);
  EXPECT_EQ(actions.evictPod("team", "p1", msg), EvictOutcome::Evicted);  // already gone

  ASSERT_TRUE(actions.deleteNode("n1").ok());
  ASSERT_TRUE(actions.deleteNode("n1").ok());
  EXPECT_EQ(env.api.count("nodes"), 0u);

  actions.event({"Node", "", "n1", ""}, "Normal", "Draining", "removing empty node");
  actions.event({"Node", "", "n1", ""}, "Normal", "Draining", "removing empty node");
  actions.event({"Pod", "team", "p2", "uid-2"}, "Warning", "EvictionBlocked", "PDB");
  auto events = env.api.objects("events");
  ASSERT_EQ(events.size(), 2u);
  bool aggregated = false;
  for (const auto& e : events) {
    auto doc = kube::json::parse(e);
    const auto& v = *doc;
    if (kube::json::view(v["reason"]) == "Draining") {
      aggregated = v["count"].GetInt64() == 2;
      EXPECT_EQ(kube::json::view(v["metadata"]["namespace"]), "default");
      EXPECT_EQ(kube::json::view(v["involvedObject"]["kind"]), "Node");
    } else {
      EXPECT_EQ(kube::json::view(v["metadata"]["namespace"]), "team");
      EXPECT_EQ(kube::json::view(v["involvedObject"]["uid"]), "uid-2");
    }
  }
  EXPECT_TRUE(aggregated);
}

TEST(KubeClusterActions, EventsAreRateLimited) {
  KubeEnv env;
  KubeClusterActions actions(*env.client, env.clock);
  for (int i = 0; i < 30; ++i) actions.event({"Node", "", "n" + std::to_string(i), ""}, "Normal", "X", "m");
  EXPECT_EQ(env.api.count("events"), 20u);
  EXPECT_EQ(actions.eventsDropped(), 10);
  env.clock.advance(1s);
  actions.event({"Node", "", "later", ""}, "Normal", "X", "m");
  EXPECT_EQ(env.api.count("events"), 21u);
}

TEST(KubeClusterActions, NodePoolStatusGoesToTheStatusSubresource) {
  KubeEnv env;
  env.api.upsert("spotfitpools",
                 R"({"apiVersion":"spotfit.io/v1alpha1","kind":"SpotfitPool","metadata":{"name":"p"},"spec":{}})");
  KubeClusterActions actions(*env.client, env.clock);
  ASSERT_TRUE(actions.updateNodePoolStatus("p", R"({"desiredNodes":3})").ok());
  auto stored = env.api.object("spotfitpools", "", "p");
  ASSERT_TRUE(stored);
  EXPECT_NE(stored->find(R"("desiredNodes":3)"), std::string::npos) << *stored;
  EXPECT_EQ(env.api.countRequests("PATCH", "/spotfitpools/p/status"), 1u);
  EXPECT_FALSE(actions.updateNodePoolStatus("missing", "{}").ok());
}

TEST(KubeClusterActions, PoolEventsNameTheSpotfitPoolObject) {
  KubeEnv env;
  KubeClusterActions actions(*env.client, env.clock);
  actions.event({"SpotfitPool", "", "batch", ""}, "Warning", "SpotCoolOff", "storm");
  auto events = env.api.objects("events");
  ASSERT_EQ(events.size(), 1u);
  auto doc = kube::json::parse(events[0]);
  const auto& v = *doc;
  EXPECT_EQ(kube::json::view(v["involvedObject"]["apiVersion"]), "spotfit.io/v1alpha1");
  EXPECT_EQ(kube::json::view(v["involvedObject"]["kind"]), "SpotfitPool");
  EXPECT_EQ(kube::json::view(v["involvedObject"]["name"]), "batch");
}

TEST(ConfigMapLedgerStore, RoundTripsThroughTheApi) {
  KubeEnv env;
  ConfigMapLedgerStore store(*env.client, "spotfit-system", "spotfit-cost-ledger");
  auto empty = store.load();
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  CostLedger l;
  l.podRunning("u", {"ns", "wf"}, 1.5, 2.0, env.clock.wallNow(), env.clock.wallNow());
  env.clock.advance(2h);
  l.accrue(env.clock.wallNow());
  ASSERT_TRUE(store.save(l.toJson()).ok());
  ASSERT_TRUE(store.save(l.toJson()).ok());  // second write patches the existing ConfigMap
  EXPECT_EQ(env.api.count("configmaps"), 1u);
  auto loaded = store.load();
  ASSERT_TRUE(loaded.ok() && loaded->has_value());
  auto back = CostLedger::fromJson(**loaded);
  ASSERT_TRUE(back.ok());
  EXPECT_NEAR(back->workflowSpend({"ns", "wf"}, env.clock.wallNow()), 3.0, 1e-9);
}

// The scaler's memory is a second key of the ledger's ConfigMap, written in the same patch; a ConfigMap
// written before it existed (ledger only) still loads, and the ledger stays readable on its own (the
// webhook and the extender read only "ledger.json").
TEST(ConfigMapLedgerStore, ScalerStateIsASecondKeyAndOldConfigMapsStayReadable) {
  KubeEnv env;
  env.api.upsert("configmaps", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"spotfit-cost-ledger",
      "namespace":"spotfit-system"},"data":{"ledger.json":
      "{\"version\":1,\"workflows\":[{\"namespace\":\"ml\",\"workflow\":\"train\",\"usd\":150}]}"}})");
  ConfigMapLedgerStore store(*env.client, "spotfit-system", "spotfit-cost-ledger");
  auto none = store.loadScalerState();
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
  auto old = store.load();
  ASSERT_TRUE(old.ok() && old->has_value());
  auto ledger = CostLedger::fromJson(**old);
  ASSERT_TRUE(ledger.ok()) << ledger.error().message;
  EXPECT_NEAR(ledger->workflowSpend({"ml", "train"}, env.clock.wallNow()), 150, 1e-9);

  ScalerMemory m;
  m.coolOffUntil["spot"] = env.clock.wallNow() + 30min;
  env.api.clearRequests();
  ASSERT_TRUE(store.saveWithScalerState(ledger->toJson(), m.toJson()).ok());
  EXPECT_EQ(env.api.countRequests("PATCH", "/configmaps/spotfit-cost-ledger"), 1u);
  auto state = store.loadScalerState();
  ASSERT_TRUE(state.ok() && state->has_value());
  auto back = ScalerMemory::fromJson(**state);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->coolOffUntil.at("spot"), env.clock.wallNow() + 30min);
  auto again = store.load();
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_TRUE(CostLedger::fromJson(**again).ok());
  // A ledger-only save (the old writer) leaves the memory in place.
  ASSERT_TRUE(store.save(ledger->toJson()).ok());
  state = store.loadScalerState();
  ASSERT_TRUE(state.ok() && state->has_value());
  // Without a ConfigMap, the combined write creates it with both keys.
  ConfigMapLedgerStore fresh(*env.client, "spotfit-system", "other-ledger");
  ASSERT_TRUE(fresh.saveWithScalerState(CostLedger().toJson(), m.toJson()).ok());
  auto created = env.api.object("configmaps", "spotfit-system", "other-ledger");
  ASSERT_TRUE(created);
  EXPECT_NE(created->find("scaler-state.json"), std::string::npos) << *created;
  EXPECT_NE(created->find("ledger.json"), std::string::npos) << *created;
}

TEST(SnapshotBuilder, DecodesNodesAndPodsAndKeepsFirstSeenTimes) {
  KubeEnv env;
  KwokProvider kwok(*env.client, env.clock);
  ASSERT_TRUE(kwok.create(gpuRequest("n1", 0s)).ok());
  env.api.upsert("pods", R"({"metadata":{"name":"run","namespace":"team","uid":"u-run",
      "creationTimestamp":"2020-01-01T00:00:00Z"},
      "spec":{"nodeName":"n1","containers":[{"name":"c","resources":{"requests":{"cpu":"1","memory":"1Gi"}}}]},
      "status":{"phase":"Running"}})");
  env.api.upsert("pods", R"({"metadata":{"name":"wait","namespace":"team","uid":"u-wait"},
      "spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"500m"}}}]},
      "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable"}]}})");
  SnapshotBuilder b;
  auto s = listSnapshot(env, b);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(s->nodes.size(), 1u);
  EXPECT_TRUE(s->nodes[0].ready);
  EXPECT_EQ(s->nodes[0].info.requested.cpuMilli, 1000);
  ASSERT_EQ(s->pods.size(), 2u);
  const ClusterPod* wait = s->pods[0].info.name == "wait" ? &s->pods[0] : &s->pods[1];
  const ClusterPod* run = s->pods[0].info.name == "run" ? &s->pods[0] : &s->pods[1];
  EXPECT_TRUE(wait->unschedulable);
  EXPECT_EQ(wait->unschedulableSince, env.clock.wallNow());
  EXPECT_EQ(run->boundAt, *base::parseTime("2020-01-01T00:00:00Z"));
  const auto first = env.clock.wallNow();
  env.clock.advance(1min);
  s = listSnapshot(env, b);
  ASSERT_TRUE(s.ok());
  wait = s->pods[0].info.name == "wait" ? &s->pods[0] : &s->pods[1];
  EXPECT_EQ(wait->unschedulableSince, first);
}

TEST(ScalerOverKube, UnschedulablePodToReadyKwokNode) {
  KubeEnv env;
  KwokProvider kwok(*env.client, env.clock);
  KubeClusterActions actions(*env.client, env.clock);
  ConfigMapLedgerStore store(*env.client, "spotfit-system", "spotfit-cost-ledger");
  PlacementPlanner planner;
  ScalerConfig cfg;
  NodePool pool;
  pool.name = "cpu";
  pool.capacityTypes = {CapacityType::Spot, CapacityType::OnDemand};
  InstanceType t;
  t.name = "m5.large";
  t.cpuMilli = 2000;
  t.memoryBytes = 8LL << 30;
  t.onDemandPrice = 0.096;
  t.spotPrice = 0.035;
  pool.instanceTypes = {t};
  pool.provider.type = "kwok";
  pool.provider.parameters["readyDelay"] = "3s";
  cfg.nodePools = {pool};
  Scaler scaler(
      cfg, env.clock, actions, planner, [&](const NodePool&) -> NodeProvider* { return &kwok; }, &store);
  env.api.upsert("pods", R"({"metadata":{"name":"job-1","namespace":"team","uid":"u1",
      "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"job","uid":"j","controller":true}]},
      "spec":{"containers":[{"name":"c","resources":{"requests":{"cpu":"1","memory":"1Gi"}}}]},
      "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable"}]}})");
  SnapshotBuilder b;
  int created = 0;
  for (int i = 0; i < 12; ++i) {  // 500 ms loops: batch closes at 1 s, node Ready at 4 s, seen at 4.5 s
    auto s = listSnapshot(env, b);
    ASSERT_TRUE(s.ok());
    created += scaler.reconcile(*s).nodesCreated;
    env.clock.advance(500ms);
  }
  EXPECT_EQ(created, 1);
  ASSERT_EQ(env.api.count("nodes"), 1u);
  auto stored = kube::decodeNode(*kube::json::parse(env.api.objects("nodes")[0]));
  ASSERT_TRUE(stored.ok());
  EXPECT_EQ(stored->ready, true);
  EXPECT_EQ(stored->info.capacityType, CapacityType::Spot);
  EXPECT_TRUE(scaler.inFlight().empty());
  bool triggered = false;
  for (const auto& e : env.api.objects("events"))
    triggered = triggered || e.find("TriggeredScaleUp") != std::string::npos;
  EXPECT_TRUE(triggered);
  EXPECT_EQ(env.api.count("configmaps"), 1u);  // the ledger was saved
}

}  // namespace
}  // namespace spotfit::scaler

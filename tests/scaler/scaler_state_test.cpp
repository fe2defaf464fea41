// The scaler's memory across a restart or failover: unavailable offerings, interruption history and
// on-demand cool-offs are saved next to the ledger and a new Scaler loading the same store keeps honouring
// them until their original (wall-clock) expiry, then forgets them. A corrupt stored state is ignored.

#include "scaler/scaler_state.hpp"

#include <gtest/gtest.h>

#include "scaler/duration.hpp"
#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

NodePool cpuPool() {
  return pool("cpu", {CapacityType::Spot, CapacityType::OnDemand}, {type("m5.large", 2000, 8, 0.096, 0.035)});
}

int64_t epochMs(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

// A new leader: a fresh Scaler over the same store and clock, loading what the last one saved.
void failover(Env& env) {
  env.start();
  ASSERT_TRUE(env.scaler->loadLedger().ok());
  auto st = env.scaler->loadScalerState();
  ASSERT_TRUE(st.ok()) << st.error().message;
}

size_t spotRequests(const Env& env) {
  size_t n = 0;
  for (const auto& r : env.provider.createRequests()) n += r.capacityType == CapacityType::Spot;
  return n;
}

TEST(ScalerMemory, RoundTripsWithWallClockTimes) {
  const TimePoint t = TimePoint{} + std::chrono::milliseconds(1'790'000'000'123);
  ScalerMemory m;
  m.unavailable.push_back({{"cpu", "m5.large", CapacityType::Spot, "zone-a"}, t + 3min, "no spot capacity"});
  m.unavailable.push_back({{"cpu", "", CapacityType::OnDemand, ""}, t + 30s, "quota"});
  m.interruptions.push_back({"cpu", "m5.large", "n1", t});
  m.coolOffUntil["cpu"] = t + 30min;
  m.lastScaleUp["cpu"] = t - 1min;
  const std::string json = m.toJson();
  EXPECT_NE(json.find("\"untilMs\":" + std::to_string(epochMs(t + 3min))), std::string::npos) << json;
  auto back = ScalerMemory::fromJson(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  ASSERT_EQ(back->unavailable.size(), 2u);
  EXPECT_EQ(back->unavailable[0].key, (OfferingKey{"cpu", "m5.large", CapacityType::Spot, "zone-a"}));
  EXPECT_EQ(back->unavailable[0].until, t + 3min);
  EXPECT_EQ(back->unavailable[0].reason, "no spot capacity");
  EXPECT_EQ(back->unavailable[1].key, (OfferingKey{"cpu", "", CapacityType::OnDemand, ""}));
  ASSERT_EQ(back->interruptions.size(), 1u);
  EXPECT_EQ(back->interruptions[0].node, "n1");
  EXPECT_EQ(back->interruptions[0].at, t);
  EXPECT_EQ(back->coolOffUntil.at("cpu"), t + 30min);
  EXPECT_EQ(back->lastScaleUp.at("cpu"), t - 1min);
  EXPECT_EQ(back->toJson(), json);
}

TEST(ScalerMemory, CorruptDocumentsAreRejectedWhole) {
  const char* bad[] = {
      "",
      "[]",
      "{\"version\":2}",
      "{}",
      "{\"version\":1,\"unavailableOfferings\":{}}",
      "{\"version\":1,\"unavailableOfferings\":[{\"pool\":\"cpu\",\"capacityType\":\"spot\"}]}",
      "{\"version\":1,\"unavailableOfferings\":[{\"pool\":\"cpu\",\"capacityType\":\"cheap\",\"untilMs\":1}]}",
      "{\"version\":1,\"unavailableOfferings\":[{\"pool\":\"cpu\",\"capacityType\":\"spot\",\"untilMs\":1,\"zone\":7}]"
      "}",
      "{\"version\":1,\"interruptions\":[{\"pool\":\"\",\"atMs\":1}]}",
      "{\"version\":1,\"interruptions\":[{\"pool\":\"cpu\",\"atMs\":\"soon\"}]}",
      "{\"version\":1,\"coolOffs\":[{\"pool\":\"cpu\"}]}",
      "{\"version\":1,\"coolOffs\":[{\"pool\":\"cpu\",\"untilMs\":1.5}]}",
      "{\"version\":1,\"scaleUps\":[{\"pool\":\"cpu\"}]}",
      "{\"version\":1,\"scaleUps\":{}}",
  };
  for (const char* doc : bad) {
    auto r = ScalerMemory::fromJson(doc);
    EXPECT_FALSE(r.ok()) << doc;
    if (!r.ok()) {
      EXPECT_EQ(r.error().message.rfind("scaler state: ", 0), 0u) << r.error().message;
    }
  }
  auto empty = ScalerMemory::fromJson("{\"version\":1}");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(InterruptionTracker, RestoreKeepsTimeOrderAndSkipsKnownAndExpiredRecords) {
  const TimePoint now = TimePoint{} + 1000h;
  InterruptionTracker t({10min, 3, 30min});
  t.restore({"p", "m5.large", "late", now - 1min}, now);
  t.restore({"p", "m5.large", "early", now - 8min}, now);
  t.restore({"p", "m5.large", "early", now - 8min}, now);  // already known
  t.restore({"p", "m5.large", "old", now - 11min}, now);   // outside the window
  EXPECT_EQ(t.count("p", now), 2);
  EXPECT_FALSE(t.inCoolOff("p", now)) << "restoring records never starts a cool-off by itself";
  EXPECT_FALSE(t.record("p", "m5.large", now, "late")) << "a node already counted is not counted twice";
  EXPECT_EQ(t.count("p", now), 2);
  EXPECT_TRUE(t.record("p", "m5.large", now, "third"));
  auto h = t.history(now);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].node, "early");
  EXPECT_EQ(h[2].node, "third");
  EXPECT_EQ(t.count("p", now + 3min), 2) << "the early record is pruned first";
}

TEST(ScalerFailover, UnavailableOfferingIsAvoidedUntilItsOriginalExpiry) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  env.provider.setCapacityUnavailable("m5.large", CapacityType::Spot, true);
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.reconcile();
  env.clock.advance(1s);
  const TimePoint failedAt = env.clock.wallNow();
  env.reconcile();  // spot fails, on-demand fallback in the same pass
  ASSERT_EQ(env.provider.createRequests().size(), 2u);
  ASSERT_EQ(env.provider.createRequests()[1].capacityType, CapacityType::OnDemand);
  // Saved at once, not only with the 30 s periodic flush.
  auto stored = env.store.loadScalerState();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_NE((*stored)->find("\"untilMs\":" + std::to_string(epochMs(failedAt + 3min))), std::string::npos) << **stored;
  env.cluster.materialize(env.provider);
  env.cluster.bind("a", env.provider.createRequests()[1].nodeName, env.clock.wallNow());

  // Spot capacity is back, but the new leader does not know that and must not retry the offering yet.
  env.provider.setCapacityUnavailable("m5.large", CapacityType::Spot, false);
  env.clock.advance(30s);
  failover(env);
  EXPECT_TRUE(
      env.scaler->unavailableOfferings().unavailable({"cpu", "m5.large", CapacityType::Spot, ""}, env.clock.wallNow()));
  EXPECT_TRUE(env.logged("state: restored 1 unavailable offering(s), 0 recent interruption(s), 0 spot cool-off(s)"));
  env.cluster.snapshot.pods.push_back(pendingPod("b", 1800, 512));  // does not fit next to "a"
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 3u);
  EXPECT_EQ(env.provider.createRequests()[2].capacityType, CapacityType::OnDemand);
  EXPECT_EQ(spotRequests(env), 1u) << "only the original failed attempt";
  env.cluster.materialize(env.provider);
  env.cluster.bind("b", env.provider.createRequests()[2].nodeName, env.clock.wallNow());

  // At the original expiry (3 minutes after the failure, not after the failover) spot is tried again.
  env.clock.set(failedAt + 3min);
  failover(env);  // and a leader starting after the expiry has nothing to avoid
  EXPECT_TRUE(env.scaler->unavailableOfferings().active(env.clock.wallNow()).empty());
  env.cluster.snapshot.pods.push_back(pendingPod("c", 1800, 512));
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 4u);
  EXPECT_EQ(env.provider.createRequests()[3].capacityType, CapacityType::Spot);
}

NodePool spotPool() {
  return pool("spot", {CapacityType::Spot, CapacityType::OnDemand}, {type("m5.large", 2000, 8, 0.096, 0.035)});
}

TEST(ScalerFailover, CoolOffLastsUntilItsOriginalEndAndInterruptionsAreNotCountedTwice) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.config.interruption = {10min, 2, 30min};
  env.start();
  for (const char* n : {"s1", "s2"}) env.cluster.addNode(spotPool(), n, CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("w1", 1500, 1024), "s1");
  env.runPod(pendingPod("w2", 1500, 1024), "s2");
  env.cluster.interruptionNotice("s1");
  env.reconcile();
  env.clock.advance(1min);
  env.cluster.interruptionNotice("s2");
  env.reconcile();
  const TimePoint coolOffEnd = env.clock.wallNow() + 30min;
  ASSERT_EQ(env.scaler->interruptions().coolOffUntil("spot", env.clock.wallNow()), coolOffEnd);

  // The new leader still sees both notice taints (the Nodes are not gone yet): they were counted already,
  // so neither the count nor the cool-off's end moves.
  env.clock.advance(5min);
  failover(env);
  EXPECT_TRUE(env.logged("state: restored 0 unavailable offering(s), 2 recent interruption(s), 1 spot cool-off(s)"));
  const size_t before = env.provider.createRequests().size();
  env.reconcile();  // handles both notices again: replacements for w1 and w2
  EXPECT_EQ(env.scaler->interruptions().count("spot", env.clock.wallNow()), 2);
  EXPECT_EQ(env.scaler->interruptions().coolOffUntil("spot", env.clock.wallNow()), coolOffEnd);
  const auto reqs = env.provider.createRequests();
  ASSERT_GT(reqs.size(), before);
  for (size_t i = before; i < reqs.size(); ++i) EXPECT_EQ(reqs[i].capacityType, CapacityType::OnDemand) << i;
  EXPECT_EQ(env.scaler->metrics().gauge(metric::kSpotCoolOff, {{"pool", "spot"}}), 1);
  for (const char* n : {"s1", "s2"}) env.cluster.removeNode(n);
  for (const char* p : {"w1", "w2"}) env.cluster.removePod(p);

  // A leader taking over just before the original end is still on-demand ...
  env.clock.set(coolOffEnd - 1s);
  failover(env);
  EXPECT_TRUE(env.scaler->interruptions().inCoolOff("spot", env.clock.wallNow()));
  // ... and one after it has forgotten the cool-off and launches spot again.
  env.clock.set(coolOffEnd);
  failover(env);
  EXPECT_FALSE(env.scaler->interruptions().inCoolOff("spot", env.clock.wallNow()));
  ScalerMemory left = env.scaler->memory(env.clock.wallNow());
  left.offeringRisk.clear();  // each offering's interruption history outlives the cool-off (24 h half-life)
  EXPECT_TRUE(left.empty());
  env.cluster.snapshot.pods.push_back(pendingPod("after", 1900, 1024));  // fits no node created so far
  env.closeBatch();
  EXPECT_EQ(env.provider.createRequests().back().capacityType, CapacityType::Spot);
}

// "No scale-down in the cool-down after a scale-up" holds across a failover: the new leader sees an empty
// pool node at once, but keeps it until 5 minutes after the previous leader's scale-up.
TEST(ScalerFailover, ScaleDownCoolDownAfterAScaleUpOutlivesTheLeader) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.reconcile();
  env.clock.advance(1s);
  const TimePoint scaledUpAt = env.clock.wallNow();
  ASSERT_EQ(env.reconcile().nodesCreated, 1);
  env.cluster.materialize(env.provider);
  env.cluster.bind("a", env.provider.createRequests()[0].nodeName, env.clock.wallNow());
  env.cluster.addNode(cpuPool(), "idle", CapacityType::OnDemand, env.clock.wallNow() - 1h);

  env.clock.advance(1min);
  failover(env);
  EXPECT_TRUE(env.logged("1 scale-down cool-down(s)"));
  while (env.clock.wallNow() < scaledUpAt + 5min - 1s) {
    env.reconcile();
    ASSERT_TRUE(env.actions.deletedNodes.empty())
        << "drained " << formatDuration(std::chrono::duration_cast<Duration>(env.clock.wallNow() - scaledUpAt))
        << " after the scale-up";
    env.clock.advance(10s);
  }
  EXPECT_NE(env.actions.find("ScaleDownBlocked"), nullptr);
  env.clock.set(scaledUpAt + 5min);
  EXPECT_EQ(env.reconcile().drainsStarted, 1);  // nothing to evict: drained and removed in this pass
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"idle"});
}

// A pool defined by a NodePool object arrives after the memory was loaded (its informer syncs later); it
// still gets the restored cool-down.
TEST(ScalerFailover, RestoredCoolDownReachesPoolObjectsSeenLater) {
  Env env;
  ScalerMemory m;
  m.lastScaleUp["cpu"] = env.clock.wallNow() - 1min;
  ASSERT_TRUE(env.store.saveWithScalerState(CostLedger().toJson(), m.toJson()).ok());
  failover(env);
  EXPECT_EQ(env.scaler->memory(env.clock.wallNow()).lastScaleUp.at("cpu"), env.clock.wallNow() - 1min)
      << "kept while the pool is unknown";
  ParsedNodePool parsed;
  parsed.pool = cpuPool();
  env.scaler->upsertPoolObject(parsed);
  env.cluster.addNode(cpuPool(), "idle", CapacityType::OnDemand, env.clock.wallNow() - 1h);
  env.reconcile();
  env.clock.advance(2min);  // empty for longer than consolidateAfter, still inside the cool-down
  env.reconcile();
  EXPECT_TRUE(env.actions.deletedNodes.empty());
  env.clock.advance(2min);
  env.reconcile();
  EXPECT_EQ(env.actions.deletedNodes, std::vector<std::string>{"idle"});
}

// Pre-warm leads (issue 18): the launch->Ready times a leader learned are stored with its memory, so the
// next leader pre-warms with the learned lead instead of scaler.prewarm.defaultLead.
TEST(ScalerFailover, LearnedPrewarmLeadsSurviveTheLeader) {
  Env env;
  env.config.nodePools = {cpuPool()};
  env.start();
  env.cluster.snapshot.pods.push_back(pendingPod("warmup", 1500, 1024));
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  env.clock.advance(20s);
  env.cluster.materialize(env.provider);
  env.reconcile();
  ASSERT_EQ(env.scaler->prewarmer().leads().p95("cpu", "m5.large"), Duration(20s));
  auto stored = env.store.loadScalerState();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_NE((*stored)->find(R"("launchLeads":[{"pool":"cpu","instanceType":"m5.large","ms":[20000]}])"),
            std::string::npos)
      << **stored;

  failover(env);
  EXPECT_EQ(env.scaler->prewarmer().leads().p95("cpu", "m5.large"), Duration(20s));
}

TEST(ScalerMemory, LaunchLeadsRoundTripBoundedAndRefusedWhenMalformed) {
  LaunchLeads leads;
  for (int i = 1; i <= 40; ++i) leads.observe("p", "t", std::chrono::seconds(i));
  for (size_t k = 0; k < ScalerMemory::kMaxStoredLeadKeys + 10; ++k) leads.observe("q" + std::to_string(k), "", 5s);
  leads.observe("p", "t", 41s);  // "p" is the most recently updated again
  ScalerMemory m;
  m.launchLeads = leads.latest(ScalerMemory::kMaxStoredLeadKeys, ScalerMemory::kMaxStoredLeadSamples);
  ASSERT_EQ(m.launchLeads.size(), ScalerMemory::kMaxStoredLeadKeys);
  ASSERT_EQ(m.launchLeads.at({"p", "t"}).size(), ScalerMemory::kMaxStoredLeadSamples);
  EXPECT_EQ(m.launchLeads.at({"p", "t"}).back(), Duration(41s));
  EXPECT_EQ(m.launchLeads.count({"q0", ""}), 0u) << "the least recently updated keys are left out";
  auto back = ScalerMemory::fromJson(m.toJson());
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->launchLeads, m.launchLeads);
  LaunchLeads restored;
  for (const auto& [key, samples] : back->launchLeads) restored.restore(key, samples);
  EXPECT_EQ(restored.p95("p", "t"), Duration(41s));  // the nearest-rank p95 of the 16 stored, 26 s .. 41 s
  for (const char* bad :
       {R"({"version":1,"launchLeads":{}})", R"({"version":1,"launchLeads":[{"pool":"p","ms":[-1]}]})",
        R"({"version":1,"launchLeads":[{"pool":"","ms":[1]}]})",
        R"({"version":1,"launchLeads":[{"pool":"p","ms":"1"}]})",
        R"({"version":1,"launchLeads":[{"pool":"p","ms":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17]}]})"}) {
    EXPECT_FALSE(ScalerMemory::fromJson(bad).ok()) << bad;
  }
}

TEST(ScalerFailover, CorruptStoredStateIsIgnoredAndScalingGoesOn) {
  Env env;
  env.config.nodePools = {cpuPool()};
  ASSERT_TRUE(env.store.saveWithScalerState(CostLedger().toJson(), "{\"version\":1,\"coolOffs\":[{\"pool\":7}]}").ok());
  env.start();
  ASSERT_TRUE(env.scaler->loadLedger().ok());
  auto st = env.scaler->loadScalerState();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("scaler state: malformed cool-off"), std::string::npos) << st.error().message;
  EXPECT_TRUE(env.scaler->memory(env.clock.wallNow()).empty());
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.provider.createRequests()[0].capacityType, CapacityType::Spot);
  // The next flush replaces the corrupt document with a readable one.
  ASSERT_TRUE(env.scaler->flushLedger().ok());
  auto stored = env.store.loadScalerState();
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_TRUE(ScalerMemory::fromJson(**stored).ok()) << **stored;
}

TEST(ScalerFailover, AStoreWithOnlyALedgerLoadsAnEmptyMemory) {
  Env env;
  env.config.nodePools = {cpuPool()};
  CostLedger l;
  l.podRunning("u", {"team", "wf"}, 1.0, 2.0, env.clock.wallNow() - 1h, env.clock.wallNow());
  ASSERT_TRUE(env.store.save(l.toJson()).ok());  // written before the scaler's memory existed
  failover(env);
  EXPECT_TRUE(env.scaler->memory(env.clock.wallNow()).empty());
  EXPECT_NEAR(env.scaler->workflowSpend("team", "wf"), 1.0, 1e-9);
}

}  // namespace
}  // namespace spotfit::scaler

#include "kube/informer.hpp"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "kube/rest_client.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::kube {
namespace {

using testsupport::FakeApiServer;
using testsupport::Fault;
using namespace std::chrono_literals;

std::string podJson(const std::string& ns, const std::string& name, const std::string& node = "",
                    const std::string& owner = "", const std::string& phase = "Running") {
  std::string owners = owner.empty() ? "[]"
                                     : R"([{"apiVersion":"batch/v1","kind":"Job","name":")" + owner + R"(","uid":"u-)" +
                                           owner + R"(","controller":true}])";
  return R"({"metadata":{"name":")" + name + R"(","namespace":")" + ns + R"(","ownerReferences":)" + owners +
         R"(},"spec":{"nodeName":")" + node +
         R"(","containers":[{"name":"c","resources":{"requests":{"cpu":"100m","memory":"64Mi"}}}]},"status":{"phase":")" +
         phase + R"("}})";
}

// Tracks what the handlers said, and fails on duplicates or events for unknown objects.
struct Recorder {
  std::mutex mu;
  std::map<std::string, std::string> live;  // key -> resourceVersion
  int adds = 0, updates = 0, deletes = 0;
  std::vector<std::string> problems;

  InformerHandlers<Pod> handlers() {
    InformerHandlers<Pod> h;
    h.onAdd = [this](const Pod& p) {
      std::lock_guard l(mu);
      ++adds;
      if (live.count(p.meta.key()) != 0) problems.push_back("duplicate add " + p.meta.key());
      live[p.meta.key()] = p.meta.resourceVersion;
    };
    h.onUpdate = [this](const Pod& o, const Pod& n) {
      std::lock_guard l(mu);
      ++updates;
      if (live.count(o.meta.key()) == 0) problems.push_back("update of unknown " + o.meta.key());
      live[n.meta.key()] = n.meta.resourceVersion;
    };
    h.onDelete = [this](const Pod& p) {
      std::lock_guard l(mu);
      ++deletes;
      if (live.erase(p.meta.key()) == 0) problems.push_back("delete of unknown " + p.meta.key());
    };
    return h;
  }
};

// The server's pods as key -> resourceVersion.
std::map<std::string, std::string> serverState(const FakeApiServer& api) {
  std::map<std::string, std::string> out;
  for (const auto& text : api.objects("pods")) {
    auto doc = json::parse(text, json::kApiServerLimits);
    auto pod = decodePod(*doc);
    out[pod->meta.key()] = pod->meta.resourceVersion;
  }
  return out;
}

std::map<std::string, std::string> storeState(const Store<Pod>& s) {
  std::map<std::string, std::string> out;
  s.forEach([&](const Pod& p) { out[p.meta.key()] = p.meta.resourceVersion; });
  return out;
}

template <typename Inf>
bool eventually(const Inf& inf, const std::function<bool()>& pred, std::chrono::seconds limit = 20s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (inf.waitUntil(pred, 20ms)) return true;
  }
  return pred();
}

struct InformerTest : ::testing::Test {
  FakeApiServer api;
  ManualClock clock{true};
  std::unique_ptr<RestClient> client;
  Recorder rec;

  void SetUp() override {
    RestClientOptions o;
    o.seed = 7;
    o.qps = 0;
    client = RestClient::create(api.clientConfig(), clock, o).value();
  }

  InformerOptions fastOptions() {
    InformerOptions o;
    o.seed = 3;
    o.pageSize = 50;
    o.watchIdleTimeout = 5s;
    o.backoffInitial = 10ms;
    o.backoffMax = 100ms;
    return o;
  }

  std::unique_ptr<Informer<Pod>> startPods(InformerOptions o) {
    auto inf = makePodInformer(*client, clock, o);
    inf->addHandler(rec.handlers());
    inf->start();
    EXPECT_TRUE(inf->waitForSync(20s));
    return inf;
  }

  bool converged(const Informer<Pod>& inf) {
    auto want = serverState(api);
    if (storeState(inf.store()) != want) return false;
    std::lock_guard l(rec.mu);
    return rec.live == want;
  }

  void expectClean() {
    std::lock_guard l(rec.mu);
    EXPECT_TRUE(rec.problems.empty()) << rec.problems.front();
  }
};

TEST_F(InformerTest, ListsThenWatchesAddsUpdatesDeletes) {
  for (int i = 0; i < 120; ++i)
    api.upsert("pods", podJson("ns" + std::to_string(i % 3), "p" + std::to_string(i), "n1"));
  auto inf = startPods(fastOptions());
  EXPECT_TRUE(inf->hasSynced());
  EXPECT_EQ(inf->state(), InformerState::Synced);
  EXPECT_EQ(inf->store().size(), 120u);
  ASSERT_TRUE(eventually(*inf, [&] { return api.activeWatches() == 1; }));
  EXPECT_EQ(api.countRequests("GET", "/api/v1/pods"), 3u + 1u);  // 3 pages of 50, then the watch

  api.upsert("pods", podJson("ns0", "new", "n2"));
  api.upsert("pods", podJson("ns0", "p0", "n2"));  // modified: moved to n2
  api.erase("pods", "ns1", "p1");
  ASSERT_TRUE(eventually(*inf, [&] { return converged(*inf); }));
  EXPECT_EQ(rec.adds, 121);
  EXPECT_EQ(rec.updates, 1);
  EXPECT_EQ(rec.deletes, 1);
  EXPECT_EQ(podsOnNode(inf->store(), "n2").size(), 2u);
  EXPECT_EQ(inf->store().byIndex(kIndexNamespace, "ns0").size(), 41u);
  EXPECT_EQ(inf->lists(), 1u);
  expectClean();
}

TEST_F(InformerTest, ResumesFromTheLastResourceVersionAfterDisconnects) {
  for (int i = 0; i < 10; ++i) api.upsert("pods", podJson("d", "p" + std::to_string(i)));
  auto inf = startPods(fastOptions());
  for (int round = 0; round < 5; ++round) {
    ASSERT_TRUE(eventually(*inf, [&] { return api.watchesOpened() == round + 1 && api.activeWatches() == 1; }));
    api.closeWatches();
    api.upsert("pods", podJson("d", "r" + std::to_string(round)));  // happens while disconnected
    api.erase("pods", "d", "p" + std::to_string(round));
  }
  ASSERT_TRUE(eventually(*inf, [&] { return converged(*inf); }));
  EXPECT_EQ(inf->lists(), 1u);  // no relist: every watch resumed from its resourceVersion
  EXPECT_GE(inf->watches(), 6u);
  EXPECT_EQ(rec.adds, 15);
  EXPECT_EQ(rec.deletes, 5);
  expectClean();
}

TEST_F(InformerTest, RelistsOnGoneAndDeliversTheDifference) {
  for (int i = 0; i < 10; ++i) api.upsert("pods", podJson("d", "p" + std::to_string(i)));
  auto inf = startPods(fastOptions());
  ASSERT_TRUE(eventually(*inf, [&] { return api.activeWatches() == 1; }));
  // Changes the informer misses, then the history it would need is compacted away. The next watch is
  // held back until that is done, so a fast reconnect cannot see the changes as ordinary events.
  Fault slowWatch;
  slowWatch.watch = true;
  slowWatch.delay = std::chrono::milliseconds(500);
  api.injectFault(slowWatch);
  api.closeWatches();
  api.erase("pods", "d", "p3");
  api.upsert("pods", podJson("d", "p4", "moved"));
  api.upsert("pods", podJson("d", "fresh"));
  api.compact();
  ASSERT_TRUE(eventually(*inf, [&] { return converged(*inf); }));
  EXPECT_EQ(inf->lists(), 2u);
  EXPECT_EQ(rec.deletes, 1);
  EXPECT_EQ(rec.adds, 11);
  EXPECT_EQ(rec.updates, 1);
  expectClean();
}

TEST_F(InformerTest, RelistsOnAGoneErrorEventInTheStream) {
  api.upsert("pods", podJson("d", "p0"));
  Fault f;
  f.watch = true;
  f.goneEvent = true;
  api.injectFault(f);
  auto inf = startPods(fastOptions());
  api.upsert("pods", podJson("d", "p1"));
  ASSERT_TRUE(eventually(*inf, [&] { return converged(*inf) && inf->lists() >= 2; }));
  expectClean();
}

TEST_F(InformerTest, RidesOutThrottlingServerErrorsSlownessAndMalformedFrames) {
  for (int i = 0; i < 30; ++i) api.upsert("pods", podJson("d", "p" + std::to_string(i)));
  Fault throttle;
  throttle.watch = false;
  throttle.status = 429;
  throttle.retryAfter = "2";
  throttle.times = 2;
  api.injectFault(throttle);
  Fault unavailable;
  unavailable.watch = true;
  unavailable.status = 503;
  unavailable.times = 3;
  api.injectFault(unavailable);
  Fault garbage;
  garbage.watch = true;
  garbage.malformedFrame = true;
  api.injectFault(garbage);
  Fault cut;
  cut.watch = true;
  cut.closeAfterEvents = 1;
  cut.times = 2;
  api.injectFault(cut);

  auto o = fastOptions();
  o.listTimeout = 500ms;
  auto inf = makePodInformer(*client, clock, o);
  inf->addHandler(rec.handlers());
  inf->start();
  // A slow LIST (past the list timeout) is abandoned and retried.
  ASSERT_TRUE(inf->waitForSync(20s));
  for (int i = 0; i < 20; ++i) {
    api.upsert("pods", podJson("d", "later" + std::to_string(i)));
    if (i % 4 == 0) api.erase("pods", "d", "p" + std::to_string(i));
  }
  ASSERT_TRUE(eventually(*inf, [&] { return converged(*inf); }));
  expectClean();
}

TEST_F(InformerTest, SlowListPastTheDeadlineIsRetried) {
  api.upsert("pods", podJson("d", "p0"));
  Fault slow;
  slow.watch = false;
  slow.delay = 3s;
  api.injectFault(slow);
  auto o = fastOptions();
  o.listTimeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto inf = startPods(o);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);  // did not wait for the slow answer
  EXPECT_EQ(inf->store().size(), 1u);
}

TEST_F(InformerTest, BookmarksAdvanceTheResourceVersion) {
  api.upsert("pods", podJson("d", "p0"));
  auto inf = startPods(fastOptions());
  ASSERT_TRUE(eventually(*inf, [&] { return api.activeWatches() == 1; }));
  api.upsert("configmaps", R"({"metadata":{"name":"c","namespace":"d"}})");  // bumps the global rv only
  std::string want = std::to_string(api.resourceVersion());
  api.sendBookmarks();
  ASSERT_TRUE(eventually(
      *inf, [&] { return inf->lastResourceVersion() == want; }, 10s));
  EXPECT_NE(api.requests().back().query.find("allowWatchBookmarks=true"), std::string::npos);
}

TEST_F(InformerTest, StopDoesNotHangOnAnIdleWatch) {
  auto inf = startPods(fastOptions());
  ASSERT_TRUE(eventually(*inf, [&] { return api.activeWatches() == 1; }));
  auto start = std::chrono::steady_clock::now();
  inf->stop();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  EXPECT_EQ(inf->state(), InformerState::Stopped);
}

TEST_F(InformerTest, ChaosConvergesWithoutDuplicatesOrLosses) {
  std::mt19937 rng(1234);
  for (int i = 0; i < 40; ++i) api.upsert("pods", podJson("d", "p" + std::to_string(i), "n" + std::to_string(i % 4)));
  auto inf = startPods(fastOptions());
  for (int step = 0; step < 300; ++step) {
    int action = static_cast<int>(rng() % 100);
    std::string name = "p" + std::to_string(rng() % 60);
    if (action < 45) {
      api.upsert("pods", podJson("d", name, "n" + std::to_string(rng() % 4)));
    } else if (action < 75) {
      api.erase("pods", "d", name);
    } else if (action < 82) {
      api.closeWatches();
    } else if (action < 85) {
      api.compact();
      api.closeWatches();
    } else if (action < 90) {
      Fault f;
      f.watch = true;
      f.status = rng() % 2 ? 500 : 429;
      api.injectFault(f);
      api.closeWatches();
    } else if (action < 93) {
      Fault f;
      f.watch = true;
      f.malformedFrame = true;
      api.injectFault(f);
      api.closeWatches();
    } else if (action < 96) {
      Fault f;
      f.watch = true;
      f.closeAfterEvents = static_cast<int>(rng() % 3);
      api.injectFault(f);
      api.closeWatches();
    } else {
      api.sendBookmarks();
    }
  }
  api.clearFaults();
  ASSERT_TRUE(eventually(
      *inf, [&] { return converged(*inf); }, 30s));
  expectClean();
  // Indexes agree with the store.
  size_t indexed = 0;
  for (int n = 0; n < 4; ++n) indexed += podsOnNode(inf->store(), "n" + std::to_string(n)).size();
  EXPECT_EQ(indexed, inf->store().size());
}

TEST_F(InformerTest, ResyncReplaysCachedObjectsAsUpdates) {
  ManualClock manual(false);
  auto c = RestClient::create(api.clientConfig(), manual).value();
  api.upsert("pods", podJson("d", "p0"));
  api.upsert("pods", podJson("d", "p1"));
  auto o = fastOptions();
  o.resyncPeriod = 30s;
  o.watchIdleTimeout = 100ms;  // wake up to look at the resync timer
  auto inf = makePodInformer(*c, manual, o);
  inf->addHandler(rec.handlers());
  inf->start();
  ASSERT_TRUE(inf->waitForSync(10s));
  EXPECT_EQ(rec.updates, 0);
  manual.advance(31s);
  // The idle watch read times out (100 ms real), the loop backs off on the manual clock...
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    {
      std::lock_guard l(rec.mu);
      if (rec.updates >= 2) break;
    }
    if (manual.sleepers() > 0) manual.advance(1s);
    std::this_thread::sleep_for(5ms);
  }
  std::lock_guard l(rec.mu);
  EXPECT_GE(rec.updates, 2);
}

TEST(VpaInformer, NotInstalledThenInstalled) {
  FakeApiServer api;
  ManualClock clock(false);
  auto client = RestClient::create(api.clientConfig(), clock).value();
  InformerOptions o;
  o.notInstalledRecheck = 60s;
  auto inf = makeVpaInformer(*client, clock, o);
  inf->start();
  EXPECT_FALSE(inf->waitForSync(10s));
  EXPECT_EQ(inf->state(), InformerState::NotInstalled);
  EXPECT_FALSE(inf->hasSynced());
  EXPECT_NE(inf->lastError().find("not installed"), std::string::npos);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (clock.sleepers() == 0 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  // No crash loop: one LIST, then it waits for the recheck period.
  EXPECT_EQ(api.countRequests("GET", "verticalpodautoscalers"), 1u);

  api.addVpaResource();
  api.upsert(
      "verticalpodautoscalers",
      R"({"metadata":{"name":"train-vpa","namespace":"ml"},"spec":{"targetRef":{"apiVersion":"batch/v1","kind":"Job","name":"train"}},
                 "status":{"recommendation":{"containerRecommendations":[{"containerName":"main","target":{"cpu":"1500m"}}]}}})");
  clock.advance(60s);
  ASSERT_TRUE(inf->waitUntil([&] { return inf->hasSynced(); }, 10s));
  EXPECT_EQ(inf->state(), InformerState::Synced);
  auto vpa = vpaForTarget(inf->store(), "ml", "Job", "train");
  ASSERT_NE(vpa, nullptr);
  EXPECT_EQ(milliOf(vpa->recommendationFor("main")->target, "cpu"), 1500);
  EXPECT_EQ(vpaForTarget(inf->store(), "ml", "Job", "other"), nullptr);
  EXPECT_EQ(vpaForTarget(inf->store(), "other", "Job", "train"), nullptr);
}

TEST_F(InformerTest, PodsByOwnerIndex) {
  api.upsert("pods", podJson("ml", "a-1", "", "a"));
  api.upsert("pods", podJson("ml", "a-2", "", "a"));
  api.upsert("pods", podJson("ml", "b-1", "", "b"));
  api.upsert("pods", podJson("other", "a-1", "", "a"));
  auto inf = startPods(fastOptions());
  EXPECT_EQ(podsOwnedBy(inf->store(), "ml", "Job", "a").size(), 2u);
  EXPECT_EQ(podsOwnedBy(inf->store(), "ml", "Job", "b").size(), 1u);
  EXPECT_EQ(podsOnNode(inf->store(), "").size(), 4u);  // unbound pods
  api.erase("pods", "ml", "a-1");
  ASSERT_TRUE(eventually(*inf, [&] { return podsOwnedBy(inf->store(), "ml", "Job", "a").size() == 1; }));
}

TEST(StoreTest, IndexesFollowUpdates) {
  Store<Pod> s;
  s.addIndex(std::string(kIndexNodeName), [](const Pod& p) { return std::vector<std::string>{p.nodeName}; });
  auto mk = [](std::string name, std::string node, std::string rv) {
    auto doc = json::parse(podJson("d", name, node));
    Pod p = decodePod(*doc).value();
    p.meta.resourceVersion = rv;
    return std::make_shared<const Pod>(std::move(p));
  };
  EXPECT_EQ(s.upsert(mk("a", "n1", "1")), nullptr);
  s.upsert(mk("b", "n1", "1"));
  EXPECT_EQ(s.byIndex(kIndexNodeName, "n1").size(), 2u);
  auto old = s.upsert(mk("a", "n2", "2"));
  ASSERT_NE(old, nullptr);
  EXPECT_EQ(old->nodeName, "n1");
  EXPECT_EQ(s.byIndex(kIndexNodeName, "n1").size(), 1u);
  EXPECT_EQ(s.byIndex(kIndexNodeName, "n2").size(), 1u);
  EXPECT_NE(s.erase("d/b"), nullptr);
  EXPECT_TRUE(s.byIndex(kIndexNodeName, "n1").empty());
  EXPECT_EQ(s.indexValues(kIndexNodeName), std::vector<std::string>{"n2"});
  EXPECT_EQ(s.byIndex(kIndexNamespace, "d").size(), 1u);
  EXPECT_EQ(s.erase("d/missing"), nullptr);
}

}  // namespace
}  // namespace spotfit::kube

namespace spotfit::kube {
namespace {

TEST(InformerDeadlines, AStalledWatchIsAbandonedAndResumed) {
  FakeApiServer api;
  ManualClock clock(true);
  RestClientOptions ro;
  ro.qps = 0;
  auto client = RestClient::create(api.clientConfig(), clock, ro).value();
  api.upsert("pods", podJson("d", "p0"));
  InformerOptions o;
  o.watchIdleTimeout = 150ms;  // the server sends nothing at all on this watch
  o.backoffInitial = 1ms;
  auto inf = makePodInformer(*client, clock, o);
  inf->start();
  ASSERT_TRUE(inf->waitForSync(10s));
  auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(inf->waitUntil([&] { return inf->watches() >= 3; }, 10s));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  EXPECT_EQ(inf->lists(), 1u);
  api.upsert("pods", podJson("d", "p1"));
  ASSERT_TRUE(inf->waitUntil([&] { return inf->store().size() == 2; }, 10s));
}

TEST(InformerDeadlines, WatchOpenHonoursItsTimeout) {
  FakeApiServer api;
  auto client = RestClient::create(api.clientConfig()).value();
  Fault slow;
  slow.watch = true;
  slow.delay = 5s;
  api.injectFault(slow);
  WatchOptions wo;
  wo.timeout = 200ms;
  auto start = std::chrono::steady_clock::now();
  auto w = client->watch(resources::kPods, "", wo);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.error().code, "deadline");
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

TEST(InformerDeadlines, WatchNextHonoursTheIdleTimeoutAndCancel) {
  FakeApiServer api;
  auto client = RestClient::create(api.clientConfig()).value();
  WatchOptions wo;
  wo.resourceVersion = std::to_string(api.resourceVersion());
  auto w = client->watch(resources::kPods, "", wo);
  ASSERT_TRUE(w.ok()) << w.error().message;
  auto ev = (*w)->next(100ms);
  ASSERT_FALSE(ev.ok());
  EXPECT_EQ(ev.error().code, "deadline");
  auto w2 = client->watch(resources::kPods, "", wo).value();
  std::thread canceller([&] {
    std::this_thread::sleep_for(50ms);
    w2->cancel();
  });
  auto start = std::chrono::steady_clock::now();
  auto ev2 = w2->next(10s);
  canceller.join();
  ASSERT_FALSE(ev2.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, 2s);
}

}  // namespace
}  // namespace spotfit::kube

namespace spotfit::kube {
namespace {

TEST(InformerDecodeErrors, UndecodableObjectsKeepTheirLastGoodStateUntilDeleted) {
  FakeApiServer api;
  ManualClock clock(true);
  RestClientOptions ro;
  ro.qps = 0;
  auto client = RestClient::create(api.clientConfig(), clock, ro).value();
  api.upsert("pods", podJson("d", "odd", "n1"));
  api.upsert("pods", podJson("d", "fine", "n1"));
  InformerOptions o;
  o.backoffInitial = 1ms;
  auto inf = makePodInformer(*client, clock, o);
  Recorder rec;
  inf->addHandler(rec.handlers());
  inf->start();
  ASSERT_TRUE(inf->waitForSync(10s));
  ASSERT_TRUE(eventually(*inf, [&] { return api.activeWatches() == 1; }));
  std::string bad = R"({"metadata":{"name":"odd","namespace":"d"},"spec":{"priority":"high"}})";
  api.upsert("pods", bad);
  ASSERT_TRUE(inf->waitUntil([&] { return inf->decodeErrors() == 1; }, 10s));
  ASSERT_NE(inf->store().get("d/odd"), nullptr);
  EXPECT_EQ(inf->store().get("d/odd")->nodeName, "n1");  // last good state
  // A relist that still cannot decode it does not report it deleted. The next watch is held back until
  // the change is compacted away, so a fast reconnect cannot see it as an ordinary event (no relist).
  Fault slowWatch;
  slowWatch.watch = true;
  slowWatch.delay = std::chrono::milliseconds(500);
  api.injectFault(slowWatch);
  api.closeWatches();
  api.upsert("pods", podJson("d", "other"));  // missed while disconnected...
  api.compact();                              // ...and compacted away: 410, relist
  ASSERT_TRUE(inf->waitUntil([&] { return inf->lists() == 2; }, 10s));
  EXPECT_NE(inf->store().get("d/odd"), nullptr);
  // Its deletion is applied even though the final state does not decode.
  api.erase("pods", "d", "odd");
  ASSERT_TRUE(inf->waitUntil([&] { return inf->store().get("d/odd") == nullptr; }, 10s));
  std::lock_guard l(rec.mu);
  EXPECT_EQ(rec.deletes, 1);
  EXPECT_TRUE(rec.problems.empty());
}

// Kubernetes accepts a pod with more labels than the webhook's member cap: the informer must still
// list and watch it (a refusal would wedge the informer for every pod).
TEST_F(InformerTest, PodsWithVeryManyLabelsAreListedAndWatched) {
  auto withLabels = [](const std::string& name, int n) {
    std::string pod = podJson("ns0", name, "n1");
    std::string labels = R"("labels":{)";
    for (int i = 0; i < n; ++i) labels += (i ? ",\"l" : "\"l") + std::to_string(i) + "\":\"v\"";
    pod.insert(pod.find(R"("namespace")"), labels + "},");
    return pod;
  };
  api.upsert("pods", withLabels("listed", 20000));
  auto inf = startPods(fastOptions());
  ASSERT_TRUE(eventually(*inf, [&] { return api.activeWatches() == 1; }));
  api.upsert("pods", withLabels("watched", 20000));
  ASSERT_TRUE(eventually(*inf, [&] { return converged(*inf); }));
  EXPECT_EQ(inf->store().size(), 2u);
  expectClean();
}

}  // namespace
}  // namespace spotfit::kube

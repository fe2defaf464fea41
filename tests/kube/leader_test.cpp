#include "kube/leader.hpp"

#include <gtest/gtest.h>

#include "kube/rest_client.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::kube {
namespace {

using testsupport::FakeApiServer;
using testsupport::Fault;
using namespace std::chrono_literals;

struct Candidate {
  std::unique_ptr<RestClient> client;
  std::unique_ptr<LeaderElector> elector;
};

struct LeaderTest : ::testing::Test {
  FakeApiServer api;
  ManualClock clock{false};

  Candidate make(const std::string& id, LeaderCallbacks cb = {}) {
    auto cfg = api.clientConfig();
    cfg.bearerToken = id;  // lets faults target one candidate
    RestClientOptions ro;
    ro.qps = 0;
    ro.retry.maxAttempts = 1;
    Candidate c;
    c.client = RestClient::create(cfg, clock, ro).value();
    LeaderElectionConfig le;
    le.leaseNamespace = "spotfit-system";
    le.leaseName = "spotfit-scaler";
    le.identity = id;
    c.elector = std::make_unique<LeaderElector>(*c.client, clock, le, std::move(cb));
    return c;
  }

  Lease lease() {
    auto text = api.object("leases", "spotfit-system", "spotfit-scaler");
    EXPECT_TRUE(text.has_value());
    auto doc = json::parse(*text);
    return decodeLease(*doc).value();
  }
};

TEST_F(LeaderTest, DefaultIdentityIsUniquePerCall) {
  std::string a = defaultIdentity();
  std::string b = defaultIdentity();
  EXPECT_FALSE(a.empty());
  EXPECT_NE(a, b);
  EXPECT_NE(a.find('_'), std::string::npos);
}

TEST_F(LeaderTest, DefaultsAreClientGos) {
  LeaderElectionConfig c;
  EXPECT_EQ(c.leaseDuration, 15s);
  EXPECT_EQ(c.renewDeadline, 10s);
  EXPECT_EQ(c.retryPeriod, 2s);
  c.leaseName = "l";
  c.leaseNamespace = "n";
  c.identity = "i";
  EXPECT_TRUE(validate(c).ok());
  c.renewDeadline = 20s;
  EXPECT_FALSE(validate(c).ok());
}

TEST_F(LeaderTest, OnlyOneCandidateHoldsTheLeaseUntilItExpires) {
  auto a = make("a");
  auto b = make("b");
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());  // creates the lease
  EXPECT_EQ(lease().holderIdentity, "a");
  EXPECT_EQ(lease().leaseDurationSeconds, 15);
  EXPECT_FALSE(b.elector->tryAcquireOrRenew());
  EXPECT_EQ(b.elector->observedLeader(), "a");
  clock.advance(10s);
  EXPECT_TRUE(a.elector->tryAcquireOrRenew());  // renewal: B sees the record change...
  clock.advance(1s);
  EXPECT_FALSE(b.elector->tryAcquireOrRenew());  // ...and restarts its expiry countdown
  clock.advance(14s);
  EXPECT_FALSE(b.elector->tryAcquireOrRenew());  // 14 s < 15 s since B saw the change
  clock.advance(2s);
  EXPECT_TRUE(b.elector->tryAcquireOrRenew());  // A stopped renewing: B takes over
  Lease l = lease();
  EXPECT_EQ(l.holderIdentity, "b");
  EXPECT_EQ(l.leaseTransitions, 1);
  EXPECT_FALSE(a.elector->tryAcquireOrRenew());  // A must not steal it back
}

TEST_F(LeaderTest, ReleaseHandsOverAtOnce) {
  auto a = make("a");
  auto b = make("b");
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  EXPECT_FALSE(b.elector->tryAcquireOrRenew());
  ASSERT_TRUE(a.elector->release().ok());
  EXPECT_EQ(lease().holderIdentity, "");
  EXPECT_TRUE(b.elector->tryAcquireOrRenew());
  EXPECT_EQ(lease().holderIdentity, "b");
}

TEST_F(LeaderTest, ConcurrentTakeoverOnlyOneWins) {
  auto a = make("a");
  auto b = make("b");
  auto c = make("c");
  ASSERT_TRUE(a.elector->tryAcquireOrRenew());
  EXPECT_FALSE(b.elector->tryAcquireOrRenew());
  EXPECT_FALSE(c.elector->tryAcquireOrRenew());
  clock.advance(16s);
  // Both see an expired lease; the resourceVersion precondition lets only one update succeed.
  bool bWon = false, cWon = false;
  std::thread tb([&] { bWon = b.elector->tryAcquireOrRenew(); });
  std::thread tc([&] { cWon = c.elector->tryAcquireOrRenew(); });
  tb.join();
  tc.join();
  EXPECT_NE(bWon, cWon);
  EXPECT_EQ(lease().holderIdentity, bWon ? "b" : "c");
}

// Drives the manual clock while the candidates' loops run on real threads: time moves only when every
// running election loop is parked in a sleep, so a loaded machine cannot make it race past a loop that
// is busy with a request.
template <typename Pred>
bool drive(ManualClock& clock, const std::atomic<int>& loops, Pred done, std::chrono::seconds limit = 20s) {
  auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    if (loops.load() > 0 && clock.sleepers() >= loops.load()) clock.advance(500ms);
    std::this_thread::sleep_for(200us);
  }
  return done();
}

TEST_F(LeaderTest, TwoCandidatesFailOverWithoutOverlapAndReleaseOnShutdown) {
  std::atomic<int> working{0}, maxWorking{0};
  std::atomic<int> aStarted{0}, aStopped{0}, bStarted{0};
  auto work = [&](std::atomic<int>& started) {
    return [&](std::stop_token st) {
      ++started;
      int now = ++working;
      int prev = maxWorking.load();
      while (now > prev && !maxWorking.compare_exchange_weak(prev, now)) {
      }
      std::mutex m;
      std::condition_variable_any cv;
      std::unique_lock lock(m);
      cv.wait(lock, st, [] { return false; });
      --working;
    };
  };
  LeaderCallbacks ca;
  ca.onStartedLeading = work(aStarted);
  ca.onStoppedLeading = [&] { ++aStopped; };
  LeaderCallbacks cb;
  cb.onStartedLeading = work(bStarted);
  auto a = make("a", ca);
  auto b = make("b", cb);

  std::atomic<int> loops{2};
  std::jthread ta([&](std::stop_token st) {
    a.elector->run(st);
    --loops;
  });
  std::atomic<int> onlyA{1};
  ASSERT_TRUE(drive(clock, onlyA, [&] { return a.elector->isLeader() && aStarted == 1; }));
  std::jthread tb([&](std::stop_token st) {
    b.elector->run(st);
    --loops;
  });
  ASSERT_TRUE(drive(clock, loops, [&] { return b.elector->observedLeader() == "a"; }));

  // A loses the API server: it must stop working within the renew deadline, and B takes over only
  // after the lease expires.
  Fault cut;
  cut.authorization = "Bearer a";
  cut.status = 503;
  cut.times = -1;
  api.injectFault(cut);
  ASSERT_TRUE(drive(
      clock, loops, [&] { return aStopped == 1 && b.elector->isLeader() && bStarted == 1; }, 30s));
  EXPECT_FALSE(a.elector->isLeader());
  EXPECT_EQ(maxWorking.load(), 1);
  EXPECT_EQ(lease().holderIdentity, "b");
  EXPECT_EQ(lease().leaseTransitions, 1);
  ta.request_stop();
  ta.join();

  // Shutting B down releases the lease.
  tb.request_stop();
  tb.join();
  EXPECT_FALSE(b.elector->isLeader());
  EXPECT_EQ(working.load(), 0);
  EXPECT_EQ(lease().holderIdentity, "");
  EXPECT_EQ(lease().leaseDurationSeconds, 1);
}

}  // namespace
}  // namespace spotfit::kube

// The webhook's cost-ledger re-read: at start, then every configured interval on the injected clock.
#include "kube/periodic_refresh.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "webhook/config.hpp"

namespace spotfit::webhook {
namespace {

using kube::PeriodicRefresh;

using namespace std::chrono_literals;

class PeriodicRefreshTest : public ::testing::Test {
 protected:
  // A refresh that counts its reads; `failFirst` makes the first read fail.
  std::function<Status()> countReads(bool failFirst = false) {
    return [this, failFirst]() -> Status {
      if (++reads_ == 1 && failFirst)
        return makeError("unavailable", "configmaps \"spotfit-cost-ledger\" is forbidden");
      return {};
    };
  }

  // Waits (real time, bounded: the loop runs on its own thread) until `n` reads are done and the loop is
  // parked in the clock's sleep.
  bool parkedAfter(int n) const {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (reads_ != n || clock_.sleepers() != 1) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(1ms);
    }
    return true;
  }

  // Moves the clock just short of `interval` and checks that no read happens.
  void expectNoReadBefore(std::chrono::milliseconds interval) {
    int before = reads_;
    clock_.advance(interval - 1ms);
    std::this_thread::sleep_for(20ms);
    EXPECT_EQ(reads_, before);
    clock_.advance(1ms);
  }

  kube::ManualClock clock_;
  std::atomic<int> reads_{0};
};

TEST_F(PeriodicRefreshTest, ReadsAtStartThenEveryConfiguredInterval) {
  auto cfg = parseWebhookConfigText("webhook:\n  budgets:\n    refresh: 2s\n");
  ASSERT_TRUE(cfg) << cfg.error().message;
  PeriodicRefresh refresh(clock_, cfg->budgets.refresh, countReads(), nullptr);
  EXPECT_EQ(refresh.interval(), 2s);
  refresh.start();
  ASSERT_TRUE(parkedAfter(1));
  expectNoReadBefore(2s);  // the configured 2 s, not a fixed 30 s
  ASSERT_TRUE(parkedAfter(2));
  clock_.advance(2s);
  ASSERT_TRUE(parkedAfter(3));
  refresh.stop();
  EXPECT_EQ(reads_, 3);
  EXPECT_EQ(clock_.slept(), 4s);
}

TEST_F(PeriodicRefreshTest, DefaultIntervalIsThirtySeconds) {
  auto cfg = parseWebhookConfigText("");
  ASSERT_TRUE(cfg);
  PeriodicRefresh refresh(clock_, cfg->budgets.refresh, countReads(), nullptr);
  refresh.start();
  ASSERT_TRUE(parkedAfter(1));
  expectNoReadBefore(30s);
  ASSERT_TRUE(parkedAfter(2));
}

TEST_F(PeriodicRefreshTest, FailedReadsAreReportedAndTheLoopGoesOn) {
  std::mutex mu;
  std::vector<std::string> errors;
  PeriodicRefresh refresh(clock_, 1s, countReads(/*failFirst=*/true), [&](const Error& e) {
    std::lock_guard lock(mu);
    errors.push_back(e.message);
  });
  refresh.start();
  ASSERT_TRUE(parkedAfter(1));
  clock_.advance(1s);
  ASSERT_TRUE(parkedAfter(2));
  refresh.stop();
  std::lock_guard lock(mu);
  EXPECT_EQ(errors, std::vector<std::string>{"configmaps \"spotfit-cost-ledger\" is forbidden"});
}

TEST_F(PeriodicRefreshTest, StopWakesASleepingLoopAndIsIdempotent) {
  {
    PeriodicRefresh refresh(clock_, 1h, countReads(), nullptr);
    refresh.stop();  // never started
    refresh.start();
    refresh.start();  // no second thread
    ASSERT_TRUE(parkedAfter(1));
    refresh.stop();
    refresh.stop();
    EXPECT_EQ(clock_.sleepers(), 0);
  }  // the destructor after stop() is fine too
  EXPECT_EQ(reads_, 1);
}

}  // namespace
}  // namespace spotfit::webhook

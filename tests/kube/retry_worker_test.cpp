#include "kube/retry_worker.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>

namespace spotfit::kube {
namespace {

using namespace std::chrono_literals;

// Counts passes and lets a test wait (with a generous deadline, not a timing assertion) for the n-th.
struct Passes {
  std::mutex mu;
  std::condition_variable cv;
  int count = 0;
  void run() {
    std::lock_guard g(mu);
    ++count;
    cv.notify_all();
  }
  bool waitFor(int n) {
    std::unique_lock l(mu);
    return cv.wait_for(l, 30s, [&] { return count >= n; });
  }
};

TEST(RetryWorker, KickRunsAPassPromptlyEvenWithALongRetry) {
  Passes passes;
  RetryWorker w([&] { passes.run(); }, [] { return true; });
  w.start(1h);
  w.kick();
  EXPECT_TRUE(passes.waitFor(1));
  w.stop();
}

TEST(RetryWorker, RetriesWhileWorkRemainsAndStopsRetryingWhenDone) {
  Passes passes;
  std::atomic<int> remaining{3};
  RetryWorker w(
      [&] {
        --remaining;
        passes.run();
      },
      [&] { return remaining.load() > 0; });
  w.start(1ms);
  // No kick: the retry timer alone drains the three failures.
  EXPECT_TRUE(passes.waitFor(3));
  w.stop();
  EXPECT_EQ(passes.count, 3);  // hasWork false after the third: no fourth pass
}

TEST(RetryWorker, NoPassWithoutWorkAndStopIsIdempotent) {
  Passes passes;
  std::atomic<int> asked{0};
  RetryWorker w([&] { passes.run(); },
                [&] {
                  ++asked;
                  return false;
                });
  w.start(1h);
  w.kick();
  while (asked.load() == 0) std::this_thread::yield();
  w.stop();
  w.stop();
  EXPECT_EQ(passes.count, 0);
}

}  // namespace
}  // namespace spotfit::kube

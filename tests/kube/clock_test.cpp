#include "kube/clock.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "base/time.hpp"

namespace spotfit::kube {
namespace {

using namespace std::chrono_literals;

// Waits (bounded, on real time: the sleeper is a real thread) until `n` threads are parked in sleepFor.
bool waitForSleepers(const ManualClock& clock, int n) {
  const auto end = std::chrono::steady_clock::now() + 20s;
  while (clock.sleepers() < n) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::yield();
  }
  return true;
}

TEST(ManualClock, SteadyAndWallTimeMoveTogether) {
  ManualClock clock;
  EXPECT_EQ(base::formatTime(clock.wallNow()), "2024-05-01T01:00:00Z");
  const auto steady0 = clock.now();
  const auto wall0 = clock.wallNow();
  clock.advance(90s);
  clock.advance(1500ms);
  EXPECT_EQ(clock.now() - steady0, 91500ms);
  EXPECT_EQ(clock.wallNow() - wall0, 91500ms);
  clock.advance(-1h);  // steady time never goes backwards
  EXPECT_EQ(clock.now() - steady0, 91500ms);
  EXPECT_EQ(clock.wallNow() - wall0, 91500ms);
}

TEST(ManualClock, StartsAtAChosenWallTimeAndSetsIt) {
  const auto start = Clock::WallTimePoint{} + 1000h;
  ManualClock clock(start);
  EXPECT_EQ(clock.wallNow(), start);
  const auto steady0 = clock.now();

  clock.set(start + 10s);  // forward: both clocks move
  EXPECT_EQ(clock.wallNow(), start + 10s);
  EXPECT_EQ(clock.now() - steady0, 10s);

  clock.set(start + 9s);  // back: the wall clock steps, steady time stays
  EXPECT_EQ(clock.wallNow(), start + 9s);
  EXPECT_EQ(clock.now() - steady0, 10s);

  clock.advance(2s);
  EXPECT_EQ(clock.wallNow(), start + 11s);
  EXPECT_EQ(clock.now() - steady0, 12s);
}

TEST(ManualClock, SleepersWakeWhenTimePassesTheirDeadline) {
  ManualClock clock;
  const auto steady0 = clock.now();
  std::atomic<int> woke{0};
  std::jthread sleeper([&](std::stop_token st) { woke = clock.sleepFor(10s, st) ? 1 : -1; });
  ASSERT_TRUE(waitForSleepers(clock, 1));
  clock.advance(9s);
  EXPECT_EQ(woke.load(), 0);
  EXPECT_EQ(clock.sleepers(), 1);
  clock.set(clock.wallNow() + 1s);  // set() wakes sleepers like advance() does
  sleeper.join();
  EXPECT_EQ(woke.load(), 1);
  EXPECT_EQ(clock.sleepers(), 0);
  EXPECT_EQ(clock.slept(), 10s);
  EXPECT_EQ(clock.now() - steady0, 10s);
}

TEST(ManualClock, StopEndsASleepWithoutMovingTime) {
  ManualClock clock;
  const auto steady0 = clock.now();
  std::atomic<int> woke{0};
  std::jthread sleeper([&](std::stop_token st) { woke = clock.sleepFor(1h, st) ? 1 : -1; });
  ASSERT_TRUE(waitForSleepers(clock, 1));
  sleeper.request_stop();
  sleeper.join();
  EXPECT_EQ(woke.load(), -1);
  EXPECT_EQ(clock.now(), steady0);
  EXPECT_EQ(clock.slept(), 0s);

  std::stop_source stopped;
  stopped.request_stop();
  EXPECT_FALSE(clock.sleepFor(1s, stopped.get_token()));
}

TEST(ManualClock, AutoAdvanceSleepsMoveBothClocksAtOnce) {
  ManualClock clock(Clock::WallTimePoint{} + 24h, true);
  const auto steady0 = clock.now();
  EXPECT_TRUE(clock.sleepFor(3s, {}));
  EXPECT_TRUE(clock.sleepFor(250ms, {}));
  EXPECT_EQ(clock.now() - steady0, 3250ms);
  EXPECT_EQ(clock.wallNow(), Clock::WallTimePoint{} + 24h + 3250ms);
  EXPECT_EQ(clock.slept(), 3250ms);
}

}  // namespace
}  // namespace spotfit::kube

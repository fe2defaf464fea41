#include "profile/profile.hpp"

#include <gtest/gtest.h>

namespace spotfit::profile {
namespace {

constexpr int64_t kMi = int64_t{1} << 20;

ContainerObservation usage(int64_t cpu, int64_t memory) {
  ContainerObservation c;
  c.name = "main";
  c.peakCpuMilli = cpu;
  c.peakMemoryBytes = memory;
  c.requestCpuMilli = 2000;
  c.requestMemoryBytes = 4096 * kMi;
  return c;
}

void runs(ProfileBook& book, const ProfileKey& key, int n, int64_t cpu, int64_t memory) {
  for (int i = 0; i < n; ++i) {
    book.recordPod(key, {usage(cpu, memory)}, 100 + i);
    book.recordRun(key, RunObservation{100 + i * 60, 130 + i * 60, 1, 1}, 130 + i * 60);
  }
}

TEST(Ring, KeepsTheLastValuesOldestFirst) {
  Ring r;
  for (int64_t i = 1; i <= static_cast<int64_t>(kRing) + 3; ++i) r.push(i);
  ASSERT_EQ(r.size(), kRing);
  const auto v = r.values();
  EXPECT_EQ(v.front(), 4);
  EXPECT_EQ(v.back(), static_cast<int64_t>(kRing) + 3);
  EXPECT_EQ(r.max(), static_cast<int64_t>(kRing) + 3);
}

TEST(Ring, NearestRankQuantile) {
  Ring r;
  for (int64_t v : {10, 20, 30, 40, 50, 60, 70, 80, 90, 100}) r.push(v);
  EXPECT_EQ(r.quantile(0.95), 100);
  EXPECT_EQ(r.quantile(0.5), 50);
  EXPECT_EQ(r.quantile(0.0), 10);
  EXPECT_EQ(Ring{}.quantile(0.95), 0);
}

TEST(ProfileBook, RecordsRunsAndPods) {
  ProfileBook book;
  const ProfileKey key{"team-a", "nightly"};
  book.recordRun(key, RunObservation{1000, 1600, 4, 3}, 1600);
  book.recordPod(key, {usage(300, 512 * kMi)}, 1600);
  const WorkflowProfile* p = book.find(key);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->runs, 1);
  EXPECT_EQ(p->durationSeconds.values(), std::vector<int64_t>{600});
  EXPECT_EQ(p->pods.values(), std::vector<int64_t>{4});
  EXPECT_EQ(p->peakConcurrency.values(), std::vector<int64_t>{3});
  EXPECT_EQ(p->arrivals.values(), std::vector<int64_t>{1000});
  ASSERT_NE(p->container("main"), nullptr);
  EXPECT_EQ(p->container("main")->requestCpuMilli, 2000);
  EXPECT_EQ(p->lastSeen, 1600);
}

TEST(ProfileBook, BoundsProfilesContainersAndNames) {
  ProfileBook book(ProfileLimits{3, 2, 20});
  for (int i = 0; i < 5; ++i) book.recordRun({"ns", "wf" + std::to_string(i)}, RunObservation{0, 1, 1, 1}, i);
  EXPECT_EQ(book.size(), 3u);
  EXPECT_EQ(book.find({"ns", "wf0"}), nullptr);  // least recently seen go first
  EXPECT_NE(book.find({"ns", "wf4"}), nullptr);
  std::vector<ContainerObservation> many;
  for (int i = 0; i < 5; ++i) {
    auto c = usage(1, 1);
    c.name = "c" + std::to_string(i);
    many.push_back(c);
  }
  ASSERT_TRUE(book.recordPod({"ns", "wf4"}, many, 10));
  EXPECT_EQ(book.find({"ns", "wf4"})->containers.size(), 2u);
  EXPECT_FALSE(book.recordRun({"ns", std::string(21, 'x')}, RunObservation{}, 11));
  EXPECT_FALSE(book.recordRun({"", "wf"}, RunObservation{}, 11));
  EXPECT_EQ(book.size(), 3u);
}

TEST(Recommend, NothingBeforeMinRuns) {
  ProfileBook book;
  const ProfileKey key{"ns", "wf"};
  runs(book, key, 2, 500, 1000 * kMi);
  EXPECT_TRUE(recommend(*book.find(key), RightSizeConfig{}).empty());
  runs(book, key, 1, 500, 1000 * kMi);
  EXPECT_EQ(recommend(*book.find(key), RightSizeConfig{}).size(), 1u);
}

TEST(Recommend, UsageTimesHeadroom) {
  ProfileBook book;
  const ProfileKey key{"ns", "wf"};
  runs(book, key, 3, 500, 1000 * kMi);
  const auto r = recommend(*book.find(key), RightSizeConfig{});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].name, "main");
  EXPECT_EQ(r[0].cpuMilli, 600);
  EXPECT_EQ(r[0].memoryBytes, 1200 * kMi);
}

TEST(Recommend, CpuIsTheQuantileMemoryThePeak) {
  ProfileBook book;
  const ProfileKey key{"ns", "wf"};
  for (int i = 1; i <= 10; ++i) book.recordPod(key, {usage(100 * i, 100 * i * kMi)}, i);
  runs(book, key, 3, 0, 0);
  RightSizeConfig cfg;
  cfg.headroom = 1.0;
  cfg.cpuQuantile = 0.5;
  const auto r = recommend(*book.find(key), cfg);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].cpuMilli, 500);
  EXPECT_EQ(r[0].memoryBytes, 1000 * kMi);
}

TEST(Recommend, ClampedToMinAndMax) {
  ProfileBook book;
  const ProfileKey key{"ns", "wf"};
  runs(book, key, 3, 1, 1);
  RightSizeConfig cfg;
  auto r = recommend(*book.find(key), cfg);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].cpuMilli, cfg.minCpuMilli);
  EXPECT_EQ(r[0].memoryBytes, cfg.minMemoryBytes);
  runs(book, key, 3, 900000, int64_t{900} << 30);
  r = recommend(*book.find(key), cfg);
  EXPECT_EQ(r[0].cpuMilli, cfg.maxCpuMilli);
  EXPECT_EQ(r[0].memoryBytes, cfg.maxMemoryBytes);
}

TEST(Recommend, AnOomRaisesMemoryForTheNextRun) {
  ProfileBook book;
  const ProfileKey key{"ns", "wf"};
  runs(book, key, 3, 500, 1000 * kMi);
  auto killed = usage(500, 0);  // no usage sample caught the spike
  killed.oomKilled = true;
  killed.memoryLimitBytes = 2000 * kMi;
  book.recordPod(key, {killed}, 500);
  const WorkflowProfile* p = book.find(key);
  EXPECT_EQ(p->oomKills, 1);
  auto r = recommend(*p, RightSizeConfig{});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].memoryBytes, 2400 * kMi);  // above the 2000 Mi it was killed at, not 1200 Mi from usage
  // Even a maximum below the kill does not bring it back under.
  RightSizeConfig capped;
  capped.maxMemoryBytes = 1024 * kMi;
  EXPECT_EQ(recommend(*p, capped)[0].memoryBytes, 2400 * kMi);
}

TEST(Recommend, OomWithoutUsageStillRaisesMemory) {
  ProfileBook book;
  const ProfileKey key{"ns", "wf"};
  runs(book, key, 3, 0, 0);
  EXPECT_TRUE(recommend(*book.find(key), RightSizeConfig{}).empty());  // no usage source: nothing to say
  auto killed = usage(0, 0);
  killed.oomKilled = true;
  killed.memoryLimitBytes = 1000 * kMi;
  book.recordPod(key, {killed}, 500);
  const auto r = recommend(*book.find(key), RightSizeConfig{});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_FALSE(r[0].cpuMilli);
  EXPECT_EQ(r[0].memoryBytes, 1200 * kMi);
}

}  // namespace
}  // namespace spotfit::profile

#include "profile/learner.hpp"

#include <gtest/gtest.h>

namespace spotfit::profile {
namespace {

constexpr int64_t kMi = int64_t{1} << 20;
const ProfileKey kKey{"data", "nightly"};

PodObservation pod(const std::string& uid, int64_t start, int64_t end, bool oom = false) {
  PodObservation p;
  p.uid = uid;
  p.key = kKey;
  p.run = "job-1";
  ContainerObservation c;
  c.name = "main";
  c.requestCpuMilli = 2000;
  c.requestMemoryBytes = 4096 * kMi;
  c.memoryLimitBytes = 4096 * kMi;
  c.oomKilled = oom;
  p.containers = {c};
  p.start = start;
  p.end = end;
  return p;
}

TEST(PeakConcurrency, CountsOverlapsAndTouchingIntervalsDoNotOverlap) {
  EXPECT_EQ(peakConcurrency({}), 0);
  EXPECT_EQ(peakConcurrency({{0, 10}, {5, 15}, {8, 9}}), 3);
  EXPECT_EQ(peakConcurrency({{0, 10}, {10, 20}}), 1);
  EXPECT_EQ(peakConcurrency({{5, 5}}), 0);
}

TEST(ProfileLearner, RecordsAFinishedPodWithItsUsagePeaksOnce) {
  ProfileBook book;
  ProfileLearner learner(book);
  learner.observePod(pod("p1", 100, 0), 100);
  learner.observeUsage("p1", "main", 300, 800 * kMi);
  learner.observeUsage("p1", "main", 500, 700 * kMi);
  learner.observeUsage("unknown", "main", 9000, 9000 * kMi);
  EXPECT_EQ(book.find(kKey), nullptr) << "nothing learned while the pod runs";
  learner.observePod(pod("p1", 100, 400), 400);
  learner.observePod(pod("p1", 100, 400), 401);  // a re-list or a later update
  const WorkflowProfile* p = book.find(kKey);
  ASSERT_NE(p, nullptr);
  const ContainerProfile* c = p->container("main");
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->cpuMilli.values(), std::vector<int64_t>{500});
  EXPECT_EQ(c->memoryBytes.values(), std::vector<int64_t>{800 * kMi});
  EXPECT_EQ(c->requestCpuMilli, 2000);
  EXPECT_EQ(learner.livePods(), 0u);
}

TEST(ProfileLearner, AnOomKilledPodRaisesTheProfilesMemoryFloor) {
  ProfileBook book;
  ProfileLearner learner(book);
  learner.observePod(pod("p1", 100, 200, true), 200);
  const WorkflowProfile* p = book.find(kKey);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->oomKills, 1);
  EXPECT_EQ(p->container("main")->oomMemoryBytes, 4096 * kMi);
}

TEST(ProfileLearner, AFinishedJobIsOneRunWithItsPeakConcurrency) {
  ProfileBook book;
  ProfileLearner learner(book);
  learner.observePod(pod("a", 100, 200), 200);
  learner.observePod(pod("b", 150, 300), 300);
  learner.observePod(pod("c", 300, 400), 400);
  learner.observeRun(JobObservation{"job-1", kKey, 100, 0, 0}, 400);  // still running
  EXPECT_EQ(book.find(kKey)->runs, 0);
  learner.observeRun(JobObservation{"job-1", kKey, 100, 410, 3}, 410);
  learner.observeRun(JobObservation{"job-1", kKey, 100, 410, 3}, 411);  // seen again
  const WorkflowProfile* p = book.find(kKey);
  EXPECT_EQ(p->runs, 1);
  EXPECT_EQ(p->durationSeconds.values(), std::vector<int64_t>{310});
  EXPECT_EQ(p->pods.values(), std::vector<int64_t>{3});
  EXPECT_EQ(p->peakConcurrency.values(), std::vector<int64_t>{2});
  EXPECT_EQ(learner.liveRuns(), 0u);
}

TEST(ProfileLearner, LiveStateIsBounded) {
  ProfileBook book;
  ProfileLearner learner(book, LearnerLimits{3, 2, 2});
  for (int i = 0; i < 10; ++i) learner.observePod(pod("live-" + std::to_string(i), 100, 0), 100);
  EXPECT_EQ(learner.livePods(), 3u);
  for (int i = 0; i < 5; ++i) {
    auto p = pod("done-" + std::to_string(i), 100, 200);
    p.run = "run-" + std::to_string(i);
    learner.observePod(p, 200);
  }
  EXPECT_EQ(learner.liveRuns(), 2u);
  ASSERT_NE(book.find(kKey), nullptr) << "a pod first seen finished is learned without being tracked";
  for (int i = 0; i < 100; ++i) learner.observeUsage("live-0", "c" + std::to_string(i), 1, 1);
  learner.podDeleted("live-0");
  EXPECT_EQ(learner.livePods(), 2u);
}

}  // namespace
}  // namespace spotfit::profile

#include "extender/cache.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

namespace spotfit::extender {
namespace {

using namespace std::chrono_literals;

placement::Resources res(int64_t cpuMilli, int64_t memory, int64_t gpus = 0) {
  placement::Resources r;
  r.cpuMilli = cpuMilli;
  r.memory = memory;
  if (gpus != 0) r.set(placement::kResourceNvidiaGpu, gpus);
  return r;
}

placement::NodeInfo gpuNode(const std::string& name, int64_t gpus) {
  placement::NodeInfo n;
  n.name = name;
  n.allocatable = res(8000, int64_t{256} << 30, gpus);
  n.allocatable.pods = 110;
  return n;
}

placement::PodInfo pod(const std::string& name, int64_t cpuMilli, int64_t gpus = 0) {
  placement::PodInfo p;
  p.namespace_ = "ml";
  p.name = name;
  p.uid = "uid-" + name;
  placement::Container c;
  c.name = "main";
  c.requests = res(cpuMilli, int64_t{1} << 30, gpus);
  p.containers.push_back(c);
  return p;
}

class ClusterCacheTest : public ::testing::Test {
 protected:
  kube::ManualClock clock;
  ClusterCache cache{clock};

  void bind(const placement::PodInfo& p, std::string_view node, bool terminal = false) {
    cache.podUpserted(ClusterCache::podKey(p), node, terminal, placement::podRequests(p));
  }
  void remove(const placement::PodInfo& p) { cache.podDeleted(ClusterCache::podKey(p)); }

  int64_t usedGpus(std::string_view node, std::string_view podKey = "") {
    return cache.snapshot().usage(node, podKey).get(placement::kResourceNvidiaGpu);
  }
  int64_t usedCpu(std::string_view node) { return cache.snapshot().usage(node, "").cpuMilli; }
};

TEST_F(ClusterCacheTest, CountsBoundNonTerminalPods) {
  cache.nodeUpserted(gpuNode("n1", 4));
  bind(pod("a", 500, 1), "n1", false);
  bind(pod("b", 250, 2), "n1", false);
  bind(pod("done", 1000, 1), "n1", true);
  bind(pod("pending", 1000, 1), "", false);
  EXPECT_EQ(usedGpus("n1"), 3);
  EXPECT_EQ(usedCpu("n1"), 750);
  EXPECT_EQ(cache.stats().boundPods, 2u);
  EXPECT_EQ(cache.stats().nodes, 1u);

  placement::NodeInfo scratch;
  auto snap = cache.snapshot();
  const placement::NodeInfo* n = snap.node("n1", "", scratch);
  ASSERT_NE(n, nullptr);
  EXPECT_EQ(n->requested.get(placement::kResourceNvidiaGpu), 3);
  EXPECT_EQ(n->requested.pods, 2);
  EXPECT_EQ(snap.node("nope", "", scratch), nullptr);
}

TEST_F(ClusterCacheTest, PodUpdatesMoveAndReleaseUsage) {
  cache.nodeUpserted(gpuNode("n1", 4));
  cache.nodeUpserted(gpuNode("n2", 4));
  bind(pod("a", 500, 1), "n1", false);
  bind(pod("a", 500, 1), "n1", false);  // a resync delivers the same pod again
  EXPECT_EQ(usedGpus("n1"), 1);
  bind(pod("a", 500, 2), "n1", false);  // in-place resize
  EXPECT_EQ(usedGpus("n1"), 2);
  bind(pod("a", 500, 2), "n1", true);  // finished
  EXPECT_EQ(usedGpus("n1"), 0);
  bind(pod("b", 500, 1), "n2", false);
  remove(pod("b", 500, 1));
  EXPECT_EQ(usedGpus("n2"), 0);
  EXPECT_EQ(cache.stats().boundPods, 0u);
}

TEST_F(ClusterCacheTest, NodeReplacementKeepsUsageAndDeletionForgetsTheNode) {
  bind(pod("a", 500, 1), "n1", false);  // pod seen before its node
  EXPECT_EQ(usedGpus("n1"), 1);
  cache.nodeUpserted(gpuNode("n1", 4));
  placement::NodeInfo scratch;
  {
    auto snap = cache.snapshot();
    ASSERT_NE(snap.node("n1", "", scratch), nullptr);
    EXPECT_EQ(snap.node("n1", "", scratch)->requested.get(placement::kResourceNvidiaGpu), 1);
  }
  cache.nodeUpserted(gpuNode("n1", 8));  // label or allocatable change
  EXPECT_EQ(usedGpus("n1"), 1);
  cache.nodeDeleted("n1");
  EXPECT_EQ(cache.snapshot().node("n1", "", scratch), nullptr);
  EXPECT_EQ(cache.stats().nodes, 0u);
  cache.nodeDeleted("n1");  // twice is harmless
  remove(pod("a", 500, 1));
  EXPECT_EQ(usedGpus("n1"), 0);
}

TEST_F(ClusterCacheTest, AssumedPodCountsUntilTtl) {
  cache.nodeUpserted(gpuNode("n1", 2));
  auto p = pod("p", 500, 1);
  ASSERT_EQ(cache.assume(p, placement::podRequests(p), "n1"), AssumeOutcome::kAssumed);
  EXPECT_EQ(usedGpus("n1"), 1);
  EXPECT_EQ(usedGpus("n1", ClusterCache::podKey(p)), 0) << "a pod's own assumption never blocks it";
  EXPECT_EQ(cache.assumedNode(ClusterCache::podKey(p)), "n1");
  EXPECT_EQ(cache.stats().assumedPods, 1u);
  clock.advance(29s);
  EXPECT_EQ(usedGpus("n1"), 1);
  clock.advance(1s);
  EXPECT_EQ(usedGpus("n1"), 0) << "expired after 30 s";
  EXPECT_EQ(cache.assumedNode(ClusterCache::podKey(p)), std::nullopt);
  EXPECT_EQ(cache.stats().assumedPods, 0u);
}

TEST_F(ClusterCacheTest, BindingOrDeletionEndsTheAssumption) {
  cache.nodeUpserted(gpuNode("n1", 2));
  cache.nodeUpserted(gpuNode("n2", 2));
  auto p = pod("p", 500, 1);
  auto q = pod("q", 500, 1);
  ASSERT_EQ(cache.assume(p, placement::podRequests(p), "n1"), AssumeOutcome::kAssumed);
  ASSERT_EQ(cache.assume(q, placement::podRequests(q), "n1"), AssumeOutcome::kAssumed);
  EXPECT_EQ(usedGpus("n1"), 2);
  // kube-scheduler bound p elsewhere: the informer shows it on n2; n1 is released at once.
  bind(p, "n2", false);
  EXPECT_EQ(usedGpus("n1"), 1);
  EXPECT_EQ(usedGpus("n2"), 1);
  // q was deleted before binding.
  remove(q);
  EXPECT_EQ(usedGpus("n1"), 0);
  EXPECT_EQ(cache.stats().assumedPods, 0u);
  // A still-pending update does not end an assumption.
  auto r = pod("r", 500, 1);
  ASSERT_EQ(cache.assume(r, placement::podRequests(r), "n1"), AssumeOutcome::kAssumed);
  bind(r, "", false);
  EXPECT_EQ(usedGpus("n1"), 1);
}

TEST_F(ClusterCacheTest, ReassumingMovesThePod) {
  cache.nodeUpserted(gpuNode("n1", 1));
  cache.nodeUpserted(gpuNode("n2", 1));
  auto p = pod("p", 500, 1);
  ASSERT_EQ(cache.assume(p, placement::podRequests(p), "n1"), AssumeOutcome::kAssumed);
  // The same pod again (a retry): its own entry does not block the re-check and is replaced.
  ASSERT_EQ(cache.assume(p, placement::podRequests(p), "n1"), AssumeOutcome::kAssumed);
  ASSERT_EQ(cache.assume(p, placement::podRequests(p), "n2"), AssumeOutcome::kAssumed);
  EXPECT_EQ(usedGpus("n1"), 0);
  EXPECT_EQ(usedGpus("n2"), 1);
  EXPECT_EQ(cache.stats().assumedPods, 1u);
}

TEST_F(ClusterCacheTest, AssumeRechecksFitAndKnowsUnknownNodes) {
  cache.nodeUpserted(gpuNode("n1", 1));
  bind(pod("busy", 500, 1), "n1", false);
  auto p = pod("p", 500, 1);
  EXPECT_EQ(cache.assume(p, placement::podRequests(p), "n1"), AssumeOutcome::kNoLongerFits);
  EXPECT_EQ(cache.assume(p, placement::podRequests(p), "ghost"), AssumeOutcome::kUnknownNode);
  // Full-Node mode: the node comes with the request, usage from the cache (none known for "ghost").
  placement::NodeInfo ghost = gpuNode("ghost", 1);
  EXPECT_EQ(cache.assume(p, placement::podRequests(p), "ghost", &ghost), AssumeOutcome::kAssumed);
  EXPECT_EQ(usedGpus("ghost"), 1);
  auto q = pod("q", 500, 1);
  EXPECT_EQ(cache.assume(q, placement::podRequests(q), "ghost", &ghost), AssumeOutcome::kNoLongerFits);
}

TEST_F(ClusterCacheTest, ExpiredEntriesAreSweptOnWrites) {
  cache.nodeUpserted(gpuNode("n1", 100));
  for (int i = 0; i < 50; ++i) {
    auto p = pod("p" + std::to_string(i), 10, 1);
    ASSERT_EQ(cache.assume(p, placement::podRequests(p), "n1"), AssumeOutcome::kAssumed);
  }
  EXPECT_EQ(cache.stats().assumedPods, 50u);
  clock.advance(31s);
  cache.nodeUpserted(gpuNode("n1", 100));  // any write sweeps
  EXPECT_EQ(cache.stats().assumedPods, 0u);
  EXPECT_EQ(usedGpus("n1"), 0);
}

// Two (or many) pods racing for the last free GPU of a node: exactly one is assumed there, every round.
TEST_F(ClusterCacheTest, LastGpuIsNeverAssumedTwice) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  for (int round = 0; round < kRounds; ++round) {
    const std::string node = "n" + std::to_string(round);
    cache.nodeUpserted(gpuNode(node, 4));
    for (int g = 0; g < 3; ++g) bind(pod(node + "-busy" + std::to_string(g), 100, 1), node, false);
    std::atomic<int> won{0};
    std::barrier start(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        auto p = pod(node + "-racer" + std::to_string(t), 100, 1);
        auto req = placement::podRequests(p);
        start.arrive_and_wait();
        if (cache.assume(p, req, node) == AssumeOutcome::kAssumed) won.fetch_add(1);
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(won.load(), 1) << "round " << round;
    ASSERT_EQ(usedGpus(node), 4);
  }
}

TEST_F(ClusterCacheTest, SyncedFlag) {
  EXPECT_FALSE(cache.isSynced());
  cache.synced();
  EXPECT_TRUE(cache.isSynced());
}

}  // namespace
}  // namespace spotfit::extender

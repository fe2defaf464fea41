// Checkpoint-aware consolidation in the scaler: running Job pods move only when they can resume and the
// saving over their expected remaining runtime (spotfit.io/expected-duration, else the Job's history)
// beats the restarts plus the pool's margin.

#include "scaler/checkpoint_moves.hpp"

#include <gtest/gtest.h>

#include "scaler/scaler.hpp"
#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

NodePool movePool() {
  auto p = pool("od", {CapacityType::OnDemand}, {type("m5.xlarge", 4000, 16, 0.192, 0)});
  p.disruption.consolidateAfter = 60s;
  p.disruption.unneededTime = 5min;
  p.disruption.utilizationThreshold = 0.5;
  p.disruption.disruptCheckpointedJobs = true;
  p.disruption.checkpointRestartTime = 60s;
  p.disruption.moveMargin = 0.01;
  return p;
}

// Two nodes: "busy" with a ReplicaSet filler, "light" with one Job pod that `setup` annotates; returns the
// scale-down event message for "light" (empty when it is drained).
struct Outcome {
  bool drained = false;
  std::string blocked;
};

Outcome consolidate(
    const std::function<void(ClusterPod&)>& setup, const std::function<void(Env&)>& before = [](Env&) {}) {
  Env env;
  auto p = movePool();
  env.config.nodePools = {p};
  env.start();
  env.cluster.addNode(p, "busy", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.addNode(p, "light", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("filler", 2500, 1024), "busy");
  before(env);
  auto& pod = env.runPod(pendingPod("work", 1000, 1024), "light");
  setup(pod);
  env.reconcile();
  env.clock.advance(6min);
  env.reconcile();
  Outcome out;
  out.drained = env.scaler->drains().count("light") > 0;
  if (const auto* e = env.actions.find("ScaleDownBlocked")) out.blocked = e->message;
  return out;
}

TEST(CheckpointMoves, ResumablePodWithLongRemainingRuntimeMoves) {
  auto out = consolidate([](ClusterPod& p) {
    p.info.annotations["spotfit.io/checkpoint"] = "/bin/save";
    p.info.annotations["spotfit.io/expected-duration"] = "3h";
  });
  EXPECT_TRUE(out.drained) << out.blocked;
}

TEST(CheckpointMoves, ResumableAnnotationWithoutCommandCounts) {
  auto out = consolidate([](ClusterPod& p) {
    p.info.annotations["spotfit.io/resumable"] = "true";
    p.info.annotations["spotfit.io/expected-duration"] = "3h";
  });
  EXPECT_TRUE(out.drained) << out.blocked;
}

TEST(CheckpointMoves, NonResumablePodNeverMoves) {
  auto out = consolidate([](ClusterPod& p) { p.info.annotations["spotfit.io/expected-duration"] = "100h"; });
  EXPECT_FALSE(out.drained);
  EXPECT_NE(out.blocked.find("cannot resume"), std::string::npos) << out.blocked;
}

TEST(CheckpointMoves, AlmostFinishedPodStays) {
  // 6 minutes in, 7 expected: a minute of a $0.192/h node saves less than the restart and the margin.
  auto out = consolidate([](ClusterPod& p) {
    p.info.annotations["spotfit.io/checkpoint"] = "/bin/save";
    p.info.annotations["spotfit.io/expected-duration"] = "7m";
  });
  EXPECT_FALSE(out.drained);
  EXPECT_NE(out.blocked.find("not more than"), std::string::npos) << out.blocked;
}

TEST(CheckpointMoves, UnknownRuntimeStays) {
  auto out = consolidate([](ClusterPod& p) { p.info.annotations["spotfit.io/checkpoint"] = "/bin/save"; });
  EXPECT_FALSE(out.drained);
  EXPECT_NE(out.blocked.find("no expected duration"), std::string::npos) << out.blocked;
}

TEST(CheckpointMoves, JobHistoryGivesTheExpectedRuntime) {
  // Three pods of the same Job ("train") ran 3 h each: the running one has ~2h54m left.
  auto out = consolidate([](ClusterPod& p) { p.info.annotations["spotfit.io/checkpoint"] = "/bin/save"; },
                         [](Env& env) {
                           for (int i = 0; i < 3; ++i) {
                             ClusterPod done = pendingPod("done-" + std::to_string(i), 1000, 1024);
                             done.unschedulable = false;
                             done.info.phase = placement::PodPhase::Succeeded;
                             done.boundAt = env.clock.wallNow() - 4h;
                             done.finishedAt = env.clock.wallNow() - 1h;
                             env.cluster.snapshot.pods.push_back(done);
                           }
                         });
  EXPECT_TRUE(out.drained) << out.blocked;
}

TEST(CheckpointMoves, PoolThatDisallowsMovesKeepsRunningJobPods) {
  Env env;
  auto p = movePool();
  p.disruption.disruptCheckpointedJobs = false;
  env.config.nodePools = {p};
  env.start();
  env.cluster.addNode(p, "busy", CapacityType::OnDemand, env.clock.wallNow());
  env.cluster.addNode(p, "light", CapacityType::OnDemand, env.clock.wallNow());
  env.runPod(replicaSetPod("filler", 2500, 1024), "busy");
  auto& pod = env.runPod(pendingPod("work", 1000, 1024), "light");
  pod.info.annotations["spotfit.io/checkpoint"] = "/bin/save";
  pod.info.annotations["spotfit.io/expected-duration"] = "3h";
  env.reconcile();
  env.clock.advance(6min);
  env.reconcile();
  EXPECT_TRUE(env.scaler->drains().empty());
  const auto* e = env.actions.find("ScaleDownBlocked");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("running Job pod"), std::string::npos) << e->message;
}

TEST(JobHistory, BoundedAndDeduplicated) {
  JobHistory h;
  placement::PodInfo pod;
  pod.namespace_ = "ns";
  pod.ownerKind = "Job";
  pod.ownerName = "j";
  h.record("ns/j", "a", 60);
  h.record("ns/j", "a", 6000);  // the same pod seen again in a later pass
  h.record("ns/j", "b", 120);
  EXPECT_FALSE(h.expectedSeconds(pod));  // two samples: not enough
  h.record("ns/j", "c", 180);
  ASSERT_TRUE(h.expectedSeconds(pod));
  EXPECT_DOUBLE_EQ(*h.expectedSeconds(pod), 120);
  EXPECT_DOUBLE_EQ(*h.expectedSeconds(pod, 90), 150);  // having run 90 s, it is one of the longer ones
  EXPECT_FALSE(h.expectedSeconds(pod, 180));           // longer than any observed pod: no estimate
  for (size_t i = 0; i < JobHistory::kMaxSamples; ++i) h.record("ns/j", "x" + std::to_string(i), 600);
  EXPECT_DOUBLE_EQ(*h.expectedSeconds(pod), 600);  // the oldest samples are gone
  for (size_t i = 0; i < JobHistory::kMaxJobs + 10; ++i) h.record("ns/other-" + std::to_string(i), "u", 1);
  EXPECT_EQ(h.jobs(), JobHistory::kMaxJobs);
  EXPECT_FALSE(h.expectedSeconds(pod));  // least recently updated: forgotten
  h.record("", "u", 10);                 // not a Job's pod
  h.record("ns/neg", "u", -5);           // clock skew
  EXPECT_EQ(h.jobs(), JobHistory::kMaxJobs);
}

}  // namespace
}  // namespace spotfit::scaler

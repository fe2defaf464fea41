#include "webhook/pdb.hpp"

#include <gtest/gtest.h>

#include <condition_variable>
#include <mutex>

#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::parseJson;

PdbRequest request(const std::string& job, const std::string& min = "50%") {
  PdbRequest r;
  r.namespace_ = "ml";
  r.jobName = job;
  r.jobUid = job + "-uid";
  r.minAvailable = min;
  r.selectorKey = "batch.kubernetes.io/controller-uid";
  r.selectorValue = job + "-uid";
  r.pods = 4;
  return r;
}

class FakeWriter : public PdbWriter {
 public:
  Status create(const PdbRequest& r) override {
    std::lock_guard lock(mu);
    calls.push_back(r.jobName);
    if (failing) return makeError("io", "apiserver unavailable");
    cv.notify_all();
    return {};
  }
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> calls;
  bool failing = false;
};

TEST(PdbManifest, IsAPolicyV1PdbOwnedByTheJob) {
  auto d = parseJson(request("train").manifest());
  EXPECT_STREQ(d["apiVersion"].GetString(), "policy/v1");
  EXPECT_STREQ(d["kind"].GetString(), "PodDisruptionBudget");
  EXPECT_STREQ(d["metadata"]["name"].GetString(), "train-spotfit");
  EXPECT_STREQ(d["metadata"]["namespace"].GetString(), "ml");
  const auto& owner = d["metadata"]["ownerReferences"][0];
  EXPECT_STREQ(owner["apiVersion"].GetString(), "batch/v1");
  EXPECT_STREQ(owner["kind"].GetString(), "Job");
  EXPECT_STREQ(owner["name"].GetString(), "train");
  EXPECT_STREQ(owner["uid"].GetString(), "train-uid");
  EXPECT_STREQ(d["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"].GetString(), "train-uid");
  // Jobs have no scale subresource: the disruption controller refuses a percentage for their pods
  // (CalculateExpectedPodCountFailed, disruptionsAllowed 0), so 50% of 4 pods is written as the integer 2,
  // and the setting is kept in the annotation for the reconciler.
  ASSERT_TRUE(d["spec"]["minAvailable"].IsInt());
  EXPECT_EQ(d["spec"]["minAvailable"].GetInt(), 2);
  EXPECT_STREQ(d["spec"]["unhealthyPodEvictionPolicy"].GetString(), "AlwaysAllow");
  EXPECT_STREQ(d["metadata"]["annotations"]["spotfit.io/min-available"].GetString(), "50%");
  EXPECT_STREQ(d["metadata"]["labels"]["app.kubernetes.io/managed-by"].GetString(), "spotfit");
  auto n = parseJson(request("train", "3").manifest());
  ASSERT_TRUE(n["spec"]["minAvailable"].IsInt());
  EXPECT_EQ(n["spec"]["minAvailable"].GetInt(), 3);
  // Asking for all 4 pods would forbid every eviction: capped at pods - 1.
  auto all = parseJson(request("train", "4").manifest());
  EXPECT_EQ(all["spec"]["minAvailable"].GetInt(), 3);
  EXPECT_STREQ(all["metadata"]["annotations"]["spotfit.io/min-available"].GetString(), "4");
}

TEST(PdbMinAvailable, PercentRoundsUpAndOnePodStaysEvictable) {
  EXPECT_EQ(pdbMinAvailable("50%", 4), 2);
  EXPECT_EQ(pdbMinAvailable("50%", 3), 2) << "1.5 rounds up, like Kubernetes rounds a percentage minAvailable";
  EXPECT_EQ(pdbMinAvailable("50%", 2), 1);
  EXPECT_EQ(pdbMinAvailable("1%", 250), 3);
  EXPECT_EQ(pdbMinAvailable("75%", 10), 8);
  EXPECT_EQ(pdbMinAvailable("100%", 4), 3);
  EXPECT_EQ(pdbMinAvailable("100%", 2000000000), 1999999999);
  EXPECT_EQ(pdbMinAvailable("0%", 4), 0);
  EXPECT_EQ(pdbMinAvailable("3", 4), 3);
  EXPECT_EQ(pdbMinAvailable("3", 3), 2);
  EXPECT_EQ(pdbMinAvailable("10", 4), 3);
  EXPECT_EQ(pdbMinAvailable("0", 4), 0);
  // One pod (or none): nothing may block its eviction.
  EXPECT_EQ(pdbMinAvailable("50%", 1), 0);
  EXPECT_EQ(pdbMinAvailable("3", 1), 0);
  EXPECT_EQ(pdbMinAvailable("3", 0), 0);
  EXPECT_EQ(pdbMinAvailable("-2", 4), 0);
  EXPECT_EQ(pdbMinAvailable("half", 4), 0);
  EXPECT_EQ(pdbMinAvailable("", 4), 0);
}

TEST(JobPodsAtOnce, ParallelismCappedByTheCompletionsLeft) {
  EXPECT_EQ(jobPodsAtOnce(4, std::nullopt, 0), 4);
  EXPECT_EQ(jobPodsAtOnce(4, std::nullopt, 9), 4) << "without completions any success ends the Job";
  EXPECT_EQ(jobPodsAtOnce(4, 10, 3), 4);
  EXPECT_EQ(jobPodsAtOnce(4, 5, 3), 2);
  EXPECT_EQ(jobPodsAtOnce(4, 5, 5), 0);
  EXPECT_EQ(jobPodsAtOnce(4, 5, 7), 0);
  EXPECT_EQ(jobPodsAtOnce(-1, std::nullopt, 0), 0);
  JobInfo info{"uid", 8, "", 10, 4};
  EXPECT_EQ(jobPodsAtOnce(info), 6);
}

TEST(QueuedPdbEnsurer, EnsureDoesNoIoAndAPassWritesOncePerJob) {
  FakeWriter w;
  QueuedPdbEnsurer e(w);
  e.ensure(request("a"));
  e.ensure(request("a"));  // every pod of the Job asks
  e.ensure(request("b"));
  EXPECT_TRUE(w.calls.empty());
  EXPECT_EQ(e.pending(), 2u);
  auto r = e.reconcileOnce();
  EXPECT_EQ(r.created, 2u);
  EXPECT_EQ(w.calls.size(), 2u);
  e.ensure(request("a"));  // already done: not queued again
  EXPECT_EQ(e.pending(), 0u);
  EXPECT_EQ(e.reconcileOnce().created, 0u);
}

TEST(QueuedPdbEnsurer, FailuresAreRepairedByTheNextPass) {
  FakeWriter w;
  std::vector<bool> observed;
  QueuedPdbEnsurer e(w, [&](const PdbRequest&, const Status& s) { observed.push_back(s.ok()); });
  w.failing = true;
  e.ensure(request("a"));
  auto r1 = e.reconcileOnce();
  EXPECT_EQ(r1.failed, 1u);
  EXPECT_EQ(e.pending(), 1u);
  w.failing = false;
  auto r2 = e.reconcileOnce();
  EXPECT_EQ(r2.created, 1u);
  EXPECT_EQ(e.pending(), 0u);
  EXPECT_EQ(observed, (std::vector<bool>{false, true}));
}

TEST(QueuedPdbEnsurer, WorkerWritesPromptlyAfterEnsure) {
  FakeWriter w;
  QueuedPdbEnsurer e(w);
  e.start(std::chrono::hours(1));  // the retry timer never fires here: only the kick wakes the worker
  e.ensure(request("a"));
  {
    std::unique_lock lock(w.mu);
    ASSERT_TRUE(w.cv.wait_for(lock, std::chrono::seconds(30), [&] { return !w.calls.empty(); }));
  }
  e.stop();
  EXPECT_EQ(w.calls, std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace spotfit::webhook

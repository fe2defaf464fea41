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
  EXPECT_STREQ(d["spec"]["minAvailable"].GetString(), "50%");
  EXPECT_STREQ(d["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"].GetString(), "train-uid");
  // An integer minAvailable is a JSON number (intstr), not a string.
  auto n = parseJson(request("train", "3").manifest());
  ASSERT_TRUE(n["spec"]["minAvailable"].IsInt());
  EXPECT_EQ(n["spec"]["minAvailable"].GetInt(), 3);
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

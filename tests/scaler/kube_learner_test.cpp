// The profile learner's cluster side (scaler/kube_learner.hpp): Pods, Jobs and PodMetrics decoded into
// observations, learned by the leader, saved through the profile store.

#include "scaler/kube_learner.hpp"

#include <gtest/gtest.h>

#include "kube/rest_client.hpp"
#include "scaler/nodepool.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::scaler {
namespace {

using testsupport::FakeApiServer;

constexpr int64_t kMi = int64_t{1} << 20;

kube::Pod pod(const std::string& text) {
  auto doc = kube::json::parse(text);
  EXPECT_TRUE(doc.ok());
  auto p = kube::decodePod(*doc);
  EXPECT_TRUE(p.ok()) << (p.ok() ? "" : p.error().message);
  return *p;
}

kube::Job job(const std::string& text) {
  auto doc = kube::json::parse(text);
  EXPECT_TRUE(doc.ok());
  auto j = kube::decodeJob(*doc);
  EXPECT_TRUE(j.ok()) << (j.ok() ? "" : j.error().message);
  return *j;
}

// A pod of Job `run` of workflow "etl" in namespace "team": phase Running, or Succeeded / Failed with a
// container terminated at 00:10:00 (OOMKilled when `oom`).
std::string podJson(const std::string& name, const std::string& phase, bool oom = false,
                    const std::string& run = "job-uid-1") {
  std::string status = R"("phase":")" + phase + R"(","startTime":"2026-01-01T00:00:00Z")";
  if (phase != "Running") {
    status += R"(,"containerStatuses":[{"name":"main","state":{"terminated":{"exitCode":137,"reason":")" +
              std::string(oom ? "OOMKilled" : "Completed") + R"(","finishedAt":"2026-01-01T00:10:00Z"}}}])";
  }
  return R"({"metadata":{"name":")" + name + R"(","namespace":"team","uid":"uid-)" + name +
         R"(","annotations":{"spotfit.io/workflow":"etl"},
      "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"etl-1","uid":")" +
         run + R"(","controller":true}]},
    "spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"2","memory":"1Gi"},"limits":{"memory":"2Gi"}}}]},
    "status":{)" +
         status + "}}";
}

std::string jobJson(const std::string& uid, bool finished) {
  return R"({"metadata":{"name":"etl-1","namespace":"team","uid":")" + uid +
         R"(","annotations":{"spotfit.io/workflow":"etl"}},
    "spec":{"template":{"spec":{"containers":[{"name":"main"}]}}},
    "status":{"startTime":"2026-01-01T00:00:00Z","succeeded":1)" +
         (finished ? std::string(R"(,"completionTime":"2026-01-01T00:10:05Z",
      "conditions":[{"type":"Complete","status":"True"}])")
                   : std::string()) +
         "}}";
}

const profile::ProfileKey kKey{"team", "etl"};
constexpr int64_t kStart = 1767225600;  // 2026-01-01T00:00:00Z

std::string uidOf(const std::string& ns, const std::string& name) {
  return ns == "team" ? "uid-" + name : std::string();
}

TEST(KubePodStatus, DecodesStartFinishAndOomKilledContainers) {
  auto p = pod(podJson("a", "Failed", true));
  ASSERT_TRUE(p.startTime.has_value());
  ASSERT_TRUE(p.finishedAt.has_value());
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(*p.finishedAt - *p.startTime).count(), 600);
  EXPECT_EQ(p.oomKilled, std::vector<std::string>{"main"});
  // A container restarted after an OOM kill shows it in lastState.
  auto restarted = pod(R"({"metadata":{"name":"b","namespace":"team","uid":"u"},
    "spec":{"containers":[{"name":"main"},{"name":"side"}]},
    "status":{"phase":"Running","containerStatuses":[
      {"name":"main","state":{"running":{}},"lastState":{"terminated":{"reason":"OOMKilled"}}},
      {"name":"side","state":{"running":{}}}]}})");
  EXPECT_EQ(restarted.oomKilled, std::vector<std::string>{"main"});
  EXPECT_FALSE(restarted.finishedAt.has_value());
  // Malformed statuses are skipped, not fatal: scheduling does not need them.
  auto odd = pod(R"({"metadata":{"name":"c","namespace":"team","uid":"u"},"spec":{"containers":[{"name":"main"}]},
    "status":{"phase":"Running","startTime":"yesterday","containerStatuses":[7,{"name":3},{"name":"main","state":"x"}]}})");
  EXPECT_FALSE(odd.startTime.has_value());
  EXPECT_TRUE(odd.oomKilled.empty());
}

TEST(KubeLearner, PodObservationCarriesRequestsLimitsOomAndTheRun) {
  auto o = podObservation(pod(podJson("a", "Failed", true)), 0);
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->key, kKey);
  EXPECT_EQ(o->run, "job-uid-1");
  EXPECT_EQ(o->start, kStart);
  EXPECT_EQ(o->end, kStart + 600);
  ASSERT_EQ(o->containers.size(), 1u);
  EXPECT_EQ(o->containers[0].requestCpuMilli, 2000);
  EXPECT_EQ(o->containers[0].requestMemoryBytes, 1024 * kMi);
  EXPECT_EQ(o->containers[0].memoryLimitBytes, 2048 * kMi);
  EXPECT_TRUE(o->containers[0].oomKilled);
  // Not named by the webhook: not learned.
  auto unnamed = pod(R"({"metadata":{"name":"x","namespace":"team","uid":"u"},"spec":{"containers":[{"name":"m"}]},
    "status":{"phase":"Succeeded"}})");
  EXPECT_FALSE(podObservation(unnamed, 5).has_value());
  auto j = jobObservation(job(jobJson("job-uid-1", true)), 0);
  ASSERT_TRUE(j.has_value());
  EXPECT_EQ(j->end - j->start, 605);
  EXPECT_EQ(j->pods, 1);
  EXPECT_EQ(jobObservation(job(jobJson("job-uid-1", false)), 0)->end, 0);
}

TEST(KubeLearner, DecodesPodMetricsAndRefusesWrongTypes) {
  auto doc = kube::json::parse(R"([{"metadata":{"name":"a","namespace":"team"},"containers":[
      {"name":"main","usage":{"cpu":"1500000000n","memory":"512Mi"}},{"name":"side","usage":{"cpu":"250m"}}]}])");
  ASSERT_TRUE(doc.ok());
  auto s = decodePodMetrics(*doc, 100);
  ASSERT_TRUE(s.ok()) << s.error().message;
  ASSERT_EQ(s->size(), 2u);
  EXPECT_EQ((*s)[0].cpuMilli, 1500);
  EXPECT_EQ((*s)[0].memoryBytes, 512 * kMi);
  EXPECT_EQ((*s)[1].cpuMilli, 250);
  EXPECT_EQ(decodePodMetrics(*doc, 1)->size(), 1u);  // bounded
  auto bad = kube::json::parse(R"([{"metadata":{"name":"a","namespace":"team"},"containers":[
      {"name":"main","usage":{"cpu":"lots"}}]}])");
  auto r = decodePodMetrics(*bad, 100);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("items[0].containers[0].usage.cpu"), std::string::npos) << r.error().message;
  auto notArray = kube::json::parse(R"({"items":1})");
  EXPECT_FALSE(decodePodMetrics(*notArray, 100).ok());
}

// Three runs of a workflow seen as the informers and the metrics poller see them: the book learns the
// usage peaks, the requests, the runs; an OOM kill raises the next recommendation above the killed limit.
TEST(KubeLearner, LearnsRunsUsageAndOomKillsFromTheCluster) {
  InMemoryProfileStore store;
  ClusterLearner learner(store, LearnerConfig{});
  ASSERT_TRUE(learner.begin(kStart).ok());
  for (int run = 1; run <= 3; ++run) {
    const std::string name = "p" + std::to_string(run), jobUid = "job-" + std::to_string(run);
    learner.onPod(pod(podJson(name, "Running", false, jobUid)));
    learner.drain(kStart + 10, uidOf);
    learner.offerUsage({{"team", name, "main", 400, 300 * kMi}, {"team", "unknown", "main", 9000, 9000 * kMi}});
    learner.drain(kStart + 20, uidOf);
    learner.offerUsage({{"team", name, "main", 500, 200 * kMi}});
    learner.drain(kStart + 30, uidOf);
    learner.onPod(pod(podJson(name, "Succeeded", false, jobUid)));
    learner.onJob(job(jobJson(jobUid, true)));
    learner.drain(kStart + 700, uidOf);
  }
  const profile::WorkflowProfile* p = learner.book().find(kKey);
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->runs, 3);
  ASSERT_EQ(p->containers.size(), 1u);
  EXPECT_EQ(p->containers[0].cpuMilli.max(), 500);
  EXPECT_EQ(p->containers[0].memoryBytes.max(), 300 * kMi);
  EXPECT_EQ(p->containers[0].requestCpuMilli, 2000);
  EXPECT_EQ(p->durationSeconds.max(), 605);
  EXPECT_EQ(p->peakConcurrency.max(), 1);
  auto rec = profile::recommend(*p, profile::RightSizeConfig{});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].cpuMilli, 600);
  EXPECT_EQ(rec[0].memoryBytes, 360 * kMi);

  // Run 4 is OOM-killed at its 2 GiB limit: memory goes above it for the next run.
  learner.onPod(pod(podJson("p4", "Running", false, "job-4")));
  learner.drain(kStart + 800, uidOf);
  learner.onPod(pod(podJson("p4", "Failed", true, "job-4")));
  learner.drain(kStart + 900, uidOf);
  p = learner.book().find(kKey);
  EXPECT_EQ(p->oomKills, 1);
  rec = profile::recommend(*p, profile::RightSizeConfig{});
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_GT(*rec[0].memoryBytes, 2048 * kMi);
}

TEST(KubeLearner, SavesOnlyWhenItLearnedAndTheIntervalPassed) {
  InMemoryProfileStore store;
  LearnerConfig cfg;
  cfg.saveInterval = std::chrono::seconds(60);
  ClusterLearner learner(store, cfg);
  ASSERT_TRUE(learner.begin(kStart).ok());
  EXPECT_FALSE(*learner.maybeSave(kStart + 100));  // nothing learned
  learner.onPod(pod(podJson("a", "Succeeded")));
  learner.drain(kStart + 101, uidOf);
  EXPECT_FALSE(*learner.maybeSave(kStart + 30));  // too soon after the term started
  EXPECT_TRUE(*learner.maybeSave(kStart + 101));
  EXPECT_EQ(store.saves(), 1);
  EXPECT_FALSE(*learner.maybeSave(kStart + 500));  // nothing new
  learner.onPod(pod(podJson("b", "Succeeded")));
  learner.drain(kStart + 510, uidOf);
  EXPECT_TRUE(*learner.maybeSave(kStart + 511, /*force=*/true));
  EXPECT_EQ(store.saves(), 2);

  // The next leader starts from what was saved.
  ClusterLearner next(store, cfg);
  ASSERT_TRUE(next.begin(kStart + 600).ok());
  ASSERT_NE(next.book().find(kKey), nullptr);
  EXPECT_EQ(next.book().find(kKey)->containers.at(0).requestCpuMilli, 2000);
}

TEST(KubeLearner, IgnoresEventsOutsideTheTermAndBoundsItsQueue) {
  InMemoryProfileStore store;
  LearnerConfig cfg;
  cfg.maxQueued = 2;
  ClusterLearner learner(store, cfg);
  learner.onPod(pod(podJson("early", "Succeeded")));  // not leading yet
  ASSERT_TRUE(learner.begin(kStart).ok());
  learner.drain(kStart + 1, uidOf);
  EXPECT_EQ(learner.book().find(kKey), nullptr);
  for (int i = 0; i < 5; ++i) learner.onPod(pod(podJson("p" + std::to_string(i), "Failed", /*oom=*/true)));
  EXPECT_EQ(learner.dropped(), 3u);
  learner.drain(kStart + 2, uidOf);
  ASSERT_NE(learner.book().find(kKey), nullptr);
  EXPECT_EQ(learner.book().find(kKey)->oomKills, 2);  // the two queued
  learner.end();
  learner.onPod(pod(podJson("late", "Succeeded")));
  ASSERT_TRUE(learner.begin(kStart + 3).ok());
  learner.drain(kStart + 4, uidOf);
  EXPECT_EQ(learner.book().find(kKey), nullptr);  // nothing saved, nothing queued after end()
}

TEST(KubeLearner, PollerReadsPodMetricsAndReportsAnApiThatIsNotServed) {
  FakeApiServer api;
  auto client = kube::RestClient::create(api.clientConfig()).value();
  PodMetricsPoller poller(*client, LearnerConfig{});
  auto none = poller.poll();
  ASSERT_FALSE(none.ok());
  EXPECT_EQ(none.error().code, "NotServed") << none.error().message;
  api.addResource({"metrics.k8s.io", "v1beta1", "pods", "PodMetrics", true, false, false});
  api.upsert(
      "pods",
      R"({"metadata":{"name":"a","namespace":"team"},"containers":[{"name":"main","usage":{"cpu":"3","memory":"1Gi"}}]})");
  auto got = poller.poll();
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].cpuMilli, 3000);
}

TEST(KubeLearner, ConfigSectionScalerProfiles) {
  auto cfg = parseScalerConfig(R"(scaler:
  profiles: {learn: false, metricsInterval: 2s, metricsTimeout: 1s, saveInterval: 5s, metricsServer: "http://127.0.0.1:1"}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_FALSE(cfg->profiles.learn);
  EXPECT_EQ(cfg->profiles.metricsInterval, std::chrono::seconds(2));
  EXPECT_EQ(cfg->profiles.metricsTimeout, std::chrono::seconds(1));
  EXPECT_EQ(cfg->profiles.saveInterval, std::chrono::seconds(5));
  EXPECT_EQ(cfg->profiles.metricsServer, "http://127.0.0.1:1");
  EXPECT_TRUE(parseScalerConfig("scaler: {}\n")->profiles.learn);
  for (const char* bad :
       {"scaler:\n  profiles: {metricsServer: ftp://x}\n", "scaler:\n  profiles: {metricsTimeout: 0s}\n",
        "scaler:\n  profiles: {saveInterval: 48h}\n", "scaler:\n  profiles: {typo: 1}\n"}) {
    auto r = parseScalerConfig(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_NE(r.error().message.find("scaler.profiles."), std::string::npos) << r.error().message;
  }
}

}  // namespace
}  // namespace spotfit::scaler

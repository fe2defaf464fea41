// The webhook's Kubernetes adapters against the fake apiserver (real sockets, port 0).
#include "webhook/kube_adapters.hpp"

#include <gtest/gtest.h>

#include "kube/rest_client.hpp"
#include "support/fake_apiserver.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testsupport::FakeApiServer;

PdbRequest request() {
  PdbRequest r;
  r.namespace_ = "ml";
  r.jobName = "train";
  r.jobUid = "job-uid";
  r.minAvailable = "2";
  r.selectorKey = "batch.kubernetes.io/controller-uid";
  r.selectorValue = "job-uid";
  r.pods = 4;
  return r;
}

TEST(KubePdbWriter, CreatesThePdbAndTreatsAlreadyExistsAsDone) {
  FakeApiServer api;
  auto client = kube::RestClient::create(api.clientConfig()).value();
  KubePdbWriter writer(*client);
  ASSERT_TRUE(writer.create(request()));
  auto stored = api.object("poddisruptionbudgets", "ml", "train-spotfit");
  ASSERT_TRUE(stored);
  auto d = testing::parseJson(*stored);
  EXPECT_EQ(d["spec"]["minAvailable"].GetInt(), 2);
  EXPECT_STREQ(d["metadata"]["ownerReferences"][0]["uid"].GetString(), "job-uid");
  EXPECT_TRUE(writer.create(request())) << "a second write of the same PDB is not a failure";
  EXPECT_EQ(api.count("poddisruptionbudgets"), 1u);
}

TEST(KubePdbWriter, AFailedCreateIsRepairedByTheNextReconcilePass) {
  FakeApiServer api;
  auto client = kube::RestClient::create(api.clientConfig()).value();
  KubePdbWriter writer(*client, std::chrono::seconds(5));
  int failures = 0;
  QueuedPdbEnsurer ensurer(writer, [&](const PdbRequest&, const Status& s) { failures += s.ok() ? 0 : 1; });
  testsupport::Fault f;
  f.method = "POST";
  f.pathContains = "poddisruptionbudgets";
  f.status = 403;  // not transient: the client does not retry it itself
  f.times = 1;
  api.injectFault(f);
  ensurer.ensure(request());
  auto first = ensurer.reconcileOnce();
  EXPECT_EQ(first.failed, 1u);
  EXPECT_EQ(api.count("poddisruptionbudgets"), 0u);
  auto second = ensurer.reconcileOnce();
  EXPECT_EQ(second.created, 1u);
  EXPECT_EQ(api.count("poddisruptionbudgets"), 1u);
  EXPECT_EQ(failures, 1);
}

TEST(KubeEventSink, SendsQueuedEventsAsCoreV1Events) {
  FakeApiServer api;
  auto client = kube::RestClient::create(api.clientConfig()).value();
  kube::ManualClock clock;
  KubeEventSink sink(*client, clock, 2);
  EventRecord e{"ml", "Job", "train", "job-uid", "Warning", "BudgetExceeded", "workflow train has spent $12.00"};
  sink.record(e);
  sink.record(e);
  sink.record(e);  // over the queue bound: dropped, never blocking
  EXPECT_EQ(sink.dropped(), 1u);
  EXPECT_EQ(api.count("events"), 0u) << "record() does no I/O";
  EXPECT_EQ(sink.flush(), 2u);
  auto events = api.objects("events");
  ASSERT_EQ(events.size(), 2u);
  auto d = testing::parseJson(events[0]);
  EXPECT_STREQ(d["reason"].GetString(), "BudgetExceeded");
  EXPECT_STREQ(d["type"].GetString(), "Warning");
  EXPECT_STREQ(d["involvedObject"]["kind"].GetString(), "Job");
  EXPECT_STREQ(d["involvedObject"]["apiVersion"].GetString(), "batch/v1");
  EXPECT_STREQ(d["involvedObject"]["uid"].GetString(), "job-uid");
  EXPECT_STREQ(d["source"]["component"].GetString(), "spotfit-webhook");
}

TEST(Converters, VpaJobAndNamespaceFromDecodedObjects) {
  auto vpaDoc = testing::parseJson(R"({"apiVersion":"autoscaling.k8s.io/v1","kind":"VerticalPodAutoscaler",
    "metadata":{"name":"v","namespace":"ml","uid":"u"},
    "spec":{"targetRef":{"apiVersion":"batch/v1","kind":"CronJob","name":"nightly"},"updatePolicy":{"updateMode":"Initial"},
            "resourcePolicy":{"containerPolicies":[{"containerName":"*","maxAllowed":{"memory":"4Gi"},"controlledValues":"RequestsOnly"},
                                                   {"containerName":"side","mode":"Off"}]}},
    "status":{"recommendation":{"containerRecommendations":[{"containerName":"main","target":{"cpu":"1500m","memory":"1Gi"}}]}}})");
  auto kv = kube::decodeVerticalPodAutoscaler(vpaDoc);
  ASSERT_TRUE(kv) << kv.error().message;
  Vpa v = vpaFromKube(*kv);
  EXPECT_EQ(v.targetKind, "CronJob");
  EXPECT_EQ(v.targetName, "nightly");
  EXPECT_FALSE(v.updateOff);
  ASSERT_EQ(v.policies.size(), 2u);
  EXPECT_FALSE(v.policies[0].requestsAndLimits);
  EXPECT_TRUE(v.policies[1].off);
  // The converted quantities mean the same amounts.
  VpaIndex idx;
  idx.upsert(v);
  auto pod = testing::parseJson(
      R"({"spec":{"containers":[{"name":"main","resources":{"requests":{"cpu":"1","memory":"512Mi"}}}]}})");
  PodSpec spec(pod["spec"], pod.GetAllocator());
  ASSERT_TRUE(applyVpa(*idx.find("ml", "CronJob", "nightly"), spec));
  EXPECT_STREQ(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"].GetString(), "1500m");
  EXPECT_STREQ(pod["spec"]["containers"][0]["resources"]["requests"]["memory"].GetString(), "1Gi");

  auto jobDoc = testing::parseJson(
      R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"n-1","namespace":"ml","uid":"job-uid",
    "ownerReferences":[{"apiVersion":"batch/v1","kind":"CronJob","name":"nightly","uid":"c","controller":true}]},
    "spec":{"parallelism":3,"template":{"spec":{"containers":[]}}}})");
  auto kj = kube::decodeJob(jobDoc);
  ASSERT_TRUE(kj) << kj.error().message;
  JobInfo j = jobInfoFromKube(*kj);
  EXPECT_EQ(j.uid, "job-uid");
  EXPECT_EQ(j.parallelism, 3);
  EXPECT_EQ(j.cronJob, "nightly");

  auto nsDoc = testing::parseJson(
      R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ml","labels":{"spotfit.io/enabled":"true"}}})");
  auto kn = kube::decodeNamespace(nsDoc);
  ASSERT_TRUE(kn) << kn.error().message;
  EXPECT_EQ(labelsFromKube(*kn).at("spotfit.io/enabled"), "true");
}

}  // namespace
}  // namespace spotfit::webhook

namespace spotfit::webhook {
namespace {

TEST(KubePdbWriter, WithoutAJobLookupItChecksTheJobFirst) {
  FakeApiServer api;
  auto client = kube::RestClient::create(api.clientConfig()).value();
  KubePdbWriter writer(*client);
  PdbRequest r = request();
  r.verifyMinParallelism = 2;
  // No such Job: nothing to protect.
  ASSERT_TRUE(writer.create(r));
  EXPECT_EQ(api.count("poddisruptionbudgets"), 0u);
  auto job = [](const std::string& uid, int parallelism) {
    return R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"train","namespace":"ml","uid":")" + uid +
           R"("},"spec":{"parallelism":)" + std::to_string(parallelism) +
           R"(,"template":{"spec":{"containers":[{"name":"c","image":"x"}]}}}})";
  };
  api.upsert("jobs", job("job-uid", 1));
  ASSERT_TRUE(writer.create(r));
  EXPECT_EQ(api.count("poddisruptionbudgets"), 0u) << "parallelism 1";
  api.upsert("jobs", job("other-uid", 4));
  ASSERT_TRUE(writer.create(r));
  EXPECT_EQ(api.count("poddisruptionbudgets"), 0u) << "a recreated Job";
  api.upsert("jobs", job("job-uid", 3));
  r.pods = 0;  // the admission path did not know the Job: its pods come from the Job read here
  r.minAvailable = "100%";
  ASSERT_TRUE(writer.create(r));
  EXPECT_EQ(api.count("poddisruptionbudgets"), 1u);
  auto d = testing::parseJson(api.object("poddisruptionbudgets", "ml", "train-spotfit").value());
  EXPECT_EQ(d["spec"]["minAvailable"].GetInt(), 2) << "100% of parallelism 3, capped at 3 - 1";
}

}  // namespace
}  // namespace spotfit::webhook

namespace spotfit::webhook {
namespace {

TEST(FeedFrom, InformersKeepTheIndexesInStep) {
  FakeApiServer api;
  api.addVpaResource();
  auto client = kube::RestClient::create(api.clientConfig()).value();
  kube::Informer<kube::VerticalPodAutoscaler> vpaInf(*client, kube::resources::kVerticalPodAutoscalers,
                                                     kube::decodeVerticalPodAutoscaler);
  kube::Informer<kube::Job> jobInf(*client, kube::resources::kJobs, kube::decodeJob);
  kube::Informer<kube::Namespace> nsInf(*client, kube::resources::kNamespaces, kube::decodeNamespace);
  VpaIndex vpas;
  JobIndex jobs;
  NamespaceIndex namespaces;
  feedFrom(vpaInf, vpas);
  feedFrom(jobInf, jobs);
  feedFrom(nsInf, namespaces);
  api.upsert(
      "namespaces",
      R"({"apiVersion":"v1","kind":"Namespace","metadata":{"name":"ml","labels":{"spotfit.io/enabled":"true"}}})");
  vpaInf.start();
  jobInf.start();
  nsInf.start();
  ASSERT_TRUE(vpaInf.waitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(jobInf.waitForSync(std::chrono::seconds(30)));
  ASSERT_TRUE(nsInf.waitForSync(std::chrono::seconds(30)));
  EXPECT_EQ(namespaces.labels("ml")->at("spotfit.io/enabled"), "true");

  api.upsert("verticalpodautoscalers", R"({"apiVersion":"autoscaling.k8s.io/v1","kind":"VerticalPodAutoscaler",
    "metadata":{"name":"v","namespace":"ml"},"spec":{"targetRef":{"apiVersion":"batch/v1","kind":"Job","name":"train"}},
    "status":{"recommendation":{"containerRecommendations":[{"containerName":"main","target":{"cpu":"2"}}]}}})");
  api.upsert("jobs", R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"train","namespace":"ml","uid":"j-1"},
    "spec":{"parallelism":5,"template":{"spec":{"containers":[{"name":"main","image":"x"}]}}}})");
  ASSERT_TRUE(vpaInf.waitUntil([&] { return vpas.find("ml", "Job", "train") != nullptr; }, std::chrono::seconds(30)));
  ASSERT_TRUE(jobInf.waitUntil([&] { return jobs.find("ml", "train").has_value(); }, std::chrono::seconds(30)));
  EXPECT_EQ(jobs.find("ml", "train")->parallelism, 5);
  EXPECT_EQ(vpas.find("ml", "Job", "train")->targets.at("main").at("cpu"), "2");

  api.erase("verticalpodautoscalers", "ml", "v");
  api.erase("jobs", "ml", "train");
  EXPECT_TRUE(vpaInf.waitUntil([&] { return vpas.find("ml", "Job", "train") == nullptr; }, std::chrono::seconds(30)));
  EXPECT_TRUE(jobInf.waitUntil([&] { return !jobs.find("ml", "train").has_value(); }, std::chrono::seconds(30)));
  vpaInf.stop();
  jobInf.stop();
  nsInf.stop();
}

}  // namespace
}  // namespace spotfit::webhook

// The PDB reconciler: a spotfit PDB follows its Job's parallelism (and the completions left), PDBs of older
// versions (percentage minAvailable) are converted, other PDBs are left alone; against the fake apiserver
// with real informers.
#include "webhook/pdb_reconciler.hpp"

#include <gtest/gtest.h>

#include "kube/rest_client.hpp"
#include "support/fake_apiserver.hpp"
#include "webhook/pdb.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testsupport::FakeApiServer;

std::string jobJson(int parallelism, const std::string& extraSpec = "", const std::string& status = "{}",
                    const std::string& uid = "j-1") {
  return R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"train","namespace":"ml","uid":")" + uid +
         R"("},"spec":{"parallelism":)" + std::to_string(parallelism) + extraSpec +
         R"(,"template":{"spec":{"containers":[{"name":"c","image":"x"}]}}},"status":)" + status + "}";
}

std::string pdbJson(int64_t pods, const std::string& setting = "50%") {
  PdbRequest r;
  r.namespace_ = "ml";
  r.jobName = "train";
  r.jobUid = "j-1";
  r.minAvailable = setting;
  r.pods = pods;
  r.selectorKey = "batch.kubernetes.io/controller-uid";
  r.selectorValue = "j-1";
  return r.manifest();
}

// A PDB as spotfit wrote it before minAvailable was converted: a percentage, no annotation, no policy.
constexpr const char* kOldPdb = R"({"apiVersion":"policy/v1","kind":"PodDisruptionBudget",
  "metadata":{"name":"train-spotfit","namespace":"ml","labels":{"app.kubernetes.io/managed-by":"spotfit"},
    "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"train","uid":"j-1"}]},
  "spec":{"minAvailable":"50%","selector":{"matchLabels":{"batch.kubernetes.io/controller-uid":"j-1"}}}})";

kube::Job job(const std::string& text) {
  auto doc = kube::json::parse(text);
  EXPECT_TRUE(doc.ok());
  auto j = kube::decodeJob(*doc);
  EXPECT_TRUE(j.ok()) << j.error().message;
  return *j;
}

kube::PodDisruptionBudget pdb(const std::string& text) {
  auto doc = kube::json::parse(text);
  EXPECT_TRUE(doc.ok());
  auto p = kube::decodePodDisruptionBudget(*doc);
  EXPECT_TRUE(p.ok()) << p.error().message;
  return *p;
}

TEST(PdbReconcilePatch, FollowsTheJobAndLeavesOtherPdbsAlone) {
  EXPECT_EQ(pdbReconcilePatch(pdb(pdbJson(4)), job(jobJson(4))), std::nullopt) << "in step already";
  EXPECT_EQ(pdbReconcilePatch(pdb(pdbJson(4)), job(jobJson(8))),
            R"({"spec":{"minAvailable":4,"unhealthyPodEvictionPolicy":"AlwaysAllow"}})");
  EXPECT_EQ(pdbReconcilePatch(pdb(pdbJson(4, "3")), job(jobJson(2))),
            R"({"spec":{"minAvailable":1,"unhealthyPodEvictionPolicy":"AlwaysAllow"}})")
      << "an integer setting is capped at pods - 1 too";
  // 8 of 10 completions done: only 2 pods run, so 1 must stay evictable.
  EXPECT_EQ(pdbReconcilePatch(pdb(pdbJson(4)), job(jobJson(4, R"(,"completions":10)", R"({"succeeded":8})"))),
            R"({"spec":{"minAvailable":1,"unhealthyPodEvictionPolicy":"AlwaysAllow"}})");
  // An older spotfit's PDB: converted, and the setting recorded.
  EXPECT_EQ(pdbReconcilePatch(pdb(kOldPdb), job(jobJson(4))),
            R"({"metadata":{"annotations":{"spotfit.io/min-available":"50%"}},)"
            R"("spec":{"minAvailable":2,"unhealthyPodEvictionPolicy":"AlwaysAllow"}})");

  // Not ours to change.
  std::string foreign = pdbJson(4);
  foreign.replace(foreign.find("\"spotfit\""), 9, "\"helm\"");
  EXPECT_EQ(pdbReconcilePatch(pdb(foreign), job(jobJson(8))), std::nullopt) << "another manager's PDB";
  EXPECT_EQ(pdbReconcilePatch(pdb(pdbJson(4)), job(jobJson(8, "", "{}", "j-2"))), std::nullopt)
      << "a recreated Job of the same name";
  EXPECT_EQ(pdbReconcilePatch(pdb(pdbJson(4)),
                              job(jobJson(8, "", R"({"conditions":[{"type":"Complete","status":"True"}]})"))),
            std::nullopt)
      << "a finished Job runs no pods";
  EXPECT_EQ(pdbReconcilePatch(pdb(pdbJson(4)), job(jobJson(8, R"(,"suspend":true)"))), std::nullopt);
}

struct Cluster {
  FakeApiServer api;
  std::unique_ptr<kube::RestClient> client = kube::RestClient::create(api.clientConfig()).value();
  kube::Informer<kube::Job> jobs{*client, kube::resources::kJobs, kube::decodeJob};
  std::unique_ptr<kube::Informer<kube::PodDisruptionBudget>> pdbs = [this] {
    kube::InformerOptions o;
    o.labelSelector = kSpotfitPdbSelector;
    return kube::makePdbInformer(*client, kube::SystemClock::instance(), o);
  }();
  int observedFailures = 0;
  PdbReconciler reconciler{*client, jobs.store(), pdbs->store(),
                           [this](const std::string&, const Status& s) { observedFailures += s.ok() ? 0 : 1; }};

  Cluster() {
    feedFrom(jobs, reconciler);
    feedFrom(*pdbs, reconciler);
  }
  ~Cluster() {
    jobs.stop();
    pdbs->stop();
    reconciler.stop();
  }
  void start() {
    jobs.start();
    pdbs->start();
    ASSERT_TRUE(jobs.waitForSync(std::chrono::seconds(30)));
    ASSERT_TRUE(pdbs->waitForSync(std::chrono::seconds(30)));
  }
  int64_t storedMinAvailable() {
    auto d = testing::parseJson(api.object("poddisruptionbudgets", "ml", "train-spotfit").value());
    return d["spec"]["minAvailable"].IsInt64() ? d["spec"]["minAvailable"].GetInt64() : -1;
  }
  // Changes the Job's parallelism and waits until the informer (and so the reconciler's queue) saw it.
  void scale(int parallelism) {
    api.upsert("jobs", jobJson(parallelism));
    ASSERT_TRUE(jobs.waitUntil(
        [&] {
          auto j = jobs.store().get("ml/train");
          return j && j->parallelism == parallelism;
        },
        std::chrono::seconds(30)));
  }
};

TEST(PdbReconciler, PatchesMinAvailableWhenTheJobScalesAndRetriesFailures) {
  Cluster c;
  c.api.upsert("jobs", jobJson(4));
  c.api.upsert("poddisruptionbudgets", pdbJson(4));
  c.start();
  EXPECT_EQ(c.reconciler.reconcileOnce().patched, 0u) << "in step: no write";
  EXPECT_EQ(c.api.countRequests("PATCH", "poddisruptionbudgets"), 0u);

  c.scale(8);
  EXPECT_GE(c.reconciler.pending(), 1u);
  EXPECT_EQ(c.reconciler.reconcileOnce().patched, 1u);
  EXPECT_EQ(c.storedMinAvailable(), 4);

  testsupport::Fault f;
  f.method = "PATCH";
  f.pathContains = "poddisruptionbudgets";
  f.status = 403;  // not transient: the client does not retry it itself
  f.times = 1;
  c.api.injectFault(f);
  c.scale(2);
  auto failed = c.reconciler.reconcileOnce();
  EXPECT_EQ(failed.failed, 1u);
  EXPECT_EQ(c.observedFailures, 1);
  EXPECT_EQ(c.storedMinAvailable(), 4);
  EXPECT_EQ(c.reconciler.pending(), 1u) << "kept for the next pass";
  EXPECT_EQ(c.reconciler.reconcileOnce().patched, 1u);
  EXPECT_EQ(c.storedMinAvailable(), 1);

  // The worker does the same on its own, promptly after the Job's update.
  c.reconciler.start(std::chrono::seconds(30));
  c.scale(6);
  EXPECT_TRUE(c.pdbs->waitUntil(
      [&] {
        auto p = c.pdbs->store().get("ml/train-spotfit");
        return p && p->minAvailable && p->minAvailable->value == 3;
      },
      std::chrono::seconds(30)));
  EXPECT_EQ(c.storedMinAvailable(), 3);
}

TEST(PdbReconciler, ConvertsAPercentagePdbOfAnOlderVersion) {
  Cluster c;
  c.api.upsert("jobs", jobJson(4));
  c.api.upsert("poddisruptionbudgets", kOldPdb);
  c.start();
  EXPECT_EQ(c.reconciler.reconcileOnce().patched, 1u);
  auto d = testing::parseJson(c.api.object("poddisruptionbudgets", "ml", "train-spotfit").value());
  ASSERT_TRUE(d["spec"]["minAvailable"].IsInt());
  EXPECT_EQ(d["spec"]["minAvailable"].GetInt(), 2);
  EXPECT_STREQ(d["spec"]["unhealthyPodEvictionPolicy"].GetString(), "AlwaysAllow");
  EXPECT_STREQ(d["metadata"]["annotations"]["spotfit.io/min-available"].GetString(), "50%");
}

}  // namespace
}  // namespace spotfit::webhook

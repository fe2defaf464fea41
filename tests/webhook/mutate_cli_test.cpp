// `spotfit mutate` runs the real binary: exit codes and output are part of the interface.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "base/base64.hpp"
#include "support/spotfit_cli.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

namespace fs = std::filesystem;

using spotfit::testsupport::CliRun;
using spotfit::testsupport::runSpotfit;
using spotfit::testsupport::Streams;

class MutateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("spotfit-mutate-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string write(const std::string& name, const std::string& text) {
    fs::path p = dir_ / name;
    std::ofstream(p) << text;
    return p.string();
  }
  fs::path dir_;
};

const char* kJob = R"(apiVersion: batch/v1
kind: Job
metadata:
  name: train
  annotations: {spotfit.io/checkpoint: "save.sh"}
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: main
          image: busybox
          resources: {requests: {cpu: 500m}}
)";

TEST_F(MutateCli, PrintsTheMutatedJob) {
  CliRun r = runSpotfit("mutate -f " + write("job.yaml", kJob), Streams::kStdoutOnly);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto d = testing::parseJson(r.out);
  const auto& tmpl = d["spec"]["template"];
  EXPECT_STREQ(tmpl["metadata"]["labels"]["spotfit.io/workflow"].GetString(), "train");
  EXPECT_EQ(tmpl["spec"]["terminationGracePeriodSeconds"].GetInt(), 120);
  EXPECT_STREQ(tmpl["spec"]["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][2].GetString(), "save.sh");
}

TEST_F(MutateCli, PatchAppliesToTheInput) {
  // A Job's pod: batch pods are in scope (unannotated bare pods are left alone, as by the webhook).
  const std::string json = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"a/b~c":"x"},
    "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"j","uid":"j-uid","controller":true}]},
    "spec":{"containers":[{"name":"c"}]}})";
  CliRun r = runSpotfit("mutate --patch -f " + write("pod.json", json), Streams::kStdoutOnly);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto pod = testing::parseJson(json);
  ASSERT_EQ(testing::applyJsonPatch(pod, r.out), "") << r.out;
  EXPECT_STREQ(pod["spec"]["tolerations"][0]["value"].GetString(), "spot");
}

TEST_F(MutateCli, VpaFileSetsRequests) {
  const std::string vpa = R"(apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: v, namespace: default}
spec: {targetRef: {kind: Job, name: train}}
status: {recommendation: {containerRecommendations: [{containerName: main, target: {cpu: 1500m}}]}}
)";
  CliRun r =
      runSpotfit("mutate -f " + write("job.yaml", kJob) + " --vpa " + write("vpa.yaml", vpa), Streams::kStdoutOnly);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto d = testing::parseJson(r.out);
  EXPECT_STREQ(d["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"]["cpu"].GetString(), "1500m");
}

TEST_F(MutateCli, AdmissionReviewInReviewOut) {
  const std::string review = R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"r-1",
    "kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"ml",
    "object":{"metadata":{"name":"p","annotations":{"spotfit.io/capacity-type":"spot"}},"spec":{"containers":[{"name":"c"}]}}}})";
  CliRun r = runSpotfit("mutate -f " + write("review.json", review), Streams::kStdoutOnly);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto d = testing::parseJson(r.out);
  EXPECT_STREQ(d["response"]["uid"].GetString(), "r-1");
  EXPECT_STREQ(d["response"]["patchType"].GetString(), "JSONPatch");
  EXPECT_TRUE(base::base64Decode(d["response"]["patch"].GetString()));
}

TEST_F(MutateCli, RefusedObjectExits1WithTheReason) {
  const std::string pod =
      R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","annotations":{"spotfit.io/budget":"5","spotfit.io/budget-action":"deny"}},
    "spec":{"containers":[{"name":"c"}]}})";
  CliRun r = runSpotfit("mutate -f " + write("pod.json", pod) + " --spend p=7.25");
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out,
            "spotfit mutate: refused: spotfit: workflow p has spent $7.25 of its $5.00 budget "
            "(spotfit.io/budget-action=deny)\n");
}

TEST_F(MutateCli, BadInputIsOneClearLine) {
  CliRun missing = runSpotfit("mutate -f " + (dir_ / "nope.yaml").string());
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_EQ(missing.out, "spotfit mutate: cannot read " + (dir_ / "nope.yaml").string() + "\n");
  CliRun kind = runSpotfit("mutate -f " + write("dep.yaml", "apiVersion: apps/v1\nkind: Deployment\n"));
  EXPECT_EQ(kind.exitCode, 1);
  EXPECT_NE(kind.out.find("kind 'apps/v1/Deployment' is not previewed: spotfit mutates v1 Pods and batch/v1 Jobs"),
            std::string::npos)
      << kind.out;
  CliRun yaml = runSpotfit("mutate -f " + write("bad.yaml", "a: [1\n"));
  EXPECT_EQ(yaml.exitCode, 1);
  EXPECT_NE(yaml.out.find("not valid YAML"), std::string::npos);
  CliRun noFile = runSpotfit("mutate");
  EXPECT_EQ(noFile.exitCode, 2);
  CliRun badSpend = runSpotfit("mutate -f x --spend nothing");
  EXPECT_EQ(badSpend.exitCode, 2);
  CliRun config =
      runSpotfit("mutate -f " + write("job.yaml", kJob) + " --config " + write("c.yaml", "webhook:\n  bogus: 1\n"));
  EXPECT_EQ(config.exitCode, 1);
  EXPECT_NE(config.out.find("webhook.bogus: unknown key (line 2)"), std::string::npos) << config.out;
}

}  // namespace
}  // namespace spotfit::webhook

namespace spotfit::webhook {
namespace {

TEST_F(MutateCli, ServeRefusesABadWebhookSection) {
  ASSERT_EQ(runSpotfit("certs --out " + (dir_ / "certs").string() + " --dns localhost").exitCode, 0);
  const std::string cfg = write("serve.yaml", "webhook:\n  pdb:\n    minParallelism: one\n");
  CliRun r = runSpotfit("serve --config " + cfg + " --https-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 " +
                        "--tls-cert-file " + (dir_ / "certs/tls.crt").string() + " --tls-key-file " +
                        (dir_ / "certs/tls.key").string());
  EXPECT_EQ(r.exitCode, 1) << r.out;
  EXPECT_NE(r.out.find("webhook.pdb.minParallelism: must be an integer, got 'one' (line 3)"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace spotfit::webhook

// `spotfit mutate` on what people actually apply: multi-document streams, Lists, CronJobs, the pod
// templates of batch kinds, -o yaml and the PDB a parallel Job's pods get. Runs the real binary.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "kube/json.hpp"
#include "support/spotfit_cli.hpp"
#include "webhook/test_support.hpp"
#include "webhook/yaml_json.hpp"

namespace spotfit::webhook {
namespace {

namespace fs = std::filesystem;

using spotfit::testsupport::CliRun;
using spotfit::testsupport::runSpotfit;
using spotfit::testsupport::Streams;

class MutatePreview : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("spotfit-preview-" + std::to_string(::getpid()) + "-" +
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

const char* kPod = R"(apiVersion: v1
kind: Pod
metadata:
  name: solo
  # A bare pod is batch work (and mutated) only when it carries a spotfit.io/ annotation (webhook/scope.hpp).
  annotations: {spotfit.io/capacity-type: spot-preferred}
spec:
  containers: [{name: c, image: busybox}]
)";

const char* kParallelJob = R"(apiVersion: batch/v1
kind: Job
metadata: {name: train, namespace: ml}
spec:
  parallelism: 4
  template:
    spec:
      restartPolicy: Never
      containers: [{name: main, image: busybox, resources: {requests: {cpu: 500m}}}]
)";

bool toleratesSpot(const spotfit::kube::json::Value& podSpec) {
  if (!podSpec.HasMember("tolerations")) return false;
  for (const auto& t : podSpec["tolerations"].GetArray()) {
    if (t.HasMember("value") && std::string(t["value"].GetString()) == "spot") return true;
  }
  return false;
}

// Before: only the first document was mutated and the rest dropped, exit 0.
TEST_F(MutatePreview, EveryDocumentOfAStreamAndThePdbOfAParallelJob) {
  CliRun r =
      runSpotfit("mutate -f " + write("all.yaml", std::string(kPod) + "---\n" + kParallelJob), Streams::kStdoutOnly);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto d = testing::parseJson(r.out);
  ASSERT_STREQ(d["kind"].GetString(), "List");
  const auto& items = d["items"];
  ASSERT_EQ(items.Size(), 3u) << r.out;
  EXPECT_STREQ(items[0]["kind"].GetString(), "Pod");
  EXPECT_TRUE(toleratesSpot(items[0]["spec"]));
  EXPECT_STREQ(items[1]["kind"].GetString(), "Job");
  EXPECT_TRUE(toleratesSpot(items[1]["spec"]["template"]["spec"]));
  const auto& pdb = items[2];
  EXPECT_STREQ(pdb["kind"].GetString(), "PodDisruptionBudget");
  EXPECT_STREQ(pdb["metadata"]["namespace"].GetString(), "ml");
  EXPECT_STREQ(pdb["metadata"]["ownerReferences"][0]["kind"].GetString(), "Job");
  EXPECT_STREQ(pdb["metadata"]["ownerReferences"][0]["name"].GetString(), "train");
}

TEST_F(MutatePreview, AJobBelowMinParallelismGetsNoPdb) {
  const std::string job = R"(apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: main, image: busybox}]}}}
)";
  CliRun r = runSpotfit("mutate -f " + write("job.yaml", job), Streams::kStdoutOnly);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto d = testing::parseJson(r.out);
  EXPECT_STREQ(d["kind"].GetString(), "Job");  // one object in, one object out, as before
}

TEST_F(MutatePreview, AListInIsAListOut) {
  const std::string list = R"({"apiVersion":"v1","kind":"List","items":[
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"a","annotations":{"spotfit.io/capacity-type":"spot-preferred"}},"spec":{"containers":[{"name":"c"}]}},
    {"apiVersion":"v1","kind":"Pod","metadata":{"name":"b","annotations":{"spotfit.io/capacity-type":"spot-preferred"}},"spec":{"containers":[{"name":"c"}]}}]})";
  CliRun r = runSpotfit("mutate -f " + write("list.json", list), Streams::kStdoutOnly);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto d = testing::parseJson(r.out);
  ASSERT_EQ(d["items"].Size(), 2u);
  EXPECT_STREQ(d["items"][1]["metadata"]["name"].GetString(), "b");
  EXPECT_TRUE(toleratesSpot(d["items"][1]["spec"]));
}

TEST_F(MutatePreview, YamlOutputReadsBackAsTheSameObjects) {
  const std::string in = write("all.yaml", std::string(kPod) + "---\n" + kParallelJob);
  CliRun yaml = runSpotfit("mutate -o yaml -f " + in, Streams::kStdoutOnly);
  ASSERT_EQ(yaml.exitCode, 0) << yaml.out;
  EXPECT_EQ(yaml.out.find('{'), yaml.out.find("{}")) << "block style expected:\n" << yaml.out;
  std::vector<json::Document> docs;
  ASSERT_TRUE(yamlToJsonAll(yaml.out, docs).ok()) << yaml.out;
  CliRun json = runSpotfit("mutate -f " + in, Streams::kStdoutOnly);
  auto list = testing::parseJson(json.out);
  ASSERT_EQ(docs.size(), list["items"].Size());
  for (size_t i = 0; i < docs.size(); ++i)
    EXPECT_TRUE(docs[i] == list["items"][static_cast<rapidjson::SizeType>(i)]) << i;
}

TEST_F(MutatePreview, CronJobShowsWhatItsJobsGet) {
  const std::string cron = R"(apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    metadata: {annotations: {spotfit.io/checkpoint: save.sh}}
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: main, image: busybox}]
)";
  CliRun r = runSpotfit("mutate -f " + write("cron.yaml", cron), Streams::kStdoutOnly);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto d = testing::parseJson(r.out);
  EXPECT_STREQ(d["kind"].GetString(), "CronJob");
  const auto& jt = d["spec"]["jobTemplate"];
  EXPECT_FALSE(jt["metadata"].HasMember("name"));
  EXPECT_FALSE(jt["metadata"].HasMember("ownerReferences"));
  const auto& podSpec = jt["spec"]["template"]["spec"];
  EXPECT_TRUE(toleratesSpot(podSpec));
  EXPECT_STREQ(podSpec["containers"][0]["lifecycle"]["preStop"]["exec"]["command"][2].GetString(), "save.sh");
  CliRun notes = runSpotfit("mutate -f " + write("cron2.yaml", cron), Streams::kStderrOnly);
  EXPECT_NE(notes.out.find("batch/v1 CronJob nightly: not mutated itself; spec.jobTemplate shows"), std::string::npos)
      << notes.out;
}

TEST_F(MutatePreview, PodTemplatesOfBatchKindsShowWhatTheirPodsGet) {
  const std::string stream = R"(apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: bert}
spec:
  pytorchReplicaSpecs:
    Master: {replicas: 1, template: {spec: {containers: [{name: pytorch, image: x}]}}}
    Worker: {replicas: 3, template: {metadata: {labels: {role: w}}, spec: {containers: [{name: pytorch, image: x}]}}}
---
apiVersion: ray.io/v1
kind: RayCluster
metadata: {name: rc}
spec:
  headGroupSpec: {template: {spec: {containers: [{name: head, image: x}]}}}
  workerGroupSpecs: [{groupName: small, template: {spec: {containers: [{name: w, image: x}]}}}]
---
apiVersion: jobset.x-k8s.io/v1alpha2
kind: JobSet
metadata: {name: js}
spec:
  replicatedJobs:
    - name: workers
      template: {spec: {parallelism: 2, template: {spec: {restartPolicy: Never, containers: [{name: w, image: x}]}}}}
---
apiVersion: batch.volcano.sh/v1alpha1
kind: Job
metadata: {name: vj}
spec:
  tasks: [{name: ps, replicas: 1, template: {spec: {containers: [{name: ps, image: x}]}}}]
)";
  const std::string in = write("kinds.yaml", stream);
  CliRun r = runSpotfit("mutate -f " + in, Streams::kStdoutOnly);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto d = testing::parseJson(r.out);
  const auto& items = d["items"];
  ASSERT_EQ(items.Size(), 4u) << r.out;
  const auto& specs = items[0]["spec"]["pytorchReplicaSpecs"];
  EXPECT_TRUE(toleratesSpot(specs["Master"]["template"]["spec"]));
  EXPECT_TRUE(toleratesSpot(specs["Worker"]["template"]["spec"]));
  EXPECT_STREQ(specs["Worker"]["template"]["metadata"]["labels"]["role"].GetString(), "w");
  EXPECT_FALSE(specs["Worker"]["template"]["metadata"].HasMember("ownerReferences"));
  EXPECT_TRUE(toleratesSpot(items[1]["spec"]["headGroupSpec"]["template"]["spec"]));
  EXPECT_TRUE(toleratesSpot(items[1]["spec"]["workerGroupSpecs"][0]["template"]["spec"]));
  EXPECT_TRUE(toleratesSpot(items[2]["spec"]["replicatedJobs"][0]["template"]["spec"]["template"]["spec"]));
  EXPECT_TRUE(toleratesSpot(items[3]["spec"]["tasks"][0]["template"]["spec"]));
  CliRun notes = runSpotfit("mutate -f " + in, Streams::kStderrOnly);
  EXPECT_NE(notes.out.find("kubeflow.org/v1 PyTorchJob bert: not mutated itself; its templates show what each pod "
                           "gets (Master, Worker)"),
            std::string::npos)
      << notes.out;
  EXPECT_NE(notes.out.find("JobSet js: not mutated itself; its templates show what each Job gets (workers)"),
            std::string::npos)
      << notes.out;
}

TEST_F(MutatePreview, KindsNotPreviewedAreNamedAndPrintedUnchanged) {
  const std::string stream = std::string(R"(apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {name: wf}
spec: {entrypoint: main, templates: [{name: main, container: {image: x}}]}
---
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {name: spark}
spec: {driver: {cores: 1}, executor: {instances: 2}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cm}
data: {a: "1"}
---
)") + kPod;
  const std::string in = write("mixed.yaml", stream);
  CliRun r = runSpotfit("mutate -f " + in, Streams::kStdoutOnly);
  ASSERT_EQ(r.exitCode, 0) << r.out;
  auto d = testing::parseJson(r.out);
  ASSERT_EQ(d["items"].Size(), 4u);
  EXPECT_FALSE(d["items"][0]["spec"]["templates"][0].HasMember("tolerations"));
  EXPECT_STREQ(d["items"][2]["data"]["a"].GetString(), "1");
  EXPECT_TRUE(toleratesSpot(d["items"][3]["spec"]));
  CliRun notes = runSpotfit("mutate -f " + in, Streams::kStderrOnly);
  for (const char* want : {"note: argoproj.io/v1alpha1 Workflow wf: not previewed, printed unchanged: Argo builds",
                           "note: sparkoperator.k8s.io/v1beta2 SparkApplication spark: not previewed",
                           "note: v1 ConfigMap cm: not previewed"}) {
    EXPECT_NE(notes.out.find(want), std::string::npos) << want << "\n" << notes.out;
  }
  CliRun alone = runSpotfit("mutate -f " + write("wf.yaml", "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\n"));
  EXPECT_EQ(alone.exitCode, 1);
  EXPECT_NE(alone.out.find("kind 'argoproj.io/v1alpha1/Workflow' is not previewed: Argo builds"), std::string::npos)
      << alone.out;
}

TEST_F(MutatePreview, PatchTakesOneObjectAndOutputTakesJsonOrYaml) {
  CliRun two = runSpotfit("mutate --patch -f " + write("two.yaml", std::string(kPod) + "---\n" + kPod));
  EXPECT_EQ(two.exitCode, 1);
  EXPECT_NE(two.out.find("--patch takes a single Pod, Job or AdmissionReview;"), std::string::npos) << two.out;
  CliRun bad = runSpotfit("mutate -o xml -f " + write("pod.yaml", kPod));
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_NE(bad.out.find("--output takes json or yaml, got 'xml'"), std::string::npos) << bad.out;
}

TEST_F(MutatePreview, ARefusalInAStreamExits1AndNamesTheObject) {
  const std::string denied = R"(apiVersion: v1
kind: Pod
metadata: {name: p, annotations: {spotfit.io/budget: "5", spotfit.io/budget-action: deny}}
spec: {containers: [{name: c}]}
)";
  CliRun r = runSpotfit("mutate --spend p=7 -f " + write("s.yaml", std::string(kPod) + "---\n" + denied));
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.out.find("spotfit mutate: v1 Pod p: refused: spotfit: workflow p has spent $7.00"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace spotfit::webhook

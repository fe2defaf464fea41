// Issue 13 items 3 and 4 at the admission path: batch-only scope (owners matched by API group and kind),
// coordinator roles kept on on-demand, helper containers without checkpoint hooks, workflow identity
// (CronJob runs, generateName Jobs, batch owners) and a deny budget decided once at the Job.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "webhook/admitter.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/scope.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::applyJsonPatch;
using testing::parseJson;

std::string review(const std::string& object, const std::string& kind = "Pod") {
  std::string gvk = kind == "Job" ? R"({"group":"batch","version":"v1","kind":"Job"})"
                                  : R"({"group":"","version":"v1","kind":"Pod"})";
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":)" + gvk +
         R"(,"operation":"CREATE","namespace":"ml","object":)" + object + "}}";
}

// A pod with the given metadata members (JSON text) and the given containers (JSON array text).
std::string pod(const std::string& meta, const std::string& containers = R"([{"name":"main","image":"x"}])") {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"namespace":"ml")" + (meta.empty() ? "" : "," + meta) +
         R"(},"spec":{"containers":)" + containers + "}}";
}

std::string owner(const std::string& apiVersion, const std::string& kind, const std::string& name) {
  return R"("ownerReferences":[{"apiVersion":")" + apiVersion + R"(","kind":")" + kind + R"(","name":")" + name +
         R"(","uid":")" + name + R"(-uid","controller":true}])";
}

std::string job(const std::string& meta, const std::string& templateMeta = "{}") {
  return R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"namespace":"ml",)" + meta +
         R"(},"spec":{"parallelism":2,"template":{"metadata":)" + templateMeta +
         R"(,"spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"x"}]}}}})";
}

struct Identity : ::testing::Test {
  WebhookConfig config;
  JobIndex jobs;
  StaticSpend spend;
  RecordingPdbEnsurer pdbs;
  RecordingEvents events;

  Admission run(const std::string& body) {
    AdmitterPorts p;
    p.jobs = &jobs;
    p.spend = &spend;
    p.pdbs = &pdbs;
    p.events = &events;
    return Admitter(config, p).review(body);
  }
  // The object after the webhook's patch.
  json::Document admitted(const std::string& object, const std::string& kind = "Pod") {
    Admission a = run(review(object, kind));
    EXPECT_TRUE(a.response.allowed) << a.body;
    auto d = parseJson(object);
    if (!a.response.patch.empty()) {
      EXPECT_EQ(applyJsonPatch(d, a.response.patch), "");
    }
    return d;
  }
};

std::string str(const json::Value& v, const char* a, const char* b, const char* key) {
  if (!v.HasMember(a) || !v[a].HasMember(b) || !v[a][b].HasMember(key)) return "<absent>";
  return v[a][b][key].GetString();
}

// ---- scope: only batch pods

TEST_F(Identity, StatefulSetDeploymentAndDaemonSetPodsAreLeftAlone) {
  for (const auto& [api, kind] :
       {std::pair{"apps/v1", "StatefulSet"}, {"apps/v1", "ReplicaSet"}, {"apps/v1", "DaemonSet"}}) {
    SCOPED_TRACE(kind);
    Admission a = run(review(pod(R"("name":"postgres-0",)" + owner(api, kind, "postgres"))));
    EXPECT_EQ(a.result, ReviewResult::Skipped);
    EXPECT_TRUE(a.response.patch.empty());
  }
}

TEST_F(Identity, NonBatchPodsAreMutatedWhenAnnotated) {
  auto d = admitted(pod(R"("name":"postgres-0","annotations":{"spotfit.io/capacity-type":"spot"},)" +
                        owner("apps/v1", "StatefulSet", "postgres")));
  EXPECT_EQ(str(d, "metadata", "annotations", "spotfit.io/mutated").find("capacity-affinity"), 0u);
}

TEST_F(Identity, BarePodsNeedASpotfitAnnotation) {
  EXPECT_EQ(run(review(pod(R"("name":"debug")"))).result, ReviewResult::Skipped);
  EXPECT_EQ(run(review(pod(R"("name":"debug","annotations":{"spotfit.io/mutated":"tolerations"})"))).result,
            ReviewResult::Skipped)
      << "spotfit's own record is not a request";
  EXPECT_EQ(run(review(pod(R"("name":"one-off","annotations":{"spotfit.io/workflow":"adhoc"})"))).result,
            ReviewResult::Patched);
}

TEST_F(Identity, BatchOwnersAreMatchedByGroupAndKind) {
  const std::pair<const char*, const char*> batch[] = {{"batch/v1", "Job"},
                                                       {"batch.volcano.sh/v1alpha1", "Job"},
                                                       {"argoproj.io/v1alpha1", "Workflow"},
                                                       {"ray.io/v1", "RayCluster"},
                                                       {"ray.io/v1", "RayJob"},
                                                       {"jobset.x-k8s.io/v1alpha2", "JobSet"},
                                                       {"kubeflow.org/v1", "PyTorchJob"},
                                                       {"trainer.kubeflow.org/v1alpha1", "TrainJob"},
                                                       {"sparkoperator.k8s.io/v1beta2", "SparkApplication"}};
  for (const auto& [api, kind] : batch) {
    SCOPED_TRACE(std::string(api) + " " + kind);
    EXPECT_EQ(run(review(pod(R"("name":"p",)" + owner(api, kind, "run-1")))).result, ReviewResult::Patched);
  }
  // Same kind, another group: not a batch owner.
  EXPECT_EQ(run(review(pod(R"("name":"p",)" + owner("example.com/v1", "Job", "x")))).result, ReviewResult::Skipped);
  EXPECT_EQ(run(review(pod(R"("name":"p",)" + owner("example.com/v1", "Workflow", "x")))).result,
            ReviewResult::Skipped);
  // The list is configuration.
  config.scope.batchOwners = {"example.com/Job"};
  EXPECT_EQ(run(review(pod(R"("name":"p",)" + owner("example.com/v1", "Job", "x")))).result, ReviewResult::Patched);
  EXPECT_EQ(run(review(pod(R"("name":"p",)" + owner("batch/v1", "Job", "x")))).result, ReviewResult::Skipped);
}

TEST_F(Identity, SparkExecutorsOwnedByTheirDriverPodAreBatchByLabel) {
  auto d = admitted(pod(R"("name":"exec-1","labels":{"spark-role":"executor","spark-app-name":"etl"},)" +
                        owner("v1", "Pod", "etl-driver")));
  EXPECT_EQ(str(d, "metadata", "labels", "spotfit.io/workflow"), "etl");
  EXPECT_TRUE(d["spec"].HasMember("tolerations")) << "executors keep spot";
}

TEST_F(Identity, AVolcanoJobIsNotTakenForABatchV1Job) {
  // Before: owner("Job") matched any group, so the Volcano Job got a PDB selecting controller-uid and its
  // Job look-up; now it is a batch owner (mutated, its workflow) but not a batch/v1 Job.
  jobs.upsert("ml", "vj", JobInfo{"vj-uid", 4, ""});
  auto d = admitted(pod(R"("name":"vj-worker-0",)" + owner("batch.volcano.sh/v1alpha1", "Job", "vj")));
  EXPECT_EQ(str(d, "metadata", "labels", "spotfit.io/workflow"), "vj");
  EXPECT_TRUE(pdbs.requests().empty());
}

// ---- coordinators stay off spot

TEST_F(Identity, CoordinatorsStayOnDemandAndTheirWorkersKeepSpot) {
  struct Case {
    std::string labels, owner;
    bool coordinator;
  };
  const Case cases[] = {
      {R"("spark-role":"driver")", owner("sparkoperator.k8s.io/v1beta2", "SparkApplication", "etl"), true},
      {R"("spark-role":"executor")", owner("v1", "Pod", "etl-driver"), false},
      {R"("ray.io/node-type":"head")", owner("ray.io/v1", "RayCluster", "rc"), true},
      {R"("ray.io/node-type":"worker")", owner("ray.io/v1", "RayCluster", "rc"), false},
      {R"("training.kubeflow.org/replica-type":"master")", owner("kubeflow.org/v1", "PyTorchJob", "pt"), true},
      {R"("training.kubeflow.org/replica-type":"Launcher")", owner("kubeflow.org/v1", "MPIJob", "mpi"), true},
      {R"("training.kubeflow.org/replica-type":"worker")", owner("kubeflow.org/v1", "PyTorchJob", "pt"), false},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.labels);
    auto d = admitted(pod(R"("name":"p","labels":{)" + c.labels + "}," + c.owner));
    const auto& na = d["spec"]["affinity"]["nodeAffinity"];
    if (c.coordinator) {
      EXPECT_FALSE(d["spec"].HasMember("tolerations"));
      const auto& e =
          na["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0]["matchExpressions"][0];
      EXPECT_STREQ(e["values"][0].GetString(), "on-demand");
    } else {
      EXPECT_TRUE(d["spec"].HasMember("tolerations"));
      EXPECT_TRUE(na.HasMember("preferredDuringSchedulingIgnoredDuringExecution"));
    }
  }
}

TEST_F(Identity, AnAnnotatedCoordinatorGoesWhereItSays) {
  auto d =
      admitted(pod(R"("name":"p","labels":{"spark-role":"driver"},"annotations":{"spotfit.io/capacity-type":"spot"},)" +
                   owner("sparkoperator.k8s.io/v1beta2", "SparkApplication", "etl")));
  EXPECT_TRUE(d["spec"].HasMember("tolerations"));
  const auto& e = d["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                   ["nodeSelectorTerms"][0]["matchExpressions"][0];
  EXPECT_STREQ(e["values"][0].GetString(), "spot");
}

TEST_F(Identity, CoordinatorLabelsAreConfigurable) {
  config.scope.coordinators = {{"app.example.com/role", {"leader"}}};
  auto d = admitted(pod(R"("name":"p","labels":{"app.example.com/role":"leader","spark-role":"driver"},)" +
                        owner("batch/v1", "Job", "j")));
  EXPECT_FALSE(d["spec"].HasMember("tolerations"));
  auto e = admitted(pod(R"("name":"p","labels":{"spark-role":"driver"},)" + owner("batch/v1", "Job", "j")));
  EXPECT_TRUE(e["spec"].HasMember("tolerations")) << "the default roles were replaced";
}

// ---- helper containers get no checkpoint hook

TEST_F(Identity, ArgoWaitAndMeshProxiesGetNoCheckpointHook) {
  const std::string containers =
      R"([{"name":"main","image":"x"},{"name":"wait","image":"argoexec"},{"name":"istio-proxy","image":"proxy"},{"name":"linkerd-proxy","image":"proxy"}])";
  auto d = admitted(pod(R"("name":"wf-step","annotations":{"spotfit.io/checkpoint":"/save"},)" +
                            owner("argoproj.io/v1alpha1", "Workflow", "wf"),
                        containers));
  const auto& cs = d["spec"]["containers"];
  EXPECT_TRUE(cs[0].HasMember("lifecycle"));
  for (rapidjson::SizeType i = 1; i < cs.Size(); ++i)
    EXPECT_FALSE(cs[i].HasMember("lifecycle")) << cs[i]["name"].GetString();
  config.checkpoint.skipContainers = {"main"};
  auto e = admitted(pod(R"("name":"wf-step","annotations":{"spotfit.io/checkpoint":"/save"},)" +
                            owner("argoproj.io/v1alpha1", "Workflow", "wf"),
                        containers));
  EXPECT_FALSE(e["spec"]["containers"][0].HasMember("lifecycle"));
  EXPECT_TRUE(e["spec"]["containers"][1].HasMember("lifecycle"));
}

// ---- workflow identity

TEST_F(Identity, ACronJobsJobBelongsToTheCronJobsWorkflowWithTheJobAsTheRun) {
  const std::string j = job(R"("name":"nightly-29100000",)" + owner("batch/v1", "CronJob", "nightly"));
  auto d = admitted(j, "Job");
  const auto& t = d["spec"]["template"];
  EXPECT_STREQ(t["metadata"]["labels"]["spotfit.io/workflow"].GetString(), "nightly");
  EXPECT_STREQ(t["metadata"]["annotations"]["spotfit.io/workflow"].GetString(), "nightly");
  EXPECT_STREQ(t["metadata"]["labels"]["spotfit.io/run"].GetString(), "nightly-29100000");
}

TEST_F(Identity, ACronJobsPodSeenWithoutItsMutatedTemplateStillGetsTheCronJobWorkflow) {
  jobs.upsert("ml", "nightly-29100000", JobInfo{"nightly-29100000-uid", 1, "nightly"});
  auto d = admitted(pod(R"("name":"nightly-29100000-abcde",)" + owner("batch/v1", "Job", "nightly-29100000")));
  EXPECT_EQ(str(d, "metadata", "labels", "spotfit.io/workflow"), "nightly");
  EXPECT_EQ(str(d, "metadata", "labels", "spotfit.io/run"), "nightly-29100000");
}

TEST_F(Identity, TwoRunsOfACronJobSpendOneBudget) {
  spend.set("ml", "nightly", 45);
  const std::string ann = R"("annotations":{"spotfit.io/budget":"40","spotfit.io/budget-action":"deny"},)";
  for (const char* name : {"nightly-1", "nightly-2"}) {
    Admission a = run(
        review(job(std::string(R"("name":")") + name + "\"," + ann + owner("batch/v1", "CronJob", "nightly")), "Job"));
    EXPECT_EQ(a.result, ReviewResult::Denied) << name;
  }
}

TEST_F(Identity, AGenerateNameJobIsNamedByItsPrefixOrItsOwner) {
  auto d = admitted(job(R"("generateName":"train-")"), "Job");
  EXPECT_STREQ(d["spec"]["template"]["metadata"]["labels"]["spotfit.io/workflow"].GetString(), "train");
  auto e = admitted(job(R"("generateName":"step-",)" + owner("jobset.x-k8s.io/v1alpha2", "JobSet", "sweep")), "Job");
  EXPECT_STREQ(e["spec"]["template"]["metadata"]["labels"]["spotfit.io/workflow"].GetString(), "sweep");
}

TEST_F(Identity, AGenerateNameJobOverADenyBudgetIsRefusedOnceAtTheJob) {
  spend.set("ml", "train", 50);
  const std::string j =
      job(R"("generateName":"train-","annotations":{"spotfit.io/budget":"40","spotfit.io/budget-action":"deny"})");
  Admission a = run(review(j, "Job"));
  EXPECT_EQ(a.result, ReviewResult::Denied);
  EXPECT_EQ(a.response.status->code, 403);
  EXPECT_EQ(a.response.status->message,
            "spotfit: workflow train has spent $50.00 of its $40.00 budget (spotfit.io/budget-action=deny)");
}

TEST_F(Identity, PodsOfAnAdmittedJobAreNotRefusedForItsDenyBudget) {
  // The Job was admitted while within budget; its workflow has overspent since.
  spend.set("ml", "train-x7k2p", 50);
  Admission a = run(review(pod(
      R"("generateName":"train-x7k2p-","annotations":{"spotfit.io/budget":"40","spotfit.io/budget-action":"deny"},)" +
      owner("batch/v1", "Job", "train-x7k2p"))));
  EXPECT_EQ(a.result, ReviewResult::Patched) << a.body;
  ASSERT_EQ(a.response.warnings.size(), 1u);
  EXPECT_EQ(a.response.warnings[0],
            "spotfit: workflow train-x7k2p has spent $50.00 of its $40.00 budget; deny applies when a Job is created");
  // A bare pod has no Job to refuse: it is refused itself.
  spend.set("ml", "solo", 50);
  Admission b =
      run(review(pod(R"("name":"solo","annotations":{"spotfit.io/budget":"40","spotfit.io/budget-action":"deny"})")));
  EXPECT_EQ(b.result, ReviewResult::Denied);
}

// ---- configuration

TEST(ScopeConfig, ListsReplaceTheDefaultsAndBadEntriesNameTheirPath) {
  auto c = parseWebhookConfigText(
      "webhook:\n  scope:\n    batchOwners: [example.com/Job, Pod]\n    batchPodLabels: []\n"
      "    coordinators:\n      - {label: role, values: [leader]}\n  checkpoint:\n    skipContainers: [sidecar]\n");
  ASSERT_TRUE(c.ok()) << c.error().message;
  EXPECT_EQ(c->scope.batchOwners, (std::vector<std::string>{"example.com/Job", "Pod"}));
  EXPECT_TRUE(c->scope.batchPodLabels.empty());
  ASSERT_EQ(c->scope.coordinators.size(), 1u);
  EXPECT_EQ(c->scope.coordinators[0], (WebhookConfig::Scope::Role{"role", {"leader"}}));
  EXPECT_EQ(c->checkpoint.skipContainers, (std::vector<std::string>{"sidecar"}));
  EXPECT_EQ(WebhookConfig{}.checkpoint.skipContainers,
            (std::vector<std::string>{"istio-proxy", "linkerd-proxy", "wait", "init"}));

  auto noValues = parseWebhookConfigText("webhook:\n  scope:\n    coordinators:\n      - {label: role}\n");
  ASSERT_FALSE(noValues.ok());
  EXPECT_EQ(noValues.error().message, "webhook.scope.coordinators[0].values: must list at least one value (line 4)");
  auto badOwner = parseWebhookConfigText("webhook:\n  scope:\n    batchOwners: [a/b/Job]\n");
  ASSERT_FALSE(badOwner.ok());
  EXPECT_NE(badOwner.error().message.find("webhook.scope.batchOwners: entries are group/Kind"), std::string::npos)
      << badOwner.error().message;
  auto unknown = parseWebhookConfigText("webhook:\n  scope:\n    batchKinds: []\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().message, "webhook.scope.batchKinds: unknown key (line 3)");
}

// ---- the pure pieces

TEST(Scope, ApiGroupAndGenerateName) {
  EXPECT_EQ(apiGroup("batch/v1"), "batch");
  EXPECT_EQ(apiGroup("v1"), "");
  EXPECT_EQ(apiGroup("batch.volcano.sh/v1alpha1"), "batch.volcano.sh");
  EXPECT_EQ(workflowFromGenerateName("train-"), "train");
  EXPECT_EQ(workflowFromGenerateName("train"), "train");
  EXPECT_EQ(workflowFromGenerateName("a.b-"), "a.b");
  EXPECT_EQ(workflowFromGenerateName("---"), "");
}

TEST(Scope, PodScopeNamesEachRule) {
  WebhookConfig cfg;
  auto scopeOf = [&](const std::string& meta) {
    auto d = parseJson(pod(meta));
    return podScopeName(podScope(ObjectMeta(d, d.GetAllocator()), cfg));
  };
  EXPECT_EQ(scopeOf(owner("batch/v1", "Job", "j")), "batch-owner");
  EXPECT_EQ(scopeOf(R"("labels":{"spark-role":"driver"})"), "batch-label");
  EXPECT_EQ(scopeOf(R"("annotations":{"spotfit.io/budget":"5"})"), "annotated");
  EXPECT_EQ(scopeOf(owner("apps/v1", "StatefulSet", "db")), "not-batch");
  EXPECT_EQ(scopeOf(R"("annotations":{"example.com/x":"y"})"), "not-batch");
}

}  // namespace
}  // namespace spotfit::webhook

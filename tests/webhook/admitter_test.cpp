#include "webhook/admitter.hpp"

#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include <stdexcept>

#include "webhook/memory_ports.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::parseJson;
using testing::patchedBy;
using testing::toJson;

const char* kJobPod = R"({
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {
    "generateName": "train-",
    "namespace": "ml",
    "labels": {"batch.kubernetes.io/controller-uid": "job-uid-1", "batch.kubernetes.io/job-name": "train"},
    "annotations": {},
    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "train", "uid": "job-uid-1", "controller": true}]
  },
  "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}
})";

std::string review(const std::string& object, const std::string& extra = "", const std::string& kind = "Pod",
                   const std::string& ns = "ml") {
  std::string gvk = kind == "Job" ? R"({"group":"batch","version":"v1","kind":"Job"})"
                                  : R"({"group":"","version":"v1","kind":")" + kind + R"("})";
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-42","kind":)" + gvk +
         R"(,"operation":"CREATE","namespace":")" + ns + R"(","object":)" + object + extra + "}}";
}

// The object with `annotations` (JSON members text) set on its metadata.
std::string podWith(const std::string& annotations, const std::string& labels = "") {
  auto d = parseJson(kJobPod);
  auto& a = d.GetAllocator();
  auto extra = parseJson("{" + annotations + "}");
  for (auto& m : extra.GetObject())
    d["metadata"]["annotations"].AddMember(json::Value(m.name, a), json::Value(m.value, a), a);
  if (!labels.empty()) {
    auto l = parseJson("{" + labels + "}");
    for (auto& m : l.GetObject()) d["metadata"]["labels"].AddMember(json::Value(m.name, a), json::Value(m.value, a), a);
  }
  return toJson(d);
}

struct Fixture : ::testing::Test {
  WebhookConfig config;
  JobIndex jobs;
  NamespaceIndex namespaces;
  StaticSpend spend;
  RecordingPdbEnsurer pdbs;
  RecordingEvents events;
  VpaIndex vpas;
  prometheus::Registry registry;
  WebhookMetrics metrics{registry};

  AdmitterPorts ports() {
    AdmitterPorts p;
    p.vpas = &vpas;
    p.jobs = &jobs;
    p.namespaces = &namespaces;
    p.spend = &spend;
    p.pdbs = &pdbs;
    p.events = &events;
    p.metrics = &metrics;
    return p;
  }
  Admission run(const std::string& body) { return Admitter(config, ports()).review(body); }

  std::string metricsText() {
    prometheus::TextSerializer s;
    return s.Serialize(registry.Collect());
  }
};

json::Document responseOf(const Admission& a) {
  auto d = parseJson(a.body);
  EXPECT_STREQ(d["response"]["uid"].GetString(), "u-42");
  return d;
}

json::Document patched(const std::string& object, const Admission& a) {
  return patchedBy(object, a.body);
}

TEST_F(Fixture, MutatesAJobPodAndCountsIt) {
  Admission a = run(review(kJobPod));
  EXPECT_EQ(a.httpStatus, 200);
  EXPECT_EQ(a.result, ReviewResult::Patched);
  auto pod = patched(kJobPod, a);
  EXPECT_STREQ(pod["metadata"]["labels"]["spotfit.io/workflow"].GetString(), "train");
  EXPECT_STREQ(pod["spec"]["tolerations"][0]["key"].GetString(), "spotfit.io/capacity-type");
  EXPECT_EQ(
      pod["spec"]["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"][0]["weight"].GetInt(),
      100);
  const std::string m = metricsText();
  EXPECT_NE(m.find(R"(spotfit_webhook_admissions_total{kind="Pod",operation="CREATE",result="patched"} 1)"),
            std::string::npos);
  EXPECT_NE(m.find(R"(spotfit_webhook_mutations_total{change="tolerations"} 1)"), std::string::npos);
  EXPECT_NE(m.find("spotfit_webhook_admission_duration_seconds_count 1"), std::string::npos);
}

TEST_F(Fixture, EachPartCanBeSwitchedOff) {
  config.tolerations.enabled = false;
  config.affinity.enabled = false;
  config.labels.enabled = false;
  Admission a = run(review(kJobPod));
  EXPECT_EQ(a.result, ReviewResult::Unchanged) << a.body;
  EXPECT_FALSE(responseOf(a)["response"].HasMember("patch"));
}

TEST_F(Fixture, CapacityTypeLabelKeyIsConfigurable) {
  config.affinity.capacityTypeLabel = "karpenter.sh/capacity-type";
  auto pod = patched(kJobPod, run(review(podWith(R"("spotfit.io/capacity-type":"on-demand")"))));
  const auto& term =
      pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"][0];
  EXPECT_STREQ(term["matchExpressions"][0]["key"].GetString(), "karpenter.sh/capacity-type");
  EXPECT_STREQ(term["matchExpressions"][0]["values"][0].GetString(), "on-demand");
  EXPECT_FALSE(pod["spec"].HasMember("tolerations")) << "on-demand pods need no spot toleration";
}

TEST_F(Fixture, InvalidAnnotationIsRefusedNamingItAndTheValidValues) {
  struct Case {
    std::string annotation, message;
  };
  const std::vector<Case> cases = {
      {R"("spotfit.io/capacity-type":"cheap")",
       "spotfit.io/capacity-type=\"cheap\" is invalid: valid values are spot-preferred, spot, on-demand"},
      {R"("spotfit.io/budget-action":"panic")",
       "spotfit.io/budget-action=\"panic\" is invalid: valid values are alert, spot-only, deny"},
      {R"("spotfit.io/budget":"-5")", "spotfit.io/budget=\"-5\" is invalid"},
      {R"("spotfit.io/budget":"ten")", "spotfit.io/budget=\"ten\" is invalid"},
      {R"("spotfit.io/min-available":"half")", "spotfit.io/min-available=\"half\" is invalid"},
      {R"("spotfit.io/do-not-disrupt":"yes")", "valid values are true, false"},
      {R"("spotfit.io/checkpoint":"  ")", "spotfit.io/checkpoint"},
      {R"("spotfit.io/workflow":"has spaces")", "spotfit.io/workflow=\"has spaces\" is invalid"},
      {R"("spotfit.io/gpu-product":"A100/80")", "spotfit.io/gpu-product"},
  };
  for (const auto& c : cases) {
    Admission a = run(review(podWith(c.annotation)));
    EXPECT_EQ(a.httpStatus, 200);
    EXPECT_EQ(a.result, ReviewResult::Invalid) << c.annotation;
    auto resp = responseOf(a);
    EXPECT_FALSE(resp["response"]["allowed"].GetBool());
    EXPECT_FALSE(resp["response"].HasMember("patch"));
    EXPECT_EQ(resp["response"]["status"]["code"].GetInt(), 422);
    std::string msg = resp["response"]["status"]["message"].GetString();
    EXPECT_NE(msg.find(c.message), std::string::npos) << msg;
  }
}

TEST_F(Fixture, InvalidJobAnnotationIsRefusedToo) {
  const std::string job =
      R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","annotations":{"spotfit.io/capacity-type":"x"}},
    "spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}})";
  Admission a = run(review(job, "", "Job"));
  EXPECT_EQ(a.result, ReviewResult::Invalid);
}

TEST_F(Fixture, UndecodableBodiesGet400WithTheUidWhenReadable) {
  Admission a = run("{not json");
  EXPECT_EQ(a.httpStatus, 400);
  auto d = parseJson(a.body);
  EXPECT_STREQ(d["response"]["uid"].GetString(), "");
  EXPECT_NE(std::string(d["response"]["status"]["message"].GetString()).find("not JSON"), std::string::npos);

  Admission b = run(
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"abc","operation":"CREATE"}})");
  EXPECT_EQ(b.httpStatus, 400);
  auto e = parseJson(b.body);
  EXPECT_STREQ(e["response"]["uid"].GetString(), "abc");
  EXPECT_FALSE(e["response"]["allowed"].GetBool());
  EXPECT_NE(metricsText().find(R"(result="bad_request"} 2)"), std::string::npos);
}

TEST_F(Fixture, BodiesOverTheLimitAreRefused) {
  config.maxBodyBytes = 1024;
  Admission a = run(review(kJobPod, std::string(",\"pad\":\"") + std::string(2000, 'x') + "\""));
  EXPECT_EQ(a.httpStatus, 413);
  EXPECT_NE(a.body.find("exceeds the limit of 1024"), std::string::npos);
}

TEST_F(Fixture, V1beta1IsAnsweredInV1beta1) {
  std::string body = review(kJobPod);
  body.replace(body.find("admission.k8s.io/v1"), 19, "admission.k8s.io/v1beta1");
  auto d = parseJson(run(body).body);
  EXPECT_STREQ(d["apiVersion"].GetString(), "admission.k8s.io/v1beta1");
  EXPECT_TRUE(d["response"].HasMember("patch"));
}

TEST_F(Fixture, OutOfScopeRequestsAreAllowedWithoutPatch) {
  auto noPatch = [&](const std::string& body) {
    Admission a = run(body);
    auto d = parseJson(a.body);
    EXPECT_TRUE(d["response"]["allowed"].GetBool()) << body;
    EXPECT_FALSE(d["response"].HasMember("patch")) << body;
    EXPECT_EQ(a.result, ReviewResult::Skipped) << body;
  };
  noPatch(review(kJobPod, "", "Pod", "kube-system"));
  noPatch(review(kJobPod, "", "Pod", "spotfit-system"));
  noPatch(review(kJobPod, "", "Deployment"));
  noPatch(review(podWith("", R"("spotfit.io/skip":"true")")));
  std::string update = review(kJobPod);
  update.replace(update.find("CREATE"), 6, "UPDATE");
  noPatch(update);
  std::string sub = review(kJobPod, R"(,"subResource":"ephemeralcontainers")");
  noPatch(sub);
  // A namespace whose labels are known but not opted in.
  namespaces.upsert("ml", {{"team", "ml"}});
  noPatch(review(kJobPod));
  namespaces.upsert("ml", {{"spotfit.io/enabled", "true"}});
  EXPECT_EQ(run(review(kJobPod)).result, ReviewResult::Patched);
}

TEST_F(Fixture, JobTemplateSkipLabelOptsOut) {
  const std::string job = R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"},
    "spec":{"template":{"metadata":{"labels":{"spotfit.io/skip":"true"}},"spec":{"containers":[{"name":"c"}]}}}})";
  EXPECT_EQ(run(review(job, "", "Job")).result, ReviewResult::Skipped);
}

TEST_F(Fixture, SchedulerNameRoutesDefaultSchedulerPodsOnly) {
  auto withScheduler = [](const std::string& name) {
    auto d = parseJson(kJobPod);
    d["spec"].AddMember("schedulerName", json::Value(name.c_str(), d.GetAllocator()), d.GetAllocator());
    return toJson(d);
  };
  // Off by default: installs without the second scheduler keep working.
  EXPECT_FALSE(patched(kJobPod, run(review(kJobPod)))["spec"].HasMember("schedulerName"));

  config.schedulerName = "spotfit";
  auto unset = patched(kJobPod, run(review(kJobPod)));
  EXPECT_STREQ(unset["spec"]["schedulerName"].GetString(), "spotfit");
  EXPECT_NE(std::string(unset["metadata"]["annotations"]["spotfit.io/mutated"].GetString()).find("scheduler-name"),
            std::string::npos);
  const std::string defaulted = withScheduler("default-scheduler");  // what the apiserver's defaulting leaves
  EXPECT_STREQ(patched(defaulted, run(review(defaulted)))["spec"]["schedulerName"].GetString(), "spotfit");
  for (const char* other : {"volcano", "kueue-scheduler", "my-scheduler", "spotfit"}) {
    const std::string pod = withScheduler(other);
    EXPECT_STREQ(patched(pod, run(review(pod)))["spec"]["schedulerName"].GetString(), other)
        << "never overrides another scheduler";
  }
  // A Job's template gets it, so its pods arrive routed already.
  const std::string job = R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j","namespace":"ml"},
    "spec":{"template":{"spec":{"schedulerName":"default-scheduler","containers":[{"name":"c"}]}}}})";
  EXPECT_STREQ(patched(job, run(review(job, "", "Job")))["spec"]["template"]["spec"]["schedulerName"].GetString(),
               "spotfit");
  EXPECT_NE(metricsText().find(R"(spotfit_webhook_mutations_total{change="scheduler-name"} 3)"), std::string::npos)
      << metricsText();
}

TEST_F(Fixture, PdbIsQueuedForPodsOfParallelJobsOnly) {
  jobs.upsert("ml", "train", JobInfo{"job-uid-1", 4, ""});
  run(review(podWith(R"("spotfit.io/min-available":"3")")));
  auto reqs = pdbs.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].jobName, "train");
  EXPECT_EQ(reqs[0].jobUid, "job-uid-1");
  EXPECT_EQ(reqs[0].minAvailable, "3");
  EXPECT_EQ(reqs[0].pods, 4) << "the Job's parallelism, for the integer minAvailable";
  EXPECT_EQ(reqs[0].selectorKey, "batch.kubernetes.io/controller-uid");
  EXPECT_EQ(reqs[0].namespace_, "ml");

  run(review(kJobPod));
  ASSERT_EQ(pdbs.requests().size(), 2u);
  EXPECT_EQ(pdbs.requests()[1].minAvailable, "50%");

  jobs.upsert("ml", "train", JobInfo{"job-uid-1", 1, ""});
  run(review(kJobPod));
  EXPECT_EQ(pdbs.requests().size(), 2u) << "parallelism 1 needs no PDB";

  jobs.upsert("ml", "train", JobInfo{"another-uid", 5, ""});
  run(review(kJobPod));
  EXPECT_EQ(pdbs.requests().size(), 2u) << "a recreated Job with the same name is not ours";

  config.pdb.enabled = false;
  jobs.upsert("ml", "train", JobInfo{"job-uid-1", 5, ""});
  run(review(kJobPod));
  EXPECT_EQ(pdbs.requests().size(), 2u);
}

TEST_F(Fixture, WithoutAJobLookupThePdbWriterIsAskedToVerify) {
  AdmitterPorts p = ports();
  p.jobs = nullptr;
  Admitter admitter(config, p);
  admitter.review(review(kJobPod));
  auto reqs = pdbs.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].verifyMinParallelism, 2);
  EXPECT_EQ(reqs[0].pods, 0) << "unknown here: the writer takes it from the Job it reads";
  // A pod without a Job owner never asks.
  const std::string bare = R"({"metadata":{"name":"solo"},"spec":{"containers":[{"name":"c"}]}})";
  admitter.review(review(bare));
  EXPECT_EQ(pdbs.requests().size(), 1u);
}

TEST_F(Fixture, DryRunHasNoSideEffectsButTheSamePatch) {
  jobs.upsert("ml", "train", JobInfo{"job-uid-1", 4, ""});
  spend.set("ml", "train", 100);
  const std::string pod = podWith(R"("spotfit.io/budget":"10")");
  Admission dry = run(review(pod, R"(,"dryRun":true)"));
  EXPECT_TRUE(pdbs.requests().empty());
  EXPECT_TRUE(events.events().empty());
  Admission real = run(review(pod));
  EXPECT_EQ(pdbs.requests().size(), 1u);
  EXPECT_EQ(events.events().size(), 1u);
  EXPECT_EQ(dry.response.patch, real.response.patch);
}

TEST_F(Fixture, BudgetAlertWarnsAndRecordsAnEvent) {
  spend.set("ml", "train", 12.5);
  Admission a = run(review(podWith(R"("spotfit.io/budget":"10")")));
  EXPECT_TRUE(a.response.allowed);
  ASSERT_EQ(a.response.warnings.size(), 1u);
  EXPECT_EQ(a.response.warnings[0], "spotfit: workflow train has spent $12.50 of its $10.00 budget");
  auto ev = events.events();
  ASSERT_EQ(ev.size(), 1u);
  EXPECT_EQ(ev[0].reason, "BudgetExceeded");
  EXPECT_EQ(ev[0].involvedKind, "Job");
  EXPECT_EQ(ev[0].involvedName, "train");
  EXPECT_EQ(ev[0].involvedUid, "job-uid-1");
  auto d = parseJson(a.body);
  EXPECT_EQ(d["response"]["warnings"].Size(), 1u);
  EXPECT_NE(metricsText().find(R"(spotfit_webhook_budget_decisions_total{decision="alert"} 1)"), std::string::npos);
}

TEST_F(Fixture, BudgetWithinLimitChangesNothing) {
  spend.set("ml", "train", 9.99);
  Admission a = run(review(podWith(R"("spotfit.io/budget":"10","spotfit.io/budget-action":"deny")")));
  EXPECT_TRUE(a.response.allowed);
  EXPECT_TRUE(a.response.warnings.empty());
  EXPECT_NE(metricsText().find(R"(decision="within"} 1)"), std::string::npos);
}

TEST_F(Fixture, BudgetDenyRefusesWith403AndTheFigures) {
  // A Job (here one named by generateName: its workflow is the prefix) is refused; a Job's pods are not
  // (identity_test.cpp: the budget is decided at the Job).
  spend.set("ml", "train", 1234.5);
  const std::string job = R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"generateName":"train-",
    "annotations":{"spotfit.io/budget":"1000","spotfit.io/budget-action":"deny"}},
    "spec":{"template":{"spec":{"containers":[{"name":"c"}]}}}})";
  Admission a = run(review(job, "", "Job"));
  EXPECT_EQ(a.result, ReviewResult::Denied);
  auto d = parseJson(a.body);
  EXPECT_FALSE(d["response"]["allowed"].GetBool());
  EXPECT_EQ(d["response"]["status"]["code"].GetInt(), 403);
  EXPECT_STREQ(d["response"]["status"]["reason"].GetString(), "Forbidden");
  EXPECT_STREQ(d["response"]["status"]["message"].GetString(),
               "spotfit: workflow train has spent $1234.50 of its $1000.00 budget (spotfit.io/budget-action=deny)");
  EXPECT_FALSE(d["response"].HasMember("patch"));
}

TEST_F(Fixture, BudgetSpotOnlyRequiresSpot) {
  spend.set("ml", "train", 50);
  Admission a = run(review(podWith(R"("spotfit.io/budget":"20","spotfit.io/budget-action":"spot-only")")));
  auto pod = patched(kJobPod, a);
  const auto& exprs = pod["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
                         ["nodeSelectorTerms"][0]["matchExpressions"];
  EXPECT_STREQ(exprs[0]["values"][0].GetString(), "spot");
  EXPECT_FALSE(pod["spec"]["affinity"]["nodeAffinity"].HasMember("preferredDuringSchedulingIgnoredDuringExecution"));
  ASSERT_EQ(a.response.warnings.size(), 1u);
  EXPECT_NE(a.response.warnings[0].find("spot capacity required"), std::string::npos);
}

class ThrowingSpend : public SpendSource {
 public:
  std::optional<double> spendUsd(std::string_view, std::string_view) const override {
    throw std::runtime_error("ledger exploded");
  }
};

TEST_F(Fixture, InternalFailureAdmitsUnchangedWithAWarningAndAMetric) {
  ThrowingSpend broken;
  AdmitterPorts p = ports();
  p.spend = &broken;
  Admitter admitter(config, p);
  Admission a = admitter.review(review(podWith(R"("spotfit.io/budget":"10")")));
  EXPECT_EQ(a.httpStatus, 200);
  EXPECT_EQ(a.result, ReviewResult::Error);
  auto d = parseJson(a.body);
  EXPECT_STREQ(d["response"]["uid"].GetString(), "u-42");
  EXPECT_TRUE(d["response"]["allowed"].GetBool());
  EXPECT_FALSE(d["response"].HasMember("patch"));
  EXPECT_NE(std::string(d["response"]["warnings"][0].GetString()).find("internal error, admitted unchanged"),
            std::string::npos);
  EXPECT_NE(metricsText().find("spotfit_webhook_internal_errors_total 1"), std::string::npos);
}

TEST_F(Fixture, MalformedObjectShapesFailOpen) {
  const std::vector<std::string> objects = {
      R"({"metadata":{"labels":"x"},"spec":{"containers":[]}})",
      R"({"metadata":{"annotations":{"a":1}},"spec":{"containers":[]}})",
      R"({"metadata":{},"spec":{"containers":{"name":"x"}}})",
      R"({"metadata":{},"spec":{"containers":[{"name":"x","resources":{"requests":{"cpu":true}}}]}})",
      R"({"metadata":{},"spec":{"containers":[],"tolerations":{}}})",
      R"({"metadata":{},"spec":{"containers":[],"terminationGracePeriodSeconds":"30"}})",
      R"({"metadata":{},"spec":{"containers":[],"affinity":{"nodeAffinity":{"requiredDuringSchedulingIgnoredDuringExecution":{"nodeSelectorTerms":[{"matchExpressions":[{"key":5}]}]}}}}})",
      R"({"metadata":{},"spec":"nope"})",
      R"({"metadata":[]})",
  };
  for (std::string o : objects) {
    // Annotated, so a bare pod is in scope (unannotated ones are skipped before their spec is read).
    if (o.find(R"("metadata":{})") != std::string::npos) {
      o.replace(o.find(R"("metadata":{})"), 13, R"("metadata":{"annotations":{"spotfit.io/workflow":"w"}})");
    }
    Admission a = run(review(o));
    auto d = parseJson(a.body);
    EXPECT_TRUE(d["response"]["allowed"].GetBool()) << o;
    EXPECT_FALSE(d["response"].HasMember("patch")) << o;
    EXPECT_EQ(a.result, ReviewResult::Error) << o;
    EXPECT_TRUE(d["response"].HasMember("warnings")) << o;
  }
  const std::string noTemplate = R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"j"},"spec":{}})";
  EXPECT_EQ(run(review(noTemplate, "", "Job")).result, ReviewResult::Error);
}

TEST_F(Fixture, VpaForTheJobOrItsCronJobSetsRequests) {
  Vpa v;
  v.namespace_ = "ml";
  v.name = "nightly";
  v.targetKind = "CronJob";
  v.targetName = "nightly";
  v.targets["main"] = {{"cpu", "750m"}, {"memory", "300Mi"}};
  vpas.upsert(v);
  jobs.upsert("ml", "train", JobInfo{"job-uid-1", 1, "nightly"});
  auto pod = patched(kJobPod, run(review(kJobPod)));
  EXPECT_STREQ(pod["spec"]["containers"][0]["resources"]["requests"]["cpu"].GetString(), "750m");
  EXPECT_STREQ(pod["spec"]["containers"][0]["resources"]["requests"]["memory"].GetString(), "300Mi");

  auto off = patched(kJobPod, run(review(podWith(R"("spotfit.io/right-size":"off")"))));
  EXPECT_FALSE(off["spec"]["containers"][0].HasMember("resources"));
}

TEST_F(Fixture, RoutesRegisterPostMutate) {
  Admitter admitter(config, ports());
  server::Router router;
  registerRoutes(router, admitter);
  server::Request req;
  req.method = "POST";
  req.path = "/mutate";
  req.query = "timeout=5s";
  req.body = review(kJobPod);
  server::Response r = router.dispatch(req);
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.contentType, "application/json");
  EXPECT_NE(r.body.find("\"patchType\":\"JSONPatch\""), std::string::npos);
  req.method = "GET";
  EXPECT_EQ(router.dispatch(req).status, 405);
}

}  // namespace
}  // namespace spotfit::webhook

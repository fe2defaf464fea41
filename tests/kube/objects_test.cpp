#include "kube/objects.hpp"

#include <gtest/gtest.h>
#include <rapidjson/pointer.h>

#include <functional>
#include <random>

#include "kube/intern.hpp"
#include "kube/json.hpp"

namespace spotfit::kube {
namespace {

constexpr const char* kJobPod = R"({
  "apiVersion": "v1", "kind": "Pod",
  "metadata": {
    "name": "train-7f9c2-abcde", "namespace": "ml", "uid": "6f1c2b0e-1111-2222-3333-444455556666",
    "resourceVersion": "123456", "creationTimestamp": "2024-05-01T10:00:00Z",
    "labels": {"batch.kubernetes.io/job-name": "train-7f9c2", "job-name": "train-7f9c2",
               "controller-uid": "0b4f0b7a-aaaa-bbbb-cccc-ddddeeeeffff"},
    "annotations": {"spotfit.io/capacity-type": "spot", "spotfit.io/gpu-product": "Tesla-T4",
                    "kubectl.kubernetes.io/last-applied-configuration": "{\"huge\": true}",
                    "spotfit.io/workflow": "nightly"},
    "ownerReferences": [{"apiVersion": "batch/v1", "kind": "Job", "name": "train-7f9c2",
                         "uid": "0b4f0b7a-aaaa-bbbb-cccc-ddddeeeeffff", "controller": true,
                         "blockOwnerDeletion": true}]
  },
  "spec": {
    "schedulerName": "default-scheduler", "priority": 100, "terminationGracePeriodSeconds": 60,
    "nodeSelector": {"kubernetes.io/os": "linux"},
    "containers": [
      {"name": "main", "image": "x", "resources": {"requests": {"cpu": "500m", "memory": "1Gi", "nvidia.com/gpu": "1"},
                                                   "limits": {"nvidia.com/gpu": "1"}}},
      {"name": "side", "resources": {"limits": {"cpu": "100m", "memory": "64Mi"}}}
    ],
    "initContainers": [{"name": "init", "resources": {"requests": {"cpu": "2"}}}],
    "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
                    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}],
    "affinity": {"nodeAffinity": {
      "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
        {"matchExpressions": [{"key": "nvidia.com/gpu.count", "operator": "Gt", "values": ["0"]}]}]},
      "preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 50, "preference": {"matchExpressions": [{"key": "spotfit.io/capacity-type", "operator": "In", "values": ["spot"]}]}}]}},
    "volumes": [{"name": "scratch", "emptyDir": {}}, {"name": "kube-api-access-x1y2z", "projected": {"sources": []}}]
  },
  "status": {"phase": "Pending", "conditions": [
    {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
     "message": "0/3 nodes are available: 3 Insufficient nvidia.com/gpu."}]}
})";

json::Document parse(const char* text) {
  auto d = json::parse(text);
  EXPECT_TRUE(d.ok()) << (d.ok() ? "" : d.error().message);
  return std::move(d).value();
}

// A preferred term on any preset's capacity label is read as the capacity type it prefers (GKE and AKS
// say spot with "true" and "spot" on labels on-demand nodes lack).
TEST(DecodePod, PreferredCapacityTypeFromEveryPresetLabel) {
  struct Case {
    const char* key;
    const char* value;
    std::optional<placement::CapacityType> want;
  };
  for (const Case& c : {Case{"karpenter.sh/capacity-type", "spot", placement::CapacityType::Spot},
                        Case{"eks.amazonaws.com/capacityType", "SPOT", placement::CapacityType::Spot},
                        Case{"eks.amazonaws.com/capacityType", "ON_DEMAND", placement::CapacityType::OnDemand},
                        Case{"cloud.google.com/gke-spot", "true", placement::CapacityType::Spot},
                        Case{"kubernetes.azure.com/scalesetpriority", "spot", placement::CapacityType::Spot},
                        Case{"topology.kubernetes.io/zone", "spot", std::nullopt}}) {
    std::string text = std::string(R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ml"},
      "spec":{"containers":[{"name":"c"}],"affinity":{"nodeAffinity":{"preferredDuringSchedulingIgnoredDuringExecution":[
      {"weight":100,"preference":{"matchExpressions":[{"key":")") +
                       c.key + R"(","operator":"In","values":[")" + c.value + R"("]}]}}]}}}})";
    auto doc = parse(text.c_str());
    auto pod = decodePod(doc);
    ASSERT_TRUE(pod.ok()) << pod.error().message;
    EXPECT_EQ(pod->spec->preferredCapacityType, c.want) << c.key << "=" << c.value;
  }
}

TEST(DecodePod, ReadsWhatPlacementAndTheScalerUse) {
  auto doc = parse(kJobPod);
  auto pod = decodePod(doc);
  ASSERT_TRUE(pod.ok()) << pod.error().message;
  EXPECT_EQ(pod->meta.name, "train-7f9c2-abcde");
  EXPECT_EQ(pod->meta.namespace_, "ml");
  EXPECT_EQ(pod->meta.key(), "ml/train-7f9c2-abcde");
  EXPECT_EQ(pod->meta.resourceVersion, "123456");
  EXPECT_EQ(pod->meta.labels.getOr("job-name", ""), "train-7f9c2");
  EXPECT_TRUE(pod->meta.annotations.contains("spotfit.io/gpu-product"));
  EXPECT_FALSE(pod->meta.annotations.contains("kubectl.kubernetes.io/last-applied-configuration"));
  ASSERT_NE(pod->meta.controllerRef(), nullptr);
  EXPECT_EQ(pod->meta.controllerRef()->kind, "Job");
  EXPECT_EQ(pod->phase, PodPhase::Pending);
  EXPECT_TRUE(pod->unschedulable());
  EXPECT_EQ(pod->scheduledMessage, "0/3 nodes are available: 3 Insufficient nvidia.com/gpu.");
  EXPECT_EQ(pod->nodeName, "");
  // Effective requests: max(sum of containers = 600m, init 2) cpu; memory 1Gi + 64Mi (limit as request).
  EXPECT_EQ(pod->requests().cpuMilli, 2000);
  EXPECT_EQ(pod->requests().memory, (1024 + 64) * 1024 * 1024);
  EXPECT_EQ(pod->requests().get("nvidia.com/gpu"), 1);
  EXPECT_EQ(pod->spec->priority, 100);
  EXPECT_EQ(pod->spec->terminationGracePeriodSeconds, 60);
  EXPECT_TRUE(pod->spec->hasLocalStorage);
  ASSERT_EQ(pod->spec->tolerations.size(), 2u);
  EXPECT_EQ(pod->spec->tolerations[1].tolerationSeconds, 300);
  ASSERT_EQ(pod->spec->requiredNodeAffinity.size(), 1u);
  EXPECT_EQ(pod->spec->requiredNodeAffinity[0].matchExpressions[0].op, placement::SelectorOperator::Gt);
  EXPECT_EQ(pod->spec->preferredCapacityType, placement::CapacityType::Spot);

  placement::PodInfo info = pod->toPodInfo();
  EXPECT_EQ(info.name, "train-7f9c2-abcde");
  EXPECT_EQ(info.ownerKind, "Job");
  EXPECT_TRUE(info.hasController);
  EXPECT_EQ(info.workflow, "nightly");
  EXPECT_EQ(info.gpuProduct, "Tesla-T4");
  EXPECT_EQ(info.capacityPolicy, placement::CapacityPolicy::Spot);
  EXPECT_EQ(info.containers.size(), 2u);
  EXPECT_EQ(info.initContainers.size(), 1u);
  EXPECT_EQ(info.nodeSelector.at("kubernetes.io/os"), "linux");
  EXPECT_EQ(placement::podRequests(info), pod->requests());
  EXPECT_EQ(info.labels.size(), 3u);
}

TEST(DecodePod, PodsFromOneTemplateShareSpecAndLabels) {
  auto doc1 = parse(kJobPod);
  std::string other = kJobPod;
  other.replace(other.find("train-7f9c2-abcde"), 17, "train-7f9c2-zzzzz");
  auto doc2 = parse(other.c_str());
  auto a = decodePod(doc1);
  auto b = decodePod(doc2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->spec.get(), b->spec.get());
  EXPECT_EQ(a->meta.labels, b->meta.labels);
  EXPECT_NE(a->meta.name, b->meta.name);
}

TEST(DecodePod, WorkflowDefaultsToTheOwningJob) {
  std::string text = kJobPod;
  const std::string annotation = R"(,
                    "spotfit.io/workflow": "nightly")";
  ASSERT_NE(text.find(annotation), std::string::npos);
  text.replace(text.find(annotation), annotation.size(), "");
  auto doc = parse(text.c_str());
  auto pod = decodePod(doc);
  ASSERT_TRUE(pod.ok()) << pod.error().message;
  EXPECT_EQ(pod->toPodInfo().workflow, "train-7f9c2");
}

TEST(DecodePod, BoundRunningPodAndDoNotDisrupt) {
  auto doc = parse(R"({"metadata": {"name": "p", "namespace": "d",
      "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}},
    "spec": {"nodeName": "n1", "containers": [{"name": "c"}]},
    "status": {"phase": "Running", "conditions": [{"type": "PodScheduled", "status": "True"}]}})");
  auto pod = decodePod(doc);
  ASSERT_TRUE(pod.ok()) << pod.error().message;
  EXPECT_EQ(pod->nodeName, "n1");
  EXPECT_EQ(pod->phase, PodPhase::Running);
  EXPECT_EQ(pod->scheduled, true);
  EXPECT_FALSE(pod->unschedulable());
  EXPECT_TRUE(pod->doNotDisrupt());
  EXPECT_TRUE(pod->toPodInfo().doNotDisrupt);
  EXPECT_FALSE(pod->toPodInfo().hasController);
  EXPECT_EQ(pod->requests().pods, 1);
}

TEST(DecodePod, WrongTypesAreErrorsNamingThePath) {
  struct Case {
    const char* doc;
    const char* path;
  } cases[] = {
      {R"([1,2])", "Pod"},
      {R"({"spec": {}})", "metadata"},
      {R"({"metadata": {"name": 5}})", "metadata.name"},
      {R"({"metadata": {"labels": {"a": 1}}})", "metadata.labels.a"},
      {R"({"metadata": {"ownerReferences": [{"name": "x"}]}})", "metadata.ownerReferences[0].kind"},
      {R"({"metadata": {}, "spec": {"containers": {}}})", "spec.containers"},
      {R"({"metadata": {}, "spec": {"containers": [{"resources": {"requests": {"cpu": "lots"}}}]}})",
       "spec.containers[0].resources.requests"},
      {R"({"metadata": {}, "spec": {"tolerations": [{"operator": "Maybe"}]}})", "spec.tolerations[0].operator"},
      {R"({"metadata": {}, "spec": {"priority": "high"}})", "spec.priority"},
      {R"({"metadata": {"creationTimestamp": "yesterday"}})", "metadata.creationTimestamp"},
      {R"({"metadata": {}, "status": {"conditions": [7]}})", "status.conditions[0]"},
      {R"({"metadata": {}, "spec": {"containers": [{"resources": {"requests": {"memory": "9223372036854775807"}}}]}})",
       "quantity too large"},
      {R"({"metadata": {}, "spec": {"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution":
           {"nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "Near"}]}]}}}}})",
       "operator"},
  };
  for (const auto& c : cases) {
    auto doc = parse(c.doc);
    auto pod = decodePod(doc);
    ASSERT_FALSE(pod.ok()) << c.doc;
    EXPECT_EQ(pod.error().code, "invalid");
    EXPECT_NE(pod.error().message.find(c.path), std::string::npos) << pod.error().message;
  }
}

// Replaces every value in the document, one at a time, by values of every other JSON type: the
// decoders must return (ok or an error) without crashing or throwing.
void mutateEverywhere(const char* text, const std::function<void(const json::Value&)>& decode) {
  auto base = parse(text);
  std::vector<std::string> pointers;
  std::function<void(const json::Value&, std::string)> walk = [&](const json::Value& v, std::string p) {
    pointers.push_back(p);
    if (v.IsObject()) {
      for (const auto& m : v.GetObject()) walk(m.value, p + "/" + json::escapePointerToken(json::view(m.name)));
    } else if (v.IsArray()) {
      for (rapidjson::SizeType i = 0; i < v.Size(); ++i) walk(v[i], p + "/" + std::to_string(i));
    }
  };
  walk(base, "");
  const char* replacements[] = {
      "null", "true", "-1", "1.5", "\"\"", "\"x\"", "[]", "{}", "[null]", "{\"a\":null}", "9223372036854775807"};
  for (const auto& p : pointers) {
    for (const char* r : replacements) {
      json::Document doc;
      doc.CopyFrom(base, doc.GetAllocator());
      json::Document repl;
      repl.Parse(r);
      spotfit::kube::json::Pointer(p.c_str()).Set(doc, repl, doc.GetAllocator());
      decode(doc);
    }
  }
}

TEST(DecodePod, SurvivesEveryTypeConfusion) {
  int errors = 0;
  mutateEverywhere(kJobPod, [&](const json::Value& v) {
    auto r = decodePod(v);
    if (!r.ok()) ++errors;
  });
  EXPECT_GT(errors, 50);
}

constexpr const char* kGpuNode = R"({
  "apiVersion": "v1", "kind": "Node",
  "metadata": {"name": "ip-10-0-1-17.ec2.internal", "uid": "n-uid", "resourceVersion": "77",
    "labels": {"node.kubernetes.io/instance-type": "g4dn.xlarge", "karpenter.sh/capacity-type": "spot",
               "nvidia.com/gpu.product": "Tesla-T4", "nvidia.com/gpu.count": "1", "spotfit.io/node-pool": "gpu",
               "topology.kubernetes.io/zone": "us-east-1a"}},
  "spec": {"providerID": "aws:///us-east-1a/i-0abc", "unschedulable": true,
           "taints": [{"key": "nvidia.com/gpu", "value": "present", "effect": "NoSchedule"},
                      {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule", "timeAdded": "2024-05-01T10:00:00Z"}]},
  "status": {"capacity": {"cpu": "4", "memory": "16101084Ki", "nvidia.com/gpu": "1", "pods": "29"},
             "allocatable": {"cpu": "3920m", "memory": "15436508Ki", "nvidia.com/gpu": "1", "pods": "29",
                             "ephemeral-storage": "95491281146"},
             "conditions": [{"type": "MemoryPressure", "status": "False"}, {"type": "Ready", "status": "True",
                             "reason": "KubeletReady"}],
             "images": [{"names": ["nvcr.io/nvidia/cuda:12"], "sizeBytes": 123}]}
})";

TEST(DecodeNode, ReadsAllocatableTaintsReadinessAndDerivedFields) {
  auto doc = parse(kGpuNode);
  auto node = decodeNode(doc);
  ASSERT_TRUE(node.ok()) << node.error().message;
  EXPECT_EQ(node->info.name, "ip-10-0-1-17.ec2.internal");
  EXPECT_EQ(node->info.allocatable.cpuMilli, 3920);
  EXPECT_EQ(node->info.allocatable.memory, int64_t{15436508} * 1024);
  EXPECT_EQ(node->info.allocatable.get("nvidia.com/gpu"), 1);
  EXPECT_EQ(node->info.allocatable.pods, 29);
  EXPECT_EQ(node->capacity.cpuMilli, 4000);
  ASSERT_EQ(node->info.taints.size(), 2u);
  EXPECT_EQ(node->info.taints[0].value, "present");
  EXPECT_TRUE(node->unschedulable());
  EXPECT_EQ(node->ready, true);
  EXPECT_EQ(node->providerID, "aws:///us-east-1a/i-0abc");
  EXPECT_EQ(node->info.capacityType, placement::CapacityType::Spot);
  EXPECT_EQ(node->info.gpuProduct, "Tesla-T4");
  EXPECT_EQ(node->info.pool, "gpu");
  EXPECT_EQ(node->info.instanceType, "g4dn.xlarge");
  EXPECT_EQ(node->info.labels.size(), 6u);
  EXPECT_EQ(node->meta.labels.size(), 6u);
}

TEST(DecodeNode, ReadyUnknownIsNulloptAndBadTaintIsAnError) {
  auto doc =
      parse(R"({"metadata": {"name": "n"}, "status": {"conditions": [{"type": "Ready", "status": "Unknown"}]}})");
  auto node = decodeNode(doc);
  ASSERT_TRUE(node.ok());
  EXPECT_FALSE(node->ready.has_value());
  auto bad = parse(R"({"metadata": {"name": "n"}, "spec": {"taints": [{"key": "k", "effect": "Sometimes"}]}})");
  auto r = decodeNode(bad);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("spec.taints[0].effect"), std::string::npos);
}

TEST(DecodeNode, SurvivesEveryTypeConfusion) {
  mutateEverywhere(kGpuNode, [](const json::Value& v) { (void)decodeNode(v); });
}

TEST(DecodeJob, CountsConditionsAndTemplateAnnotations) {
  auto doc = parse(R"({"metadata": {"name": "train", "namespace": "ml", "annotations": {"spotfit.io/budget": "25"}},
    "spec": {"parallelism": 4, "completions": 8, "suspend": false,
             "template": {"metadata": {"labels": {"app": "t"}, "annotations": {"spotfit.io/checkpoint": "save.sh", "x": "y"}},
                          "spec": {"containers": []}}},
    "status": {"active": 3, "succeeded": 5, "startTime": "2024-05-01T10:00:00Z",
               "conditions": [{"type": "Complete", "status": "True"}]}})");
  auto job = decodeJob(doc);
  ASSERT_TRUE(job.ok()) << job.error().message;
  EXPECT_EQ(job->parallelism, 4);
  EXPECT_EQ(job->completions, 8);
  EXPECT_EQ(job->active, 3);
  EXPECT_EQ(job->succeeded, 5);
  EXPECT_TRUE(job->complete);
  EXPECT_TRUE(job->finished());
  EXPECT_EQ(job->meta.annotations.getOr("spotfit.io/budget", ""), "25");
  EXPECT_EQ(job->templateAnnotations.getOr("spotfit.io/checkpoint", ""), "save.sh");
  EXPECT_FALSE(job->templateAnnotations.contains("x"));
  EXPECT_EQ(job->templateLabels.getOr("app", ""), "t");
  ASSERT_TRUE(job->startTime.has_value());
  EXPECT_EQ(base::formatTime(*job->startTime), "2024-05-01T10:00:00Z");
}

TEST(DecodeNamespace, LabelsAndTerminating) {
  auto doc = parse(
      R"({"metadata": {"name": "ml", "labels": {"spotfit.io/enabled": "true"}}, "status": {"phase": "Terminating"}})");
  auto ns = decodeNamespace(doc);
  ASSERT_TRUE(ns.ok());
  EXPECT_EQ(ns->meta.key(), "ml");
  EXPECT_EQ(ns->meta.labels.getOr("spotfit.io/enabled", ""), "true");
  EXPECT_TRUE(ns->terminating);
}

TEST(DecodePdb, SelectorAndStatus) {
  auto doc = parse(R"({"metadata": {"name": "train-pdb", "namespace": "ml"},
    "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"job-name": "train-7f9c2"},
             "matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["web"]}]}},
    "status": {"disruptionsAllowed": 2, "currentHealthy": 4, "desiredHealthy": 2, "expectedPods": 4, "observedGeneration": 1}})");
  auto pdb = decodePodDisruptionBudget(doc);
  ASSERT_TRUE(pdb.ok()) << pdb.error().message;
  ASSERT_TRUE(pdb->minAvailable.has_value());
  EXPECT_TRUE(pdb->minAvailable->isPercent);
  EXPECT_EQ(pdb->minAvailable->value, 50);
  EXPECT_FALSE(pdb->maxUnavailable.has_value());
  EXPECT_EQ(pdb->disruptionsAllowed, 2);
  auto podDoc = parse(kJobPod);
  auto pod = decodePod(podDoc);
  ASSERT_TRUE(pod.ok());
  EXPECT_TRUE(pdb->selects(*pod));
  auto other = parse(R"({"metadata": {"name": "p", "namespace": "ml", "labels": {"job-name": "x"}}})");
  EXPECT_FALSE(pdb->selects(*decodePod(other)));

  auto noSel = parse(R"({"metadata": {"name": "x", "namespace": "ml"}, "spec": {"maxUnavailable": 1}})");
  auto p2 = decodePodDisruptionBudget(noSel);
  ASSERT_TRUE(p2.ok());
  EXPECT_EQ(p2->maxUnavailable->value, 1);
  EXPECT_FALSE(p2->selects(*pod));  // a null selector selects nothing

  auto bad = parse(R"({"metadata": {"name": "x"}, "spec": {"minAvailable": "lots"}})");
  EXPECT_FALSE(decodePodDisruptionBudget(bad).ok());
}

TEST(LabelSelector, Operators) {
  auto doc = parse(R"({"matchExpressions": [{"key": "a", "operator": "In", "values": ["1", "2"]},
                                           {"key": "b", "operator": "Exists"},
                                           {"key": "c", "operator": "DoesNotExist"}]})");
  auto sel = decodeLabelSelector(doc, "sel");
  ASSERT_TRUE(sel.ok());
  EXPECT_TRUE(sel->matches(FlatMap::from({{"a", "2"}, {"b", ""}})));
  EXPECT_FALSE(sel->matches(FlatMap::from({{"a", "3"}, {"b", ""}})));
  EXPECT_FALSE(sel->matches(FlatMap::from({{"a", "1"}})));
  EXPECT_FALSE(sel->matches(FlatMap::from({{"a", "1"}, {"b", "x"}, {"c", "y"}})));
  auto empty = parse("{}");
  EXPECT_TRUE(decodeLabelSelector(empty, "s")->matches(FlatMap{}));
}

constexpr const char* kVpa = R"({
  "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
  "metadata": {"name": "train-vpa", "namespace": "ml"},
  "spec": {"targetRef": {"apiVersion": "batch/v1", "kind": "Job", "name": "train"},
           "updatePolicy": {"updateMode": "Initial"},
           "resourcePolicy": {"containerPolicies": [
             {"containerName": "*", "minAllowed": {"cpu": "100m"}, "maxAllowed": {"cpu": "8", "memory": "32Gi"},
              "controlledResources": ["cpu", "memory"], "controlledValues": "RequestsOnly"},
             {"containerName": "side", "mode": "Off"}]}},
  "status": {"recommendation": {"containerRecommendations": [
    {"containerName": "main", "target": {"cpu": "1200m", "memory": "2Gi"}, "lowerBound": {"cpu": "1", "memory": "1Gi"},
     "upperBound": {"cpu": "3", "memory": "4Gi"}, "uncappedTarget": {"cpu": "1200m", "memory": "2Gi"}}]},
    "conditions": [{"type": "RecommendationProvided", "status": "True"}]}
})";

TEST(DecodeVpa, TargetRecommendationsAndPolicies) {
  auto doc = parse(kVpa);
  auto vpa = decodeVerticalPodAutoscaler(doc);
  ASSERT_TRUE(vpa.ok()) << vpa.error().message;
  ASSERT_TRUE(vpa->targetRef.has_value());
  EXPECT_EQ(vpa->targetRef->kind, "Job");
  EXPECT_EQ(vpa->targetRef->name, "train");
  EXPECT_EQ(vpa->updateMode, "Initial");
  const auto* rec = vpa->recommendationFor("main");
  ASSERT_NE(rec, nullptr);
  EXPECT_EQ(milliOf(rec->target, "cpu"), 1200);
  EXPECT_EQ(milliOf(rec->target, "memory"), int64_t{2} * 1024 * 1024 * 1024 * 1000);
  EXPECT_EQ(milliOf(rec->upperBound, "cpu"), 3000);
  EXPECT_EQ(vpa->recommendationFor("nope"), nullptr);
  const auto* star = vpa->policyFor("main");
  ASSERT_NE(star, nullptr);
  EXPECT_EQ(star->containerName, "*");
  EXPECT_EQ(star->controlledValues, "RequestsOnly");
  EXPECT_EQ(milliOf(star->maxAllowed, "cpu"), 8000);
  EXPECT_EQ(vpa->policyFor("side")->mode, "Off");
}

TEST(DecodeVpa, RejectsUnknownModesAndBadQuantities) {
  auto a = parse(R"({"metadata": {"name": "v"}, "spec": {"updatePolicy": {"updateMode": "Sometimes"}}})");
  EXPECT_FALSE(decodeVerticalPodAutoscaler(a).ok());
  auto b = parse(R"({"metadata": {"name": "v"}, "status": {"recommendation": {"containerRecommendations": [
      {"containerName": "c", "target": {"cpu": "fast"}}]}}})");
  auto r = decodeVerticalPodAutoscaler(b);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("containerRecommendations[0].target.cpu"), std::string::npos);
  mutateEverywhere(kVpa, [](const json::Value& v) { (void)decodeVerticalPodAutoscaler(v); });
}

TEST(Lease, EncodeDecodeRoundTrip) {
  Lease l;
  l.meta.name = "spotfit-scaler";
  l.meta.namespace_ = "spotfit-system";
  l.meta.resourceVersion = "42";
  l.holderIdentity = "pod-a_1234";
  l.leaseDurationSeconds = 15;
  l.acquireTime = base::WallTime(std::chrono::microseconds(1714557600123456));
  l.renewTime = base::WallTime(std::chrono::microseconds(1714557610000001));
  l.leaseTransitions = 3;
  std::string text = encodeLease(l);
  auto doc = parse(text.c_str());
  auto back = decodeLease(doc);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->meta.name, l.meta.name);
  EXPECT_EQ(back->meta.namespace_, l.meta.namespace_);
  EXPECT_EQ(back->meta.resourceVersion, "42");
  EXPECT_EQ(back->holderIdentity, l.holderIdentity);
  EXPECT_EQ(back->leaseDurationSeconds, 15);
  EXPECT_EQ(back->acquireTime, l.acquireTime);
  EXPECT_EQ(back->renewTime, l.renewTime);
  EXPECT_EQ(back->leaseTransitions, 3);
  EXPECT_NE(text.find("\"renewTime\":\"2024-05-01T10:00:10.000001Z\""), std::string::npos) << text;
}

TEST(FlatMap, SortedLastWinsAndInterned) {
  auto m = FlatMap::from({{"b", "2"}, {"a", "1"}, {"b", "3"}});
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m.getOr("b", ""), "3");
  EXPECT_FALSE(m.get("c").has_value());
  auto v = m.toVector();
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[0].first, "a");
  auto before = Interner<std::string>::global().size();
  {
    auto x = FlatMap::from({{"unique-key-for-intern-test", "v"}});
    auto y = FlatMap::from({{"unique-key-for-intern-test", "v"}});
    EXPECT_EQ(x, y);
    EXPECT_EQ(Interner<std::string>::global().size(), before + 1);
  }
  EXPECT_EQ(Interner<std::string>::global().size(), before);
  EXPECT_TRUE(FlatMap{}.empty());
  EXPECT_EQ(FlatMap{}.begin(), FlatMap{}.end());
}

TEST(Json, IntOrStringAndQuoting) {
  auto d = parse(R"([5, "5", "25%", "x", "%", -1, 1.5])");
  EXPECT_EQ(json::intOrString(d[0], "p")->value, 5);
  EXPECT_TRUE(json::intOrString(d[1], "p")->isString);
  EXPECT_TRUE(json::intOrString(d[2], "p")->isPercent);
  EXPECT_FALSE(json::intOrString(d[3], "p").ok());
  EXPECT_FALSE(json::intOrString(d[4], "p").ok());
  EXPECT_FALSE(json::intOrString(d[5], "p").ok());
  EXPECT_FALSE(json::intOrString(d[6], "p").ok());
  EXPECT_EQ(json::quoted("a\"b\\c\n\x01"), R"("a\"b\\c\n\u0001")");
  EXPECT_EQ(json::escapePointerToken("a/b~c"), "a~1b~0c");
  EXPECT_FALSE(json::parse("{\"a\": 1} trailing").ok());
  EXPECT_FALSE(json::parse("").ok());
}

}  // namespace
}  // namespace spotfit::kube

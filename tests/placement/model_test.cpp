#include "placement/model.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;
using testing::res;

Toleration tol(std::string key, TolerationOperator op, std::string value, std::optional<TaintEffect> effect) {
  Toleration t;
  t.key = std::move(key);
  t.op = op;
  t.value = std::move(value);
  t.effect = effect;
  return t;
}

TEST(Toleration, ToleratesTaintSemantics) {
  Taint spot{"spotfit.io/spot", "true", TaintEffect::NoSchedule};
  EXPECT_TRUE(tol("spotfit.io/spot", TolerationOperator::Equal, "true", TaintEffect::NoSchedule).toleratesTaint(spot));
  EXPECT_TRUE(tol("spotfit.io/spot", TolerationOperator::Equal, "true", std::nullopt).toleratesTaint(spot));
  EXPECT_FALSE(tol("spotfit.io/spot", TolerationOperator::Equal, "false", std::nullopt).toleratesTaint(spot));
  EXPECT_FALSE(tol("spotfit.io/spot", TolerationOperator::Equal, "true", TaintEffect::NoExecute).toleratesTaint(spot));
  EXPECT_TRUE(tol("spotfit.io/spot", TolerationOperator::Exists, "", std::nullopt).toleratesTaint(spot));
  EXPECT_FALSE(tol("other", TolerationOperator::Exists, "", std::nullopt).toleratesTaint(spot));
  // Empty key with Exists tolerates everything; empty key with Equal still compares the value.
  EXPECT_TRUE(tol("", TolerationOperator::Exists, "", std::nullopt).toleratesTaint(spot));
  EXPECT_TRUE(tol("", TolerationOperator::Equal, "true", std::nullopt).toleratesTaint(spot));
  EXPECT_FALSE(tol("", TolerationOperator::Equal, "", std::nullopt).toleratesTaint(spot));
}

TEST(Toleration, FirstUntoleratedTaintIgnoresPreferNoSchedule) {
  std::vector<Taint> taints{{"soft", "", TaintEffect::PreferNoSchedule},
                            {"gpu", "true", TaintEffect::NoSchedule},
                            {"evict", "", TaintEffect::NoExecute}};
  std::vector<Toleration> none;
  ASSERT_NE(firstUntoleratedTaint(taints, none), nullptr);
  EXPECT_EQ(firstUntoleratedTaint(taints, none)->key, "gpu");
  std::vector<Toleration> gpu{tol("gpu", TolerationOperator::Exists, "", std::nullopt)};
  ASSERT_NE(firstUntoleratedTaint(taints, gpu), nullptr);
  EXPECT_EQ(firstUntoleratedTaint(taints, gpu)->key, "evict");
  gpu.push_back(tol("evict", TolerationOperator::Exists, "", TaintEffect::NoExecute));
  EXPECT_EQ(firstUntoleratedTaint(taints, gpu), nullptr);
}

NodeSelectorRequirement req(std::string key, SelectorOperator op, std::vector<std::string> values) {
  return NodeSelectorRequirement{std::move(key), op, std::move(values)};
}

TEST(NodeSelector, Operators) {
  Labels labels{{"zone", "a"}, {"cores", "16"}, {"bad", "x"}};
  EXPECT_TRUE(req("zone", SelectorOperator::In, {"a", "b"}).matches(labels));
  EXPECT_FALSE(req("zone", SelectorOperator::In, {"b"}).matches(labels));
  EXPECT_FALSE(req("missing", SelectorOperator::In, {"a"}).matches(labels));
  EXPECT_FALSE(req("zone", SelectorOperator::In, {}).matches(labels));
  EXPECT_TRUE(req("zone", SelectorOperator::NotIn, {"b"}).matches(labels));
  EXPECT_FALSE(req("zone", SelectorOperator::NotIn, {"a"}).matches(labels));
  EXPECT_TRUE(req("missing", SelectorOperator::NotIn, {"a"}).matches(labels));
  EXPECT_TRUE(req("zone", SelectorOperator::Exists, {}).matches(labels));
  EXPECT_FALSE(req("zone", SelectorOperator::Exists, {"a"}).matches(labels));
  EXPECT_FALSE(req("missing", SelectorOperator::Exists, {}).matches(labels));
  EXPECT_TRUE(req("missing", SelectorOperator::DoesNotExist, {}).matches(labels));
  EXPECT_FALSE(req("zone", SelectorOperator::DoesNotExist, {}).matches(labels));
  EXPECT_TRUE(req("cores", SelectorOperator::Gt, {"8"}).matches(labels));
  EXPECT_FALSE(req("cores", SelectorOperator::Gt, {"16"}).matches(labels));
  EXPECT_TRUE(req("cores", SelectorOperator::Lt, {"+17"}).matches(labels));
  EXPECT_FALSE(req("cores", SelectorOperator::Lt, {"16"}).matches(labels));
  EXPECT_FALSE(req("cores", SelectorOperator::Gt, {"8", "9"}).matches(labels));
  EXPECT_FALSE(req("cores", SelectorOperator::Gt, {"eight"}).matches(labels));
  EXPECT_FALSE(req("bad", SelectorOperator::Gt, {"1"}).matches(labels));
  EXPECT_FALSE(req("missing", SelectorOperator::Lt, {"1"}).matches(labels));
}

TEST(NodeSelector, TermsAreAndedInsideAndOredAcross) {
  Labels labels{{"zone", "a"}, {"type", "spot"}};
  NodeSelectorTerm both{{req("zone", SelectorOperator::In, {"a"}), req("type", SelectorOperator::In, {"spot"})}, {}};
  NodeSelectorTerm wrong{{req("zone", SelectorOperator::In, {"a"}), req("type", SelectorOperator::In, {"od"})}, {}};
  EXPECT_TRUE(both.matches(labels, "n1"));
  EXPECT_FALSE(wrong.matches(labels, "n1"));
  EXPECT_TRUE(matchesAnyTerm({wrong, both}, labels, "n1"));
  EXPECT_FALSE(matchesAnyTerm({wrong}, labels, "n1"));
  EXPECT_TRUE(matchesAnyTerm({}, labels, "n1"));
  EXPECT_FALSE(NodeSelectorTerm{}.matches(labels, "n1"));  // an empty term matches nothing
  NodeSelectorTerm byName{{}, {req("metadata.name", SelectorOperator::In, {"n1"})}};
  EXPECT_TRUE(byName.matches(labels, "n1"));
  EXPECT_FALSE(byName.matches(labels, "n2"));
  NodeSelectorTerm notName{{}, {req("metadata.name", SelectorOperator::NotIn, {"n1"})}};
  EXPECT_TRUE(notName.matches(labels, "n2"));
  NodeSelectorTerm badField{{}, {req("metadata.uid", SelectorOperator::In, {"n1"})}};
  EXPECT_FALSE(badField.matches(labels, "n1"));
}

TEST(Model, EnumsRoundTrip) {
  for (auto op : {SelectorOperator::In, SelectorOperator::NotIn, SelectorOperator::Exists,
                  SelectorOperator::DoesNotExist, SelectorOperator::Gt, SelectorOperator::Lt}) {
    EXPECT_EQ(parseSelectorOperator(toString(op)), op);
  }
  for (auto e : {TaintEffect::NoSchedule, TaintEffect::PreferNoSchedule, TaintEffect::NoExecute}) {
    EXPECT_EQ(parseTaintEffect(toString(e)), e);
  }
  for (auto p :
       {CapacityPolicy::SpotPreferred, CapacityPolicy::Spot, CapacityPolicy::OnDemand, CapacityPolicy::SpotOnly}) {
    EXPECT_EQ(parseCapacityPolicy(toString(p)), p);
  }
  EXPECT_EQ(parseCapacityType("spot"), CapacityType::Spot);
  EXPECT_EQ(parseCapacityType("ON_DEMAND"), CapacityType::OnDemand);
  EXPECT_FALSE(parseCapacityType("cheap").has_value());
  EXPECT_FALSE(parseSelectorOperator("in").has_value());
  EXPECT_FALSE(parseTaintEffect("noschedule").has_value());
}

TEST(Model, CapacityTypeFromWellKnownLabels) {
  EXPECT_EQ(capacityTypeFromLabels({{"karpenter.sh/capacity-type", "spot"}}), CapacityType::Spot);
  EXPECT_EQ(capacityTypeFromLabels({{"eks.amazonaws.com/capacityType", "SPOT"}}), CapacityType::Spot);
  EXPECT_EQ(capacityTypeFromLabels({{"cloud.google.com/gke-spot", "true"}}), CapacityType::Spot);
  EXPECT_EQ(capacityTypeFromLabels({{"kubernetes.azure.com/scalesetpriority", "spot"}}), CapacityType::Spot);
  EXPECT_EQ(capacityTypeFromLabels({{"kubernetes.azure.com/scalesetpriority", "regular"}}), CapacityType::OnDemand);
  EXPECT_EQ(capacityTypeFromLabels({{"spotfit.io/capacity-type", "on-demand"}}), CapacityType::OnDemand);
  EXPECT_EQ(capacityTypeFromLabels({}), CapacityType::OnDemand);
  EXPECT_TRUE(allows(CapacityPolicy::SpotPreferred, CapacityType::OnDemand));
  EXPECT_FALSE(allows(CapacityPolicy::SpotOnly, CapacityType::OnDemand));
  EXPECT_FALSE(allows(CapacityPolicy::Spot, CapacityType::OnDemand));
  EXPECT_FALSE(allows(CapacityPolicy::OnDemand, CapacityType::Spot));
  NodeInfo n;
  n.labels = {{"karpenter.sh/capacity-type", "spot"},
              {"nvidia.com/gpu.product", "Tesla-T4"},
              {"spotfit.io/node-pool", "gpu"},
              {"node.kubernetes.io/instance-type", "g4dn.xlarge"}};
  deriveFromLabels(n);
  EXPECT_EQ(n.capacityType, CapacityType::Spot);
  EXPECT_EQ(n.gpuProduct, "Tesla-T4");
  EXPECT_EQ(n.pool, "gpu");
  EXPECT_EQ(n.instanceType, "g4dn.xlarge");
}

Container container(int64_t cpu, int64_t mem, bool sidecar = false) {
  Container c;
  c.requests = res(cpu, mem);
  c.restartAlways = sidecar;
  return c;
}

TEST(PodRequests, SumOfContainersVersusLargestInit) {
  PodInfo p;
  p.containers = {container(100, kGi), container(200, kGi)};
  p.initContainers = {container(250, 512 * testing::kMi), container(50, 3 * kGi)};
  Resources r = podRequests(p);
  EXPECT_EQ(r.cpuMilli, 300);    // containers win on cpu
  EXPECT_EQ(r.memory, 3 * kGi);  // the largest init container wins on memory
  EXPECT_EQ(r.pods, 1);
}

TEST(PodRequests, SidecarsFollowTheKep753Rule) {
  PodInfo p;
  p.containers = {container(1000, 0)};
  // sidecar s1 (1), init i1 (5) runs next to s1, sidecar s2 (1).
  p.initContainers = {container(1000, 0, true), container(5000, 0), container(1000, 0, true)};
  // Running: c + s1 + s2 = 3; init phase peak: i1 + s1 = 6.
  EXPECT_EQ(podRequests(p).cpuMilli, 6000);
  p.initContainers[1].requests.cpuMilli = 500;
  // Init peak is now max(s1=1, i1+s1=1.5, s1+s2=2) = 2 < 3.
  EXPECT_EQ(podRequests(p).cpuMilli, 3000);
}

TEST(PodRequests, OverheadAndLimitsWithoutRequests) {
  PodInfo p;
  Container c;
  c.limits = res(2000, 2 * kGi, 1);
  c.requests.cpuMilli = 500;  // explicit request wins over the limit
  p.containers = {c};
  p.overhead = res(250, 128 * testing::kMi);
  Resources r = podRequests(p);
  EXPECT_EQ(r.cpuMilli, 750);
  EXPECT_EQ(r.memory, 2 * kGi + 128 * testing::kMi);
  EXPECT_EQ(r.get("nvidia.com/gpu"), 1);
}

// Pod-level resources (spec.resources): kube-scheduler takes cpu, memory and hugepages from the pod level
// instead of the containers' aggregate, then adds overhead (component-helpers PodRequests).
TEST(PodRequests, PodLevelRequestsReplaceTheContainerAggregateThenOverhead) {
  PodInfo p;
  p.containers = {container(100, 64 * testing::kMi)};
  p.containers[0].requests.set("nvidia.com/gpu", 1);
  p.podLevel.names = {"cpu"};
  p.podLevel.amounts.cpuMilli = 2000;
  p.overhead = res(250, 0);
  Resources r = podRequests(p);
  EXPECT_EQ(r.cpuMilli, 2250);             // the pod asks 2 CPU, not its container's 100m
  EXPECT_EQ(r.memory, 64 * testing::kMi);  // not set at pod level: the containers' sum
  EXPECT_EQ(r.get("nvidia.com/gpu"), 1);   // not a pod-level resource
  EXPECT_EQ(r.pods, 1);
  p.podLevel.names = {"cpu", "hugepages-2Mi", "memory"};
  p.podLevel.amounts.memory = 0;  // an explicit 0 counts
  p.podLevel.amounts.set("hugepages-2Mi", 4 * testing::kMi);
  r = podRequests(p);
  EXPECT_EQ(r.memory, 0);
  EXPECT_EQ(r.get("hugepages-2Mi"), 4 * testing::kMi);
}

// Kubernetes sums Quantities exactly and rounds once (MilliValue for cpu, Value otherwise).
TEST(PodRequests, FractionalRequestsSumExactlyAndRoundOnce) {
  PodInfo p;
  for (int i = 0; i < 3; ++i) {
    Container c;  // cpu 333.3m, memory 0.1Gi = 107374182.4 bytes
    c.requests = res(334, 107374183);
    c.requestsRoundedUpBy.cpuMilli = 700'000'000;
    c.requestsRoundedUpBy.memory = 600'000'000;
    p.containers.push_back(c);
  }
  Resources r = podRequests(p);
  EXPECT_EQ(r.cpuMilli, 1000);     // 999.9m, not 3 × 334m
  EXPECT_EQ(r.memory, 322122548);  // 322122547.2, not 3 × 107374183
  Container init;                  // an init container of exactly 1000.5m wins the max
  init.limits = res(1001, 0);
  init.limitsRoundedUpBy.cpuMilli = 500'000'000;
  p.initContainers = {init};
  EXPECT_EQ(podRequests(p).cpuMilli, 1001);
  p.overhead = res(1, 0);  // + 0.5m overhead: 1001m exactly
  p.overheadRoundedUpBy.cpuMilli = 500'000'000;
  EXPECT_EQ(podRequests(p).cpuMilli, 1001);
}

}  // namespace
}  // namespace spotfit::placement

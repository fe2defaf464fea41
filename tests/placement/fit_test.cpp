#include "placement/fit.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;

TEST(Fit, FitsOnFreeCapacity) {
  PodInfo p = testing::pod("a", 1000, kGi);
  NodeInfo n = testing::node("n1", 4000, 8 * kGi);
  FitVerdict v = fit(p, n);
  EXPECT_TRUE(v.fits);
  EXPECT_TRUE(v.reason.empty());
  EXPECT_EQ(v.code, FitCode::Fits);
}

TEST(Fit, InsufficientIsTemporaryUnlessAboveAllocatable) {
  NodeInfo n = testing::node("n1", 4000, 8 * kGi);
  PodInfo filler = testing::pod("f", 3500, 7 * kGi);
  testing::bind(n, filler);
  FitVerdict v = fit(testing::pod("a", 1000, 2 * kGi), n);
  EXPECT_FALSE(v.fits);
  EXPECT_FALSE(v.permanent);  // evicting the filler would make room
  EXPECT_EQ(v.reason, "Insufficient cpu, Insufficient memory");
  EXPECT_EQ(v.code, FitCode::Resources);
  FitVerdict big = fit(testing::pod("b", 8000, kGi), n);
  EXPECT_FALSE(big.fits);
  EXPECT_TRUE(big.permanent);
  EXPECT_EQ(big.reason, "Insufficient cpu");
  FitVerdict gpu = fit(testing::pod("g", 100, kGi, 1), n);
  EXPECT_TRUE(gpu.permanent);
  EXPECT_EQ(gpu.reason, "Insufficient nvidia.com/gpu");
  EXPECT_TRUE(fit(testing::pod("a", 1000, 2 * kGi), n, FitOptions{.ignoreUsage = true}).fits);
}

TEST(Fit, TooManyPods) {
  NodeInfo n = testing::node("n1", 4000, 8 * kGi);
  n.allocatable.pods = 1;
  PodInfo zero = testing::pod("z", 0, 0);
  testing::bind(n, zero);
  FitVerdict v = fit(testing::pod("a", 0, 0), n);
  EXPECT_FALSE(v.fits);
  EXPECT_EQ(v.reason, "Too many pods");
  EXPECT_EQ(v.code, FitCode::Resources);
  EXPECT_FALSE(v.permanent);
}

TEST(Fit, CordonedNodeUnlessTolerated) {
  NodeInfo n = testing::node("n1", 4000, 8 * kGi);
  n.unschedulable = true;
  PodInfo p = testing::pod("a", 100, kGi);
  FitVerdict v = fit(p, n);
  EXPECT_FALSE(v.fits);
  EXPECT_TRUE(v.permanent);
  EXPECT_EQ(v.reason, "node(s) were unschedulable");
  EXPECT_EQ(v.code, FitCode::Unschedulable);
  EXPECT_TRUE(fit(p, n, FitOptions{.ignoreUnschedulable = true}).fits);
  Toleration t;
  t.key = "node.kubernetes.io/unschedulable";
  t.op = TolerationOperator::Exists;
  p.tolerations.push_back(t);
  EXPECT_TRUE(fit(p, n).fits);
}

TEST(Fit, SelectorAndAffinity) {
  NodeInfo n = testing::node("n1", 4000, 8 * kGi);
  n.labels["zone"] = "a";
  PodInfo p = testing::pod("a", 100, kGi);
  p.nodeSelector["zone"] = "b";
  FitVerdict v = fit(p, n);
  EXPECT_FALSE(v.fits);
  EXPECT_TRUE(v.permanent);
  EXPECT_EQ(v.reason, "node(s) didn't match Pod's node affinity/selector");
  EXPECT_EQ(v.code, FitCode::NodeAffinity);
  p.nodeSelector["zone"] = "a";
  EXPECT_TRUE(fit(p, n).fits);
  p.requiredNodeAffinity.push_back(NodeSelectorTerm{{{"zone", SelectorOperator::NotIn, {"a"}}}, {}});
  EXPECT_FALSE(fit(p, n).fits);
  p.requiredNodeAffinity.push_back(NodeSelectorTerm{{{"zone", SelectorOperator::Exists, {}}}, {}});
  EXPECT_TRUE(fit(p, n).fits);
}

TEST(Fit, TaintsNoScheduleAndNoExecute) {
  NodeInfo n = testing::node("n1", 4000, 8 * kGi);
  n.taints.push_back({"soft", "x", TaintEffect::PreferNoSchedule});
  PodInfo p = testing::pod("a", 100, kGi);
  EXPECT_TRUE(fit(p, n).fits);
  n.taints.push_back({"spot", "true", TaintEffect::NoExecute});
  FitVerdict v = fit(p, n);
  EXPECT_FALSE(v.fits);
  EXPECT_TRUE(v.permanent);
  EXPECT_EQ(v.reason, "node(s) had untolerated taint {spot: true}");
  EXPECT_EQ(v.code, FitCode::Taint);
  Toleration t;
  t.key = "spot";
  t.value = "true";
  p.tolerations.push_back(t);
  EXPECT_TRUE(fit(p, n).fits);
}

TEST(Fit, GpuProduct) {
  NodeInfo n = testing::node("n1", 8000, 32 * kGi, 1);
  n.gpuProduct = "Tesla-T4";
  PodInfo p = testing::pod("a", 100, kGi, 1);
  p.gpuProduct = "NVIDIA-A100-SXM4-80GB";
  FitVerdict v = fit(p, n);
  EXPECT_FALSE(v.fits);
  EXPECT_TRUE(v.permanent);
  EXPECT_EQ(v.reason, "gpu product Tesla-T4, pod requires NVIDIA-A100-SXM4-80GB");
  EXPECT_EQ(v.code, FitCode::GpuProduct);
  p.gpuProduct = "Tesla-T4";
  EXPECT_TRUE(fit(p, n).fits);
  NodeInfo cpu = testing::node("c", 8000, 32 * kGi);
  p.gpuProduct = "Tesla-T4";
  EXPECT_NE(fit(p, cpu).reason.find("gpu product none"), std::string::npos);
}

TEST(Fit, CapacityPolicy) {
  NodeInfo od = testing::node("od", 4000, 8 * kGi, 0, CapacityType::OnDemand);
  NodeInfo spot = testing::node("spot", 4000, 8 * kGi, 0, CapacityType::Spot);
  PodInfo p = testing::pod("a", 100, kGi);
  EXPECT_TRUE(fit(p, od).fits);
  EXPECT_TRUE(fit(p, spot).fits);
  p.capacityPolicy = CapacityPolicy::OnDemand;
  EXPECT_FALSE(fit(p, spot).fits);
  EXPECT_EQ(fit(p, spot).reason, "spot node, pod requires on-demand");
  EXPECT_EQ(fit(p, spot).code, FitCode::CapacityType);
  p.capacityPolicy = CapacityPolicy::Spot;
  EXPECT_EQ(fit(p, od).reason, "on-demand node, pod requires spot");
  p.capacityPolicy = CapacityPolicy::SpotOnly;
  FitVerdict v = fit(p, od);
  EXPECT_FALSE(v.fits);
  EXPECT_TRUE(v.permanent);
  EXPECT_EQ(v.reason, "on-demand node, workflow over budget: spot only");
  EXPECT_EQ(v.code, FitCode::Budget);
  EXPECT_TRUE(fit(p, spot).fits);
  EXPECT_TRUE(staticallyCompatible(p, spot));
  EXPECT_FALSE(staticallyCompatible(p, od));
}

}  // namespace
}  // namespace spotfit::placement

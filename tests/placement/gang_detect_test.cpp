#include "placement/gang_detect.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

PodInfo member(const std::string& name = "w-0") {
  PodInfo p = testing::pod(name, 1000, testing::kGi);
  p.namespace_ = "ml";
  p.ownerKind = "Job";
  p.ownerName = "train";
  return p;
}

TEST(GangDetect, PlainJobPodIsNoGang) {
  EXPECT_FALSE(detectGang(member()).has_value());
}

TEST(GangDetect, AnnotationWithSize) {
  PodInfo p = member();
  p.annotations["spotfit.io/gang"] = "true";
  p.annotations["spotfit.io/gang-size"] = "8";
  auto g = detectGang(p);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->source, "annotation");
  EXPECT_EQ(g->key, "ml/annotation/Job/train");
  EXPECT_EQ(g->size, 8);
  EXPECT_EQ(g->topology, GangTopology::Any);
  EXPECT_TRUE(g->warnings.empty());
}

TEST(GangDetect, HostileSizesWarnAndLeaveTheSizeUnknown) {
  for (const std::string& bad : std::vector<std::string>{"-3", "0", "99999999999999999999999", "10001", "eight", "8 ",
                                                         "", "0x10", std::string(5000, '9')}) {
    PodInfo p = member();
    p.annotations["spotfit.io/gang"] = "true";
    p.annotations["spotfit.io/gang-size"] = bad;
    auto g = detectGang(p);
    ASSERT_TRUE(g) << bad;
    EXPECT_EQ(g->size, 0) << bad;
    ASSERT_EQ(g->warnings.size(), 1u) << bad;
    EXPECT_NE(g->warnings[0].find("spotfit.io/gang-size"), std::string::npos);
    EXPECT_LT(g->warnings[0].size(), 200u) << "a hostile value is quoted cut short";
  }
  EXPECT_EQ(parseGangSize("10000"), 10000);
  EXPECT_EQ(parseGangSize("1"), 1);
}

TEST(GangDetect, FalseOptsOutAndOtherValuesWarn) {
  PodInfo p = member();
  p.labels["jobset.sigs.k8s.io/jobset-name"] = "js";
  p.annotations["spotfit.io/gang"] = "false";
  EXPECT_FALSE(detectGang(p).has_value());
  p.annotations["spotfit.io/gang"] = "yes";
  auto g = detectGang(p);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->source, "jobset");
  ASSERT_EQ(g->warnings.size(), 1u);
}

TEST(GangDetect, TopologyAndMixedCapacity) {
  PodInfo p = member();
  p.annotations["spotfit.io/gang"] = "true";
  p.annotations["spotfit.io/gang-topology"] = "zone";
  p.annotations["spotfit.io/gang-mixed-capacity"] = "true";
  auto g = detectGang(p);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->topology, GangTopology::Zone);
  EXPECT_TRUE(g->allowMixedCapacity);
  p.annotations["spotfit.io/gang-topology"] = "rack";
  p.annotations["spotfit.io/gang-mixed-capacity"] = "maybe";
  g = detectGang(p);
  EXPECT_EQ(g->topology, GangTopology::Any);
  EXPECT_FALSE(g->allowMixedCapacity);
  EXPECT_EQ(g->warnings.size(), 2u);
}

TEST(GangDetect, KueuePodGroup) {
  PodInfo p = member();
  p.hasController = false;
  p.labels["kueue.x-k8s.io/pod-group-name"] = "g1";
  p.annotations["kueue.x-k8s.io/pod-group-total-count"] = "4";
  auto g = detectGang(p);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->source, "kueue");
  EXPECT_EQ(g->key, "ml/kueue/g1");
  EXPECT_EQ(g->size, 4);
  p.annotations["kueue.x-k8s.io/pod-group-total-count"] = "-1";
  g = detectGang(p);
  EXPECT_EQ(g->size, 0);
  EXPECT_EQ(g->warnings.size(), 1u);
}

TEST(GangDetect, VolcanoPodGroupSizeFromFacts) {
  PodInfo p = member();
  p.annotations["scheduling.k8s.io/group-name"] = "pg";
  GangFacts facts;
  auto g = detectGang(p, facts);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->source, "volcano");
  EXPECT_EQ(g->size, 0);
  facts.podGroupMinMember["ml/pg"] = 6;
  EXPECT_EQ(detectGang(p, facts)->size, 6);
  facts.podGroupMinMember["ml/pg"] = -6;
  g = detectGang(p, facts);
  EXPECT_EQ(g->size, 0);
  EXPECT_EQ(g->warnings.size(), 1u);
  PodInfo c = member();
  c.labels["scheduling.x-k8s.io/pod-group"] = "cg";
  EXPECT_EQ(detectGang(c)->key, "ml/volcano/cg");
}

TEST(GangDetect, JobSetAndKubeflow) {
  PodInfo js = member();
  js.labels["jobset.sigs.k8s.io/jobset-name"] = "trainer";
  js.annotations["spotfit.io/gang-size"] = "16";
  auto g = detectGang(js);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->key, "ml/jobset/trainer");
  EXPECT_EQ(g->size, 16);

  PodInfo kf = member();
  kf.labels["training.kubeflow.org/job-name"] = "bert";
  EXPECT_EQ(detectGang(kf)->key, "ml/kubeflow/bert");
  PodInfo mpi = member();
  mpi.ownerKind = "MPIJob";
  mpi.ownerName = "allreduce";
  EXPECT_EQ(detectGang(mpi)->key, "ml/kubeflow/allreduce");
}

TEST(GangDetect, IndexedJobNeedsParallelismEqualCompletions) {
  PodInfo p = member();
  p.annotations["batch.kubernetes.io/job-completion-index"] = "3";
  EXPECT_FALSE(detectGang(p).has_value()) << "an Indexed Job not known to run all indexes at once";
  GangFacts facts;
  facts.indexedJobs["ml/train"] = 4;
  auto g = detectGang(p, facts);
  ASSERT_TRUE(g);
  EXPECT_EQ(g->source, "indexed-job");
  EXPECT_EQ(g->size, 4);
}

}  // namespace
}  // namespace spotfit::placement

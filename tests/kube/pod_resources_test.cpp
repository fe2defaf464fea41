// A decoded Pod's requests against kube-scheduler's arithmetic: pod-level resources (spec.resources) and
// exact sums of fractional quantities. tests/kubecompare checks the same against the real Go code.
#include <gtest/gtest.h>

#include "kube/objects.hpp"

namespace spotfit::kube {
namespace {

placement::Resources requestsOf(const std::string& spec) {
  auto d = json::parse(R"({"metadata":{"name":"p","namespace":"ns"},"spec":)" + spec + "}");
  EXPECT_TRUE(d.ok());
  auto pod = decodePod(*d);
  EXPECT_TRUE(pod.ok()) << (pod.ok() ? "" : pod.error().message);
  return pod.ok() ? pod->requests() : placement::Resources{};
}

constexpr int64_t kMi = 1 << 20;
constexpr int64_t kGi = 1 << 30;

TEST(PodRequestsDecoded, PodLevelRequestsWinOverContainersThenOverhead) {
  auto r = requestsOf(R"({"resources":{"requests":{"cpu":"2","memory":"1Gi"}},
    "overhead":{"cpu":"250m"},
    "containers":[{"name":"a","resources":{"requests":{"cpu":"100m","memory":"64Mi","nvidia.com/gpu":"1"}}}]})");
  EXPECT_EQ(r.cpuMilli, 2250);
  EXPECT_EQ(r.memory, kGi);
  EXPECT_EQ(r.get("nvidia.com/gpu"), 1);
}

// API defaulting: a pod-level limit without a request gives the request of the containers' aggregate when
// they ask for the resource, else the limit; hugepages always take the limit.
TEST(PodRequestsDecoded, PodLevelLimitWithoutRequestIsDefaultedLikeTheApiserver) {
  auto r = requestsOf(R"({"resources":{"limits":{"cpu":"4","memory":"2Gi","hugepages-2Mi":"4Mi"}},
    "containers":[{"name":"a","resources":{"requests":{"cpu":"100m","hugepages-2Mi":"2Mi"}}}]})");
  EXPECT_EQ(r.cpuMilli, 100);
  EXPECT_EQ(r.memory, 2 * kGi);
  EXPECT_EQ(r.get("hugepages-2Mi"), 4 * kMi);
}

TEST(PodRequestsDecoded, FractionalQuantitiesAreSummedExactly) {
  auto r = requestsOf(R"({"containers":[
    {"name":"a","resources":{"requests":{"cpu":"333.3m","memory":"0.1Gi"}}},
    {"name":"b","resources":{"requests":{"cpu":"333.3m","memory":"0.1Gi"}}},
    {"name":"c","resources":{"limits":{"cpu":"333.3m","memory":"0.1Gi"}}}]})");
  EXPECT_EQ(r.cpuMilli, 1000);
  EXPECT_EQ(r.memory, 322122548);
}

TEST(PodRequestsDecoded, BadPodLevelResourcesAreErrorsNamingThePath) {
  for (const char* spec : {R"({"resources":{"requests":{"cpu":"lots"}}})", R"({"resources":[]})",
                           R"({"resources":{"limits":{"memory":"-1"}}})"}) {
    auto d = json::parse(R"({"metadata":{"name":"p"},"spec":)" + std::string(spec) + "}");
    ASSERT_TRUE(d.ok());
    auto pod = decodePod(*d);
    ASSERT_FALSE(pod.ok()) << spec;
    EXPECT_NE(pod.error().message.find("spec.resources"), std::string::npos) << pod.error().message;
  }
}

}  // namespace
}  // namespace spotfit::kube

// Right-sizing without a VPA: a Job or pod gets requests from its workflow's learned profile once the
// profile has enough runs (docs/profiles.md); a VPA wins; spotfit.io/right-size picks or turns it off.
#include <gtest/gtest.h>

#include "kube/json.hpp"
#include "webhook/admitter.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::parseJson;
using testing::patchedBy;
using testing::toJson;

constexpr int64_t kMi = int64_t{1} << 20;

// A pod of Job "train" (workflow "train") in namespace ml, asking for 2 CPUs and 4 GiB (limit 4 GiB).
std::string pod(const std::string& annotations = "") {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"generateName":"train-","namespace":"ml",
    "labels":{"batch.kubernetes.io/controller-uid":"job-uid-1"},"annotations":{)" +
         annotations + R"(},
    "ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"train","uid":"job-uid-1","controller":true}]},
    "spec":{"restartPolicy":"Never","containers":[{"name":"main","image":"busybox",
      "resources":{"requests":{"cpu":"2","memory":"4Gi"},"limits":{"memory":"4Gi"}}}]}})";
}

std::string job() {
  return R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"train","namespace":"ml"},
    "spec":{"template":{"metadata":{},"spec":{"restartPolicy":"Never","containers":[{"name":"main",
      "image":"busybox","resources":{"requests":{"cpu":"2","memory":"4Gi"}}}]}}}})";
}

std::string review(const std::string& object, const std::string& kind = "Pod") {
  const std::string gvk = kind == "Job" ? R"({"group":"batch","version":"v1","kind":"Job"})"
                                        : R"({"group":"","version":"v1","kind":"Pod"})";
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":)" + gvk +
         R"(,"operation":"CREATE","namespace":"ml","object":)" + object + "}}";
}

profile::ProfileBook learned(int runs, bool oom = false) {
  profile::ProfileBook book;
  for (int i = 0; i < runs; ++i) {
    profile::ContainerObservation c{"main", 500, 1000 * kMi, 2000, 4096 * kMi, false, 0};
    book.recordPod({"ml", "train"}, {c}, 100 + i);
    book.recordRun({"ml", "train"}, profile::RunObservation{100 + i * 60, 130 + i * 60, 1, 1}, 130 + i * 60);
  }
  if (oom) {
    profile::ContainerObservation killed{"main", 0, 0, 600, 1200 * kMi, true, 1200 * kMi};
    book.recordPod({"ml", "train"}, {killed}, 1000);
  }
  return book;
}

struct RightSize : ::testing::Test {
  WebhookConfig config;
  VpaIndex vpas;
  JobIndex jobs;
  StaticProfiles profiles;

  Admission run(const std::string& body) {
    AdmitterPorts p;
    p.vpas = &vpas;
    p.jobs = &jobs;
    p.profiles = &profiles;
    return Admitter(config, p).review(body);
  }
  spotfit::kube::json::Document admitted(const std::string& object, const std::string& kind = "Pod") {
    return patchedBy(object, run(review(object, kind)).body);
  }
};

const spotfit::kube::json::Value& resources(const spotfit::kube::json::Value& podSpec) {
  return podSpec["containers"][0]["resources"];
}

TEST_F(RightSize, ThirdRunGetsProfileRequests) {
  profiles.set(learned(2));
  auto before = admitted(pod());
  EXPECT_STREQ(resources(before["spec"])["requests"]["cpu"].GetString(), "2") << "two runs are not enough";
  profiles.set(learned(3));
  auto after = admitted(pod());
  EXPECT_STREQ(resources(after["spec"])["requests"]["cpu"].GetString(), "600m");  // 500m x 1.2
  EXPECT_STREQ(resources(after["spec"])["requests"]["memory"].GetString(), "1200Mi");
  EXPECT_STREQ(resources(after["spec"])["limits"]["memory"].GetString(), "1200Mi");  // keeps its ratio
  const std::string mutated = after["metadata"]["annotations"]["spotfit.io/mutated"].GetString();
  EXPECT_NE(mutated.find("requests-profile"), std::string::npos) << mutated;
}

TEST_F(RightSize, AJobTemplateIsSizedToo) {
  profiles.set(learned(3));
  auto j = admitted(job(), "Job");
  EXPECT_STREQ(resources(j["spec"]["template"]["spec"])["requests"]["cpu"].GetString(), "600m");
}

TEST_F(RightSize, MinRunsAndHeadroomAreConfig) {
  config.rightSizing.profile.minRuns = 5;
  profiles.set(learned(4));
  EXPECT_STREQ(resources(admitted(pod())["spec"])["requests"]["cpu"].GetString(), "2");
  profiles.set(learned(5));
  config.rightSizing.profile.headroom = 1.5;
  EXPECT_STREQ(resources(admitted(pod())["spec"])["requests"]["cpu"].GetString(), "750m");
}

TEST_F(RightSize, AnOomKilledRunRaisesMemory) {
  profiles.set(learned(3, true));
  auto p = admitted(pod());
  EXPECT_STREQ(resources(p["spec"])["requests"]["memory"].GetString(), "1440Mi");  // 1200Mi killed x 1.2
}

TEST_F(RightSize, AVpaWins) {
  profiles.set(learned(3));
  Vpa v;
  v.namespace_ = "ml";
  v.name = "train";
  v.targetKind = "Job";
  v.targetName = "train";
  v.targets["main"] = {{"cpu", "900m"}};
  vpas.upsert(v);
  auto p = admitted(pod());
  EXPECT_STREQ(resources(p["spec"])["requests"]["cpu"].GetString(), "900m");
  EXPECT_STREQ(resources(p["spec"])["requests"]["memory"].GetString(), "4Gi");
  const std::string mutated = p["metadata"]["annotations"]["spotfit.io/mutated"].GetString();
  EXPECT_EQ(mutated.find("requests-profile"), std::string::npos) << mutated;
}

TEST_F(RightSize, AnnotationPicksTheSource) {
  profiles.set(learned(3));
  EXPECT_STREQ(resources(admitted(pod(R"("spotfit.io/right-size":"profile")"))["spec"])["requests"]["cpu"].GetString(),
               "600m");
  EXPECT_STREQ(resources(admitted(pod(R"("spotfit.io/right-size":"vpa")"))["spec"])["requests"]["cpu"].GetString(),
               "2");
  EXPECT_STREQ(resources(admitted(pod(R"("spotfit.io/right-size":"off")"))["spec"])["requests"]["cpu"].GetString(),
               "2");
  config.rightSizing.profiles = false;
  EXPECT_STREQ(resources(admitted(pod())["spec"])["requests"]["cpu"].GetString(), "2");
}

TEST_F(RightSize, UnknownValueWarnsAndLeavesRequests) {
  profiles.set(learned(3));
  const std::string object = pod(R"("spotfit.io/right-size":"max")");
  Admission a = run(review(object));
  EXPECT_EQ(a.result, ReviewResult::Patched);  // the rest of the policy still applies
  ASSERT_EQ(a.response.warnings.size(), 1u);
  EXPECT_EQ(a.response.warnings[0],
            "spotfit: spotfit.io/right-size=\"max\" is not one of profile, vpa, off: requests left as written");
  auto p = patchedBy(object, a.body);
  EXPECT_STREQ(resources(p["spec"])["requests"]["cpu"].GetString(), "2");
}

TEST_F(RightSize, OtherWorkflowsAndNamespacesAreNotSized) {
  profile::ProfileBook book;
  for (int i = 0; i < 3; ++i) {
    book.recordPod({"other", "train"}, {profile::ContainerObservation{"main", 500, 1000 * kMi, 0, 0, false, 0}}, i);
    book.recordRun({"other", "train"}, profile::RunObservation{0, 1, 1, 1}, i);
  }
  profiles.set(std::move(book));
  EXPECT_STREQ(resources(admitted(pod())["spec"])["requests"]["cpu"].GetString(), "2");
}

}  // namespace
}  // namespace spotfit::webhook

namespace spotfit::webhook {
namespace {

TEST(RightSizeConfig, ProfileKeysParseAndAreChecked) {
  auto c = parseWebhookConfigText(R"(
webhook:
  rightSizing: {profiles: true, minRuns: 4, headroomPercent: 30, minCpu: 50m, maxCpu: "8", minMemory: 64Mi,
                maxMemory: 32Gi, refresh: 10s}
)");
  ASSERT_TRUE(c.ok()) << c.error().message;
  const auto& p = c->rightSizing.profile;
  EXPECT_EQ(p.minRuns, 4);
  EXPECT_DOUBLE_EQ(p.headroom, 1.3);
  EXPECT_EQ(p.minCpuMilli, 50);
  EXPECT_EQ(p.maxCpuMilli, 8000);
  EXPECT_EQ(p.minMemoryBytes, 64 * kMi);
  EXPECT_EQ(p.maxMemoryBytes, int64_t{32} << 30);
  EXPECT_EQ(c->rightSizing.refresh, std::chrono::seconds(10));
  for (const char* bad : {"{minRuns: 0}", "{headroomPercent: -1}", "{minCpu: lots}", "{maxMemory: 0}",
                          "{minCpu: '4', maxCpu: '2'}", "{profile: true}"}) {
    auto r = parseWebhookConfigText(std::string("webhook:\n  rightSizing: ") + bad + "\n");
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) {
      EXPECT_NE(r.error().message.find("rightSizing"), std::string::npos) << r.error().message;
    }
  }
}

}  // namespace
}  // namespace spotfit::webhook

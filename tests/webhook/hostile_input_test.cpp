// Hostile AdmissionReviews against the Admitter (the /mutate handler): each used to crash the server,
// blow up its answer or produce an answer that is not valid JSON. Every answer here must be a valid
// AdmissionReview that the bounded parser accepts.
#include <gtest/gtest.h>

#include <string>

#include "kube/json.hpp"
#include "webhook/admitter.hpp"
#include "webhook/options.hpp"

namespace spotfit::webhook {
namespace {

std::string review(const std::string& object) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1",)"
         R"("kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"ml","object":)" +
         object + "}}";
}

std::string pod(const std::string& annotations, const std::string& containers = R"({"name":"main"})",
                const std::string& extraMeta = "") {
  return R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ml","annotations":{)" + annotations +
         "}" + extraMeta + R"(},"spec":{"containers":[)" + containers + "]}}";
}

std::string containers(int n) {
  std::string s;
  for (int i = 0; i < n; ++i) s += (i ? ",{\"name\":\"c" : "{\"name\":\"c") + std::to_string(i) + "\"}";
  return s;
}

struct Hostile : ::testing::Test {
  WebhookConfig config;

  // Runs the review and checks the answer is a well-formed AdmissionReview.
  kube::json::Document run(const std::string& body, Admission* out = nullptr) {
    Admission a = Admitter(config, AdmitterPorts{}).review(body);
    kube::json::Document d;
    Status s = kube::json::parseInto(d, a.body);
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    EXPECT_TRUE(d.IsObject() && d.HasMember("response"));
    if (out) *out = std::move(a);
    return d;
  }
  std::string message(const kube::json::Document& d) {
    if (!d["response"].HasMember("status") || !d["response"]["status"].HasMember("message")) return "";
    return d["response"]["status"]["message"].GetString();
  }
  std::string warnings(const kube::json::Document& d) {
    std::string out;
    if (!d["response"].HasMember("warnings")) return out;
    for (const auto& w : d["response"]["warnings"].GetArray()) out += std::string(w.GetString()) + "\n";
    return out;
  }
};

TEST_F(Hostile, OrdinaryPodIsPatched) {
  Admission a;
  auto d = run(review(pod(R"("spotfit.io/checkpoint":"save")")), &a);
  EXPECT_EQ(a.result, ReviewResult::Patched);
  EXPECT_TRUE(d["response"].HasMember("patch"));
}

// 45k levels overflowed the differ's stack, 150k RapidJSON's recursive parser: SIGSEGV on every endpoint.
TEST_F(Hostile, DeepNestingIsRefusedWith400) {
  for (size_t depth : {45000, 150000}) {
    const std::string nested = std::string(depth, '[') + std::string(depth, ']');
    Admission a;
    auto d = run(review(pod("", R"({"name":"main","args":)" + nested + "}")), &a);
    EXPECT_EQ(a.httpStatus, 400) << depth;
    EXPECT_FALSE(d["response"]["allowed"].GetBool());
    EXPECT_NE(message(d).find("nested deeper than 64 levels"), std::string::npos) << message(d);
  }
}

// Reads take the first of two equal keys, Go the last: a patch from either view can delete user fields.
TEST_F(Hostile, DuplicateKeysAreRefusedWith400) {
  Admission a;
  auto d = run(review(pod(R"("spotfit.io/checkpoint":"save")", R"({"name":"main","name":"other"})")), &a);
  EXPECT_EQ(a.httpStatus, 400);
  EXPECT_NE(message(d).find(R"(duplicate object key "name")"), std::string::npos) << message(d);
  auto e = run(review(pod("", R"({"name":"main"})", R"(,"labels":{},"labels":{"x":"y"})")), &a);
  EXPECT_EQ(a.httpStatus, 400);
}

// These were echoed raw into the patch and warnings, so the answer itself was not valid JSON.
TEST_F(Hostile, InvalidUtf8AndLoneSurrogatesAreRefusedWith400) {
  for (const std::string& value :
       {std::string("\xff\xfe"), std::string("\xed\xa0\x80"), std::string("\\udc00"), std::string("a\\ud800b")}) {
    Admission a;
    run(review(pod("\"spotfit.io/checkpoint\":\"" + value + "\"")), &a);
    EXPECT_EQ(a.httpStatus, 400) << value;
  }
}

TEST_F(Hostile, ObjectsWithTooManyMembersAreRefused) {
  std::string labels;
  for (int i = 0; i < 20000; ++i) labels += (i ? ",\"l" : "\"l") + std::to_string(i) + "\":\"v\"";
  Admission a;
  auto d = run(review(pod("", R"({"name":"main"})", ",\"labels\":{" + labels + "}")), &a);
  EXPECT_EQ(a.httpStatus, 400);
  EXPECT_NE(message(d).find("more than 10000 members"), std::string::npos) << message(d);
}

TEST_F(Hostile, MoreThan1000ContainersAreNotMutated) {
  Admission a;
  auto d = run(review(pod(R"("spotfit.io/checkpoint":"save")", containers(1001))), &a);
  EXPECT_TRUE(d["response"]["allowed"].GetBool());
  EXPECT_FALSE(d["response"].HasMember("patch"));
  EXPECT_NE(warnings(d).find("more than 1000"), std::string::npos) << warnings(d);
}

TEST_F(Hostile, OverlongCheckpointCommandIsRefused) {
  Admission a;
  auto ok = run(review(pod("\"spotfit.io/checkpoint\":\"" + std::string(kMaxCheckpointLength, 'x') + "\"")), &a);
  EXPECT_EQ(a.result, ReviewResult::Patched);
  auto d = run(review(pod("\"spotfit.io/checkpoint\":\"" + std::string(kMaxCheckpointLength + 1, 'x') + "\"")), &a);
  EXPECT_EQ(a.result, ReviewResult::Invalid);
  EXPECT_FALSE(d["response"]["allowed"].GetBool());
  EXPECT_NE(message(d).find("more than the limit of 4096"), std::string::npos) << message(d);
}

// The checkpoint command is copied into every container: 1000 containers x 4 KiB would be a 4 MiB patch
// from a small request. Beyond kMaxPatchBytes the Pod is admitted unchanged with a warning (fail open).
TEST_F(Hostile, OversizedPatchFailsOpenWithAWarning) {
  Admission a;
  const std::string command(kMaxCheckpointLength, 'x');
  auto d = run(review(pod("\"spotfit.io/checkpoint\":\"" + command + "\"", containers(1000))), &a);
  EXPECT_LT(a.body.size(), 4096u);
  EXPECT_EQ(a.result, ReviewResult::Error);
  EXPECT_TRUE(d["response"]["allowed"].GetBool());
  EXPECT_FALSE(d["response"].HasMember("patch"));
  EXPECT_NE(warnings(d).find("the patch would exceed 1048576 bytes"), std::string::npos) << warnings(d);
  // 100 containers fit.
  auto e = run(review(pod("\"spotfit.io/checkpoint\":\"" + command + "\"", containers(100))), &a);
  EXPECT_EQ(a.result, ReviewResult::Patched);
}

}  // namespace
}  // namespace spotfit::webhook

#include "webhook/admission.hpp"

#include <gtest/gtest.h>

#include "base/base64.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::parseJson;

std::string review(std::string_view apiVersion, std::string_view request) {
  return "{\"apiVersion\":\"" + std::string(apiVersion) +
         "\",\"kind\":\"AdmissionReview\",\"request\":" + std::string(request) + "}";
}

TEST(Decode, ReadsTheFieldsOfAV1Request) {
  auto d = decodeAdmissionReview(
      review("admission.k8s.io/v1",
             R"({"uid":"u-1","kind":{"group":"batch","version":"v1","kind":"Job"},"operation":"CREATE","namespace":"ml",
          "name":"j","dryRun":true,"object":{"metadata":{"name":"j"}}})"));
  ASSERT_TRUE(d.request) << d.failure.message;
  EXPECT_EQ(d.request->uid, "u-1");
  EXPECT_EQ(d.request->kind.group, "batch");
  EXPECT_EQ(d.request->kind.kind, "Job");
  EXPECT_EQ(d.request->operation, "CREATE");
  EXPECT_EQ(d.request->namespace_, "ml");
  EXPECT_TRUE(d.request->dryRun);
  ASSERT_NE(d.request->object, nullptr);
  EXPECT_TRUE(d.request->object->IsObject());
}

struct BadCase {
  std::string body;
  std::string message;  // substring
  std::string uid;      // echoed when readable
};

TEST(Decode, RefusesMalformedReviewsWithAClearMessage) {
  const std::vector<BadCase> cases = {
      {"", "not JSON", ""},
      {"{\"apiVersion\":", "not JSON", ""},
      {"[1]", "not a JSON object", ""},
      {R"({"apiVersion":"v1","kind":"AdmissionReview","request":{"uid":"u"}})", "apiVersion must be", "u"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"Pod","request":{"uid":"u2"}})", "kind must be AdmissionReview",
       "u2"},
      {R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview"})", "no request", ""},
      {review("admission.k8s.io/v1", R"({"kind":{"version":"v1","kind":"Pod"},"operation":"CREATE"})"), "uid", ""},
      {review("admission.k8s.io/v1", R"({"uid":7})"), "uid", ""},
      {review("admission.k8s.io/v1", R"({"uid":"u3","operation":"CREATE"})"), "request.kind", "u3"},
      {review("admission.k8s.io/v1", R"({"uid":"u4","kind":{"version":"v1","kind":"Pod"}})"), "operation", "u4"},
      {review("admission.k8s.io/v1",
              R"({"uid":"u5","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","object":[]})"),
       "request.object", "u5"},
      {review("admission.k8s.io/v1",
              R"({"uid":"u6","kind":{"version":"v1","kind":"Pod"},"operation":"CREATE","dryRun":"yes"})"),
       "dryRun", "u6"},
      {review("admission.k8s.io/v1", R"({"uid":"u7"}) trailing)"), "not JSON", ""},
  };
  for (const auto& c : cases) {
    auto d = decodeAdmissionReview(c.body);
    EXPECT_FALSE(d.request) << c.body;
    EXPECT_NE(d.failure.message.find(c.message), std::string::npos) << c.body << " -> " << d.failure.message;
    EXPECT_EQ(d.failure.uid, c.uid) << c.body;
  }
}

TEST(Encode, PatchAndPatchTypeComeTogether) {
  AdmissionResponse r;
  r.uid = "abc";
  r.patch = R"([{"op":"add","path":"/a","value":1}])";
  auto doc = parseJson(encodeAdmissionReview(kAdmissionV1, r));
  EXPECT_STREQ(doc["apiVersion"].GetString(), "admission.k8s.io/v1");
  EXPECT_STREQ(doc["kind"].GetString(), "AdmissionReview");
  const auto& resp = doc["response"];
  EXPECT_STREQ(resp["uid"].GetString(), "abc");
  EXPECT_TRUE(resp["allowed"].GetBool());
  EXPECT_STREQ(resp["patchType"].GetString(), "JSONPatch");
  EXPECT_EQ(*base::base64Decode(resp["patch"].GetString()), r.patch);

  r.patch = "[]";  // an empty patch is no patch
  auto none = parseJson(encodeAdmissionReview(kAdmissionV1, r));
  EXPECT_FALSE(none["response"].HasMember("patch"));
  EXPECT_FALSE(none["response"].HasMember("patchType"));

  r.patch = R"([{"op":"add","path":"/a","value":1}])";
  r.allowed = false;  // a refusal never carries a patch
  auto refused = parseJson(encodeAdmissionReview(kAdmissionV1, r));
  EXPECT_FALSE(refused["response"].HasMember("patch"));
  EXPECT_FALSE(refused["response"].HasMember("patchType"));
}

TEST(Encode, AnswersInTheVersionAsked) {
  AdmissionResponse r;
  r.uid = "x";
  EXPECT_STREQ(parseJson(encodeAdmissionReview(kAdmissionV1beta1, r))["apiVersion"].GetString(),
               "admission.k8s.io/v1beta1");
  EXPECT_STREQ(parseJson(encodeAdmissionReview("", r))["apiVersion"].GetString(), "admission.k8s.io/v1");
}

TEST(Encode, StatusAndWarnings) {
  AdmissionResponse r;
  r.uid = "x";
  r.allowed = false;
  r.status = AdmissionStatus{403, "Forbidden", "over budget"};
  r.warnings = {std::string(300, 'w'), "line\nbreak"};
  auto doc = parseJson(encodeAdmissionReview(kAdmissionV1, r));
  const auto& st = doc["response"]["status"];
  EXPECT_EQ(st["code"].GetInt(), 403);
  EXPECT_STREQ(st["reason"].GetString(), "Forbidden");
  EXPECT_STREQ(st["message"].GetString(), "over budget");
  EXPECT_STREQ(st["status"].GetString(), "Failure");
  const auto& w = doc["response"]["warnings"];
  ASSERT_EQ(w.Size(), 2u);
  EXPECT_LT(w[0].GetStringLength(), 120u);
  EXPECT_STREQ(w[1].GetString(), "line break");
}

TEST(Encode, WarningTruncationKeepsUtf8Whole) {
  std::string w(118, 'a');
  w += "\xC3\xA9\xC3\xA9";  // "éé": the cut at 119 would split the first é
  std::string s = sanitizeWarning(w);
  EXPECT_EQ(s.size(), 118u);
  EXPECT_EQ(s, std::string(118, 'a'));
}

}  // namespace
}  // namespace spotfit::webhook

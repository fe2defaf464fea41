#include "webhook/gang_stamp.hpp"

#include <gtest/gtest.h>

#include "webhook/admitter.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/test_support.hpp"

namespace spotfit::webhook {
namespace {

using testing::parseJson;
using testing::patchedBy;

std::string jobReview(const std::string& job) {
  return R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u-1","kind":{"group":"batch","version":"v1","kind":"Job"},"operation":"CREATE","namespace":"ml","object":)" +
         job + "}}";
}

std::string job(const std::string& spec, const std::string& jobAnnotations = "{}") {
  return R"({"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"train","namespace":"ml","annotations":)" +
         jobAnnotations + R"(},"spec":{)" + spec +
         R"("template":{"spec":{"restartPolicy":"Never","containers":[{"name":"c","image":"x"}]}}}})";
}

// The pod template annotations after admission (null when none).
json::Document templateAnnotations(const std::string& object) {
  WebhookConfig config;
  AdmitterPorts ports;
  Admission a = Admitter(config, ports).review(jobReview(object));
  EXPECT_EQ(a.httpStatus, 200);
  json::Document d = patchedBy(object, a.body);
  json::Document out;
  out.SetObject();
  auto& tmpl = d["spec"]["template"];
  if (tmpl.HasMember("metadata") && tmpl["metadata"].HasMember("annotations")) {
    out.CopyFrom(tmpl["metadata"]["annotations"], out.GetAllocator());
  }
  return out;
}

TEST(GangStamp, IndexedJobRunningAllIndexesAtOnceBecomesAGang) {
  auto ann = templateAnnotations(job(R"("completionMode":"Indexed","parallelism":4,"completions":4,)"));
  ASSERT_TRUE(ann.HasMember("spotfit.io/gang"));
  EXPECT_STREQ(ann["spotfit.io/gang"].GetString(), "true");
  EXPECT_STREQ(ann["spotfit.io/gang-size"].GetString(), "4");
}

TEST(GangStamp, OtherJobsAreNoGang) {
  for (const std::string spec :
       {R"("completionMode":"Indexed","parallelism":2,"completions":4,)",
        R"("completionMode":"NonIndexed","parallelism":4,"completions":4,)", R"("parallelism":4,"completions":4,)",
        R"("completionMode":"Indexed","parallelism":4,)",
        R"("completionMode":"Indexed","parallelism":1,"completions":1,)",
        R"("completionMode":"Indexed","parallelism":"4","completions":4,)",
        R"("completionMode":"Indexed","parallelism":20000,"completions":20000,)"}) {
    auto ann = templateAnnotations(job(spec));
    EXPECT_FALSE(ann.HasMember("spotfit.io/gang")) << spec;
  }
}

TEST(GangStamp, TheUsersAnnotationsWin) {
  auto ann = templateAnnotations(
      job(R"("completionMode":"Indexed","parallelism":4,"completions":4,)", R"({"spotfit.io/gang":"false"})"));
  EXPECT_STREQ(ann["spotfit.io/gang"].GetString(), "false");
  EXPECT_FALSE(ann.HasMember("spotfit.io/gang-size"));
  ann = templateAnnotations(
      job(R"("completionMode":"Indexed","parallelism":4,"completions":4,)", R"({"spotfit.io/gang-topology":"zone"})"));
  EXPECT_STREQ(ann["spotfit.io/gang"].GetString(), "true");
  EXPECT_STREQ(ann["spotfit.io/gang-topology"].GetString(), "zone");
}

}  // namespace
}  // namespace spotfit::webhook

// decodeCronJob: a batch/v1 CronJob as the CronJob informer hands it to pre-warming.

#include "scaler/kube_cronjob.hpp"

#include <gtest/gtest.h>

#include "placement/resources.hpp"

namespace spotfit::scaler {
namespace {

Result<CronJobInfo> decode(const std::string& text) {
  auto doc = kube::json::parse(text);
  if (!doc) return doc.error();
  return decodeCronJob(*doc);
}

TEST(KubeCronJob, DecodesScheduleAnnotationAndOneRunsPods) {
  auto cj = decode(R"({"apiVersion":"batch/v1","kind":"CronJob",
    "metadata":{"name":"nightly","namespace":"team","uid":"u1","annotations":{"spotfit.io/prewarm":"auto"}},
    "spec":{"schedule":"*/5 * * * *","timeZone":"Etc/UTC","suspend":false,"startingDeadlineSeconds":40,
      "jobTemplate":{"spec":{"parallelism":4,"completions":3,"template":{
        "metadata":{"labels":{"app":"etl"}},
        "spec":{"restartPolicy":"Never","nodeSelector":{"disk":"ssd"},
          "containers":[{"name":"main","image":"x","resources":{"requests":{"cpu":"1500m","memory":"1Gi"}}}]}}}}}})");
  ASSERT_TRUE(cj.ok()) << cj.error().message;
  EXPECT_EQ(cj->key(), "team/nightly");
  EXPECT_EQ(cj->schedule, "*/5 * * * *");
  EXPECT_EQ(cj->timeZone, "Etc/UTC");
  EXPECT_FALSE(cj->suspend);
  EXPECT_EQ(cj->startingDeadlineSeconds, 40);
  EXPECT_EQ(cj->prewarm, "auto");
  EXPECT_EQ(cj->pods, 3);  // parallelism capped by completions
  const auto req = placement::podRequests(cj->podTemplate);
  EXPECT_EQ(req.cpuMilli, 1500);
  EXPECT_EQ(req.memory, int64_t{1} << 30);
  EXPECT_EQ(cj->podTemplate.nodeSelector.at("disk"), "ssd");
  EXPECT_EQ(cj->podTemplate.namespace_, "team");
  EXPECT_EQ(cj->podTemplate.ownerKind, "Job");
}

TEST(KubeCronJob, DefaultsAndHostileInput) {
  auto cj = decode(R"({"metadata":{"name":"a","namespace":"n"},"spec":{"schedule":"@hourly","suspend":true,
    "jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"c","image":"x"}]}}}}}})");
  ASSERT_TRUE(cj.ok()) << cj.error().message;
  EXPECT_EQ(cj->pods, 1);
  EXPECT_TRUE(cj->suspend);
  EXPECT_FALSE(cj->prewarm.has_value());
  EXPECT_FALSE(cj->startingDeadlineSeconds.has_value());
  // Wrong types and missing fields are errors naming the path, never a crash.
  auto noSchedule = decode(R"({"metadata":{"name":"a","namespace":"n"},"spec":{"jobTemplate":{}}})");
  ASSERT_FALSE(noSchedule.ok());
  EXPECT_NE(noSchedule.error().message.find("spec.schedule"), std::string::npos);
  auto badType = decode(R"({"metadata":{"name":"a"},"spec":{"schedule":"@hourly","suspend":"yes",
    "jobTemplate":{"spec":{"template":{}}}}})");
  ASSERT_FALSE(badType.ok());
  EXPECT_NE(badType.error().message.find("spec.suspend"), std::string::npos);
  auto negative = decode(R"({"metadata":{"name":"a","namespace":"n"},"spec":{"schedule":"@hourly",
    "jobTemplate":{"spec":{"parallelism":-5,"template":{"spec":{"containers":[]}}}}}})");
  ASSERT_TRUE(negative.ok()) << negative.error().message;
  EXPECT_EQ(negative->pods, 0);
}

}  // namespace
}  // namespace spotfit::scaler

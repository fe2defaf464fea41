#include "scaler/kube_cronjob.hpp"

#include <algorithm>

#include "kube/objects.hpp"

namespace spotfit::scaler {

Result<CronJobInfo> decodeCronJob(const kube::json::Value& v) {
  namespace json = kube::json;
  KUBE_TRY(const json::Value* md, json::reqObject(v, "metadata", ""));
  KUBE_TRY(kube::ObjectMeta meta, kube::decodeMeta(*md));
  KUBE_TRY(const json::Value* spec, json::reqObject(v, "spec", ""));
  KUBE_TRY(std::string_view schedule, json::reqString(*spec, "schedule", "spec"));
  KUBE_TRY(auto timeZone, json::optString(*spec, "timeZone", "spec"));
  KUBE_TRY(auto suspend, json::optBool(*spec, "suspend", "spec"));
  KUBE_TRY(auto deadline, json::optInt(*spec, "startingDeadlineSeconds", "spec"));
  KUBE_TRY(const json::Value* jobTemplate, json::reqObject(*spec, "jobTemplate", "spec"));
  KUBE_TRY(const json::Value* jobSpec, json::reqObject(*jobTemplate, "spec", "spec.jobTemplate"));
  KUBE_TRY(auto parallelism, json::optInt(*jobSpec, "parallelism", "spec.jobTemplate.spec"));
  KUBE_TRY(auto completions, json::optInt(*jobSpec, "completions", "spec.jobTemplate.spec"));
  KUBE_TRY(const json::Value* tmpl, json::reqObject(*jobSpec, "template", "spec.jobTemplate.spec"));

  CronJobInfo cj;
  cj.namespace_ = meta.namespace_;
  cj.name = meta.name;
  cj.uid = meta.uid;
  cj.schedule = std::string(schedule);
  if (timeZone) cj.timeZone = std::string(*timeZone);
  cj.suspend = suspend.value_or(false);
  if (deadline) cj.startingDeadlineSeconds = std::max<int64_t>(0, *deadline);
  if (auto p = meta.annotations.get(kAnnotationPrewarm)) cj.prewarm = std::string(*p);
  int64_t pods = parallelism.value_or(1);
  if (completions) pods = std::min(pods, *completions);
  cj.pods = std::max<int64_t>(0, pods);

  // The pod template as a pod of this namespace (its metadata has no name): the pod decoder reads the
  // requests, selectors, tolerations and spotfit.io annotations exactly as for live pods.
  json::Document pod;
  pod.CopyFrom(*tmpl, pod.GetAllocator());
  auto& a = pod.GetAllocator();
  if (!pod.HasMember("metadata") || !pod["metadata"].IsObject()) {
    pod.RemoveMember("metadata");
    pod.AddMember("metadata", json::Value(rapidjson::kObjectType), a);
  }
  auto& pm = pod["metadata"];
  pm.RemoveMember("name");
  pm.RemoveMember("namespace");
  pm.AddMember("name", json::str(cj.name + "-prewarm", a), a);
  pm.AddMember("namespace", json::str(cj.namespace_, a), a);
  auto info = kube::decodePodInfo(pod);
  if (!info) return makeError("invalid", "spec.jobTemplate.spec.template: " + info.error().message);
  cj.podTemplate = std::move(*info);
  cj.podTemplate.ownerKind = "Job";
  cj.podTemplate.ownerName = cj.name;
  cj.podTemplate.hasController = true;
  return cj;
}

Result<CronJobObject> decodeCronJobObject(const kube::json::Value& v) {
  KUBE_TRY(const kube::json::Value* md, kube::json::reqObject(v, "metadata", ""));
  KUBE_TRY(kube::ObjectMeta meta, kube::decodeMeta(*md));
  KUBE_TRY(CronJobInfo info, decodeCronJob(v));
  return CronJobObject{std::move(meta), std::move(info)};
}

}  // namespace spotfit::scaler

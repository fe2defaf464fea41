#pragma once
// CronJob objects (batch/v1) decoded into what pre-warming needs (scaler/prewarm.hpp): the schedule fields,
// the spotfit.io/prewarm annotation and one run's pods (the jobTemplate's pod template, decoded with the
// same pod decoder as live pods, times parallelism capped by completions).

#include "kube/client.hpp"
#include "kube/json.hpp"
#include "kube/objects.hpp"
#include "scaler/prewarm.hpp"

namespace spotfit::scaler {

inline const kube::ResourceType kCronJobResource{"batch", "v1", "cronjobs", "CronJob", true};

// kube::Decoder for Informer<CronJobInfo>. Wrong types or a missing schedule/jobTemplate are an error
// naming the JSON path (the informer skips such an object); a negative parallelism counts as 0 pods.
Result<CronJobInfo> decodeCronJob(const kube::json::Value& v);

// What the CronJob informer stores (the informer keys objects by their metadata).
struct CronJobObject {
  kube::ObjectMeta meta;
  CronJobInfo info;
};
Result<CronJobObject> decodeCronJobObject(const kube::json::Value& v);

}  // namespace spotfit::scaler

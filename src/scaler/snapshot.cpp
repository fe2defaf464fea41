#include "scaler/snapshot.hpp"

namespace spotfit::scaler {

bool isNodeBound(const placement::PodInfo& pod) {
  return pod.ownerKind == "DaemonSet" || pod.annotations.count(kAnnotationMirror) > 0;
}

bool isFinished(const placement::PodInfo& pod) {
  return pod.phase == placement::PodPhase::Succeeded || pod.phase == placement::PodPhase::Failed;
}

bool needsEviction(const ClusterPod& pod) {
  return !pod.info.nodeName.empty() && !isFinished(pod.info) && !isNodeBound(pod.info);
}

}  // namespace spotfit::scaler

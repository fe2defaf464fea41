#include "scaler/kube_provreq.hpp"

namespace spotfit::scaler {

const kube::ResourceType kProvisioningRequests{"autoscaling.x-k8s.io", "v1", "provisioningrequests",
                                               "ProvisioningRequest", true};
const kube::ResourceType kPodTemplates{"", "v1", "podtemplates", "PodTemplate", true};

Status KubeProvReqStatusWriter::updateProvisioningRequestStatus(const std::string& namespaceName,
                                                                const std::string& name,
                                                                const std::string& statusJson) {
  kube::WriteOptions o;
  o.subresource = "status";
  auto r = client_.patch(kProvisioningRequests, namespaceName, name, kube::PatchType::Merge,
                         "{\"status\":" + statusJson + "}", o);
  if (!r) return r.error();
  return {};
}

}  // namespace spotfit::scaler

#pragma once
// The API side of ProvisioningRequests (scaler/provreq.hpp): the two resources the scaler watches and the
// status writer (merge patch of the status subresource).

#include "kube/client.hpp"
#include "scaler/provreq.hpp"

namespace spotfit::scaler {

// autoscaling.x-k8s.io/v1 provisioningrequests (namespaced; the CRD ships in manifests/crd/) and core
// v1 podtemplates (Kueue creates one per pod set and points the request's podSets at them).
extern const kube::ResourceType kProvisioningRequests;
extern const kube::ResourceType kPodTemplates;

class KubeProvReqStatusWriter final : public ProvReqStatusWriter {
 public:
  explicit KubeProvReqStatusWriter(kube::KubeClient& client) : client_(client) {}
  Status updateProvisioningRequestStatus(const std::string& namespaceName, const std::string& name,
                                         const std::string& statusJson) override;

 private:
  kube::KubeClient& client_;
};

}  // namespace spotfit::scaler

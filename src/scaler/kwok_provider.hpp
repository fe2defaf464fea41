#pragma once
// The kwok provider: nodes are Node objects created through the API (no machines), the way kwok
// (kubernetes-sigs/kwok) fakes a cluster. A node carries its instance type's capacity, the pool's labels
// and taints, capacity-type, zone and GPU feature-discovery labels, and turns Ready after `readyDelay`.
// Fault knobs: offerings without capacity, a provisioning delay, and interruption notices. The tests,
// the e2e suite and demos use it to get real Node objects without a cloud.
//
// Pool parameters: readyDelay (duration, default 0s), unavailableOfferings ("type:spot,type2:on-demand").

#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "base/vocabulary.hpp"
#include "kube/client.hpp"
#include "scaler/provider.hpp"

namespace spotfit::scaler {

using vocab::kLabelProvider;
// When a kwok node is to turn Ready (RFC 3339): a provider that did not create it (a new leader after a
// failover) still marks it Ready on time instead of leaving it to time out as not Ready.
using vocab::kAnnotationKwokReadyAt;

class KwokProvider final : public NodeProvider {
 public:
  KwokProvider(kube::KubeClient& client, const kube::Clock& clock) : client_(client), clock_(clock) {}

  Result<ProviderNode> create(const NodeRequest& request) override;
  Status remove(const NodeRef& node) override;
  Result<std::vector<ProviderNode>> list() override;
  // Marks nodes Ready once their delay has passed. Every kResumeEvery (and on the first poll) it also
  // picks up not-Ready kwok nodes carrying kAnnotationKwokReadyAt that another instance created.
  void poll(TimePoint now) override;
  static constexpr Duration kResumeEvery = std::chrono::seconds(30);

  // Fault knobs (in addition to the pool parameters).
  void setCapacityUnavailable(const std::string& instanceType, CapacityType type, bool unavailable);
  // Puts the kwok interruption notice taint on a node, as a cloud's termination handler would.
  Status interrupt(const std::string& nodeName);
  size_t pendingReady() const;

  // The Node object for a request (exposed for tests and the simulator).
  static std::string nodeJson(const NodeRequest& request, bool ready, TimePoint now,
                              std::optional<TimePoint> readyAt = std::nullopt);

 private:
  kube::KubeClient& client_;
  const kube::Clock& clock_;
  mutable std::mutex mu_;
  std::set<std::pair<std::string, CapacityType>> unavailable_;
  // Lists kwok nodes and schedules the not-Ready ones that carry a ready-at annotation.
  Status resumePending();
  std::map<std::string, TimePoint> readyAt_;  // node -> when to mark it Ready
  std::optional<TimePoint> lastResume_;
};

}  // namespace spotfit::scaler

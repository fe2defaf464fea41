#pragma once
// A NodeProvider that keeps its machines in memory, with the same fault knobs as the kwok provider
// (capacity unavailable per offering, quota, arbitrary failures). The unit tests, the simulator and the
// benchmarks use it; it is thread-safe.

#include <mutex>
#include <set>
#include <tuple>

#include "scaler/provider.hpp"

namespace spotfit::scaler {

class InMemoryProvider final : public NodeProvider {
 public:
  explicit InMemoryProvider(const kube::Clock& clock) : clock_(clock) {}

  Result<ProviderNode> create(const NodeRequest& request) override;
  Status remove(const NodeRef& node) override;
  Result<std::vector<ProviderNode>> list() override;

  // Fault knobs.
  void setCapacityUnavailable(const std::string& instanceType, CapacityType type, bool unavailable);
  void setQuota(int maxNodes);  // creates beyond this many live nodes fail with kErrQuota; <0 = none
  void failNextCreates(int count, Error error);
  void failNextRemoves(int count, Error error);

  // What happened, for assertions.
  std::vector<NodeRequest> createRequests() const;  // every create call, successful or not
  std::vector<std::string> removed() const;
  size_t liveNodes() const;

 private:
  const kube::Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, ProviderNode> nodes_;
  std::set<std::tuple<std::string, CapacityType>> unavailable_;
  int quota_ = -1;
  int failCreates_ = 0, failRemoves_ = 0;
  Error createError_, removeError_;
  std::vector<NodeRequest> requests_;
  std::vector<std::string> removed_;
};

}  // namespace spotfit::scaler

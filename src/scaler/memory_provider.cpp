#include "scaler/memory_provider.hpp"

namespace spotfit::scaler {

Result<ProviderNode> InMemoryProvider::create(const NodeRequest& request) {
  std::lock_guard lock(mu_);
  requests_.push_back(request);
  if (failCreates_ > 0) {
    --failCreates_;
    return createError_;
  }
  if (unavailable_.count({request.instanceType, request.capacityType})) {
    return makeError(kErrInsufficientCapacity,
                     "no " + std::string(toString(request.capacityType)) + " capacity for " + request.instanceType);
  }
  if (quota_ >= 0 && static_cast<int>(nodes_.size()) >= quota_) {
    return makeError(kErrQuota, "node quota of " + std::to_string(quota_) + " reached");
  }
  if (nodes_.count(request.nodeName)) return makeError("conflict", "node " + request.nodeName + " exists");
  ProviderNode n{request.nodeName,     "memory://" + request.nodeName, request.pool,
                 request.instanceType, request.capacityType,           request.zone,
                 clock_.wallNow()};
  nodes_[n.nodeName] = n;
  return n;
}

Status InMemoryProvider::remove(const NodeRef& node) {
  std::lock_guard lock(mu_);
  if (failRemoves_ > 0) {
    --failRemoves_;
    return removeError_;
  }
  if (nodes_.erase(node.nodeName)) removed_.push_back(node.nodeName);
  return {};
}

Result<std::vector<ProviderNode>> InMemoryProvider::list() {
  std::lock_guard lock(mu_);
  std::vector<ProviderNode> out;
  for (const auto& [name, n] : nodes_) out.push_back(n);
  return out;
}

void InMemoryProvider::setCapacityUnavailable(const std::string& instanceType, CapacityType type, bool unavailable) {
  std::lock_guard lock(mu_);
  if (unavailable)
    unavailable_.insert({instanceType, type});
  else
    unavailable_.erase({instanceType, type});
}

void InMemoryProvider::setQuota(int maxNodes) {
  std::lock_guard lock(mu_);
  quota_ = maxNodes;
}

void InMemoryProvider::failNextCreates(int count, Error error) {
  std::lock_guard lock(mu_);
  failCreates_ = count;
  createError_ = std::move(error);
}

void InMemoryProvider::failNextRemoves(int count, Error error) {
  std::lock_guard lock(mu_);
  failRemoves_ = count;
  removeError_ = std::move(error);
}

std::vector<NodeRequest> InMemoryProvider::createRequests() const {
  std::lock_guard lock(mu_);
  return requests_;
}

std::vector<std::string> InMemoryProvider::removed() const {
  std::lock_guard lock(mu_);
  return removed_;
}

size_t InMemoryProvider::liveNodes() const {
  std::lock_guard lock(mu_);
  return nodes_.size();
}

}  // namespace spotfit::scaler

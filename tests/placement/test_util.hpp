#pragma once
// Builders for placement tests: short, readable pods and nodes.

#include <cstdint>
#include <string>

#include "placement/model.hpp"
#include "placement/resources.hpp"

namespace spotfit::placement::testing {

inline constexpr int64_t kGi = int64_t{1} << 30;
inline constexpr int64_t kMi = int64_t{1} << 20;

inline Resources res(int64_t cpuMilli, int64_t memory, int64_t gpus = 0, int64_t pods = 0) {
  Resources r;
  r.cpuMilli = cpuMilli;
  r.memory = memory;
  r.pods = pods;
  if (gpus != 0) r.set("nvidia.com/gpu", gpus);
  return r;
}

inline PodInfo pod(const std::string& name, int64_t cpuMilli, int64_t memory, int64_t gpus = 0) {
  PodInfo p;
  p.namespace_ = "default";
  p.name = name;
  p.uid = "uid-" + name;
  p.ownerKind = "Job";
  p.ownerName = "job-" + name;
  p.hasController = true;
  Container c;
  c.name = "main";
  c.requests = res(cpuMilli, memory, gpus);
  p.containers.push_back(c);
  return p;
}

inline NodeInfo node(const std::string& name, int64_t cpuMilli, int64_t memory, int64_t gpus = 0,
                     CapacityType type = CapacityType::OnDemand, double price = 0) {
  NodeInfo n;
  n.name = name;
  n.allocatable = res(cpuMilli, memory, gpus, 110);
  n.capacityType = type;
  n.hourlyPrice = price;
  n.labels["kubernetes.io/hostname"] = name;
  return n;
}

// Binds a pod to a node (adds its requests to the node's requested).
inline void bind(NodeInfo& n, PodInfo& p) {
  n.requested += podRequests(p);
  p.nodeName = n.name;
  p.phase = PodPhase::Running;
}

}  // namespace spotfit::placement::testing

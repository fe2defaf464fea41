#pragma once
// Scale-up planning: pending pods in, a ScaleUpPlan out. The objective is the lowest hourly cost of the
// new nodes, spot preferred where the pod allows it (ties go to spot). Free capacity on existing and
// in-flight nodes is used first: it is already paid for.
//
// Method (see docs/placement.md): identical pods are grouped into equivalence classes; classes with the
// same scheduling constraints form a compatibility group whose feasible offerings (pool × instance type ×
// capacity type) are computed once. Per group the solver picks an instance-type mix by splitting the
// group's demand (by memory:cpu ratio and by size) wherever two types cover it cheaper than one, packs
// each part first-fit-decreasing onto nodes of its type, and finally right-sizes every new node to the
// cheapest offering that still holds its pods. GPU groups are planned first so that pods without GPUs
// can use the spare cpu and memory of new GPU nodes (when their taints allow).

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "placement/model.hpp"
#include "placement/resources.hpp"

namespace spotfit::placement {

struct Offering {
  CapacityType capacityType = CapacityType::OnDemand;
  double hourlyPrice = 0;  // USD/hour
  bool available = true;   // false after an insufficient-capacity error (Karpenter's ICE cache)
};

struct InstanceType {
  std::string name;        // "m5.xlarge"
  Resources allocatable;   // what pods can use; pods = 0 means 110
  std::string gpuProduct;  // nvidia.com/gpu.product of its GPUs, empty without GPUs
  Labels labels;           // extra labels a node of this type carries (zone, arch, ...)
  std::vector<Offering> offerings;
};

struct NodePool {
  std::string name;
  Labels labels;              // on every node of the pool
  std::vector<Taint> taints;  // on every node of the pool
  std::vector<InstanceType> instanceTypes;
  bool allowSpot = true;
  bool allowOnDemand = true;
  int32_t minNodes = 0;   // consolidation never goes below
  int32_t maxNodes = -1;  // -1: unlimited; counts existing + in-flight + planned nodes of the pool
  // Cap on the summed allocatable of the pool's nodes; a zero entry means unlimited for that resource.
  Resources limits;
  bool gangSameZone = false;  // gangs using this pool are planned in one zone (placement/gang.hpp)
};

struct SolverOptions {
  size_t packingWindow = 0;          // >0: first-fit scans only the last N open nodes of a part (speed)
  int maxPartitionDepth = 3;         // up to 2^depth instance types per compatibility group
  bool fillNewNodeLeftovers = true;  // later groups may use spare room on nodes opened for earlier ones
  bool rightSize = true;             // shrink each new node to the cheapest offering that holds its pods
};

struct ScaleUpInput {
  std::vector<PodInfo> pods;    // pending pods to place
  std::vector<NodeInfo> nodes;  // existing and in-flight (inFlight = true) nodes with their requested
  std::vector<NodePool> pools;
};

struct PodAssignment {
  size_t pod = 0;    // index into ScaleUpInput::pods
  std::string node;  // existing or in-flight node name
};

struct PlannedNode {
  std::string name;  // placeholder ("<pool>-<n>") until the provider names it
  std::string pool;
  std::string instanceType;
  CapacityType capacityType = CapacityType::OnDemand;
  double hourlyPrice = 0;
  Resources allocatable;
  Resources requested;       // sum of the planned pods' requests
  std::vector<size_t> pods;  // indices into ScaleUpInput::pods
};

struct UnplacedPod {
  size_t pod = 0;
  std::string reason;  // why no existing node and no offering can take it
};

struct ScaleUpPlan {
  std::vector<PodAssignment> onExisting;
  std::vector<PlannedNode> newNodes;
  std::vector<UnplacedPod> unschedulable;

  double newNodesHourlyCost() const;
};

ScaleUpPlan planScaleUp(const ScaleUpInput& input, const SolverOptions& options = {});

// The node a new instance of this offering becomes: pool and type labels plus node.kubernetes.io/
// instance-type, spotfit.io/node-pool, spotfit.io/capacity-type, karpenter.sh/capacity-type and
// nvidia.com/gpu.product; pool taints; allocatable (pods defaulted to 110). Providers and the simulator
// create nodes from it so the extender sees exactly what the solver planned.
NodeInfo nodeFromOffering(const NodePool& pool, const InstanceType& type, const Offering& offering, std::string name);

// Lower bound on the hourly cost of running these pods on new nodes: for each resource, the total
// request × the cheapest price per unit of that resource over all available offerings; the max over
// resources. Plan cost ÷ this bound is the quality figure of the benchmarks.
double fractionalLowerBound(const std::vector<PodInfo>& pods, const std::vector<NodePool>& pools);

// A tighter, still valid bound: each pod's request of a resource is priced at the cheapest unit price
// among the offerings that can hold that pod whole (an 8-GPU pod cannot use the cheap 1-GPU type), then
// the max over resources. Pods no offering holds are left out.
double sizeAwareLowerBound(const std::vector<PodInfo>& pods, const std::vector<NodePool>& pools);

}  // namespace spotfit::placement

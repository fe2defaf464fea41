#include "scaler/planner.hpp"

namespace spotfit::scaler {

placement::NodePool toPlacementPool(const NodePool& pool, const std::set<Offering>& available) {
  placement::NodePool out;
  out.name = pool.name;
  for (const auto& [k, v] : pool.labels) out.labels[k] = v;
  out.taints = pool.taints;
  out.allowSpot = pool.allows(CapacityType::Spot);
  out.allowOnDemand = pool.allows(CapacityType::OnDemand);
  out.minNodes = static_cast<int32_t>(pool.minNodes);
  out.maxNodes = static_cast<int32_t>(pool.maxNodes);
  out.gangSameZone = pool.gangSameZone;
  out.limits.cpuMilli = pool.limits.cpuMilli;
  out.limits.memory = pool.limits.memoryBytes;
  if (pool.limits.gpus > 0) out.limits.set(kResourceGpu, pool.limits.gpus);
  for (const auto& t : pool.instanceTypes) {
    placement::InstanceType it;
    it.name = t.name;
    it.allocatable.cpuMilli = t.cpuMilli;
    it.allocatable.memory = t.memoryBytes;
    it.allocatable.pods = t.maxPods;
    if (t.gpus > 0) {
      it.allocatable.set(kResourceGpu, t.gpus);
      it.gpuProduct = t.gpuProduct;
      it.labels[kLabelGpuCount] = std::to_string(t.gpus);
      if (t.gpuMemoryMiB > 0) it.labels[kLabelGpuMemory] = std::to_string(t.gpuMemoryMiB);
    }
    for (const auto& [name, count] : t.extended) {
      if (count > 0) it.allocatable.set(name, count);
    }
    // With a single zone every node's zone is known at planning time, so zone selectors can be planned.
    if (pool.zones.size() == 1) it.labels[kLabelZone] = pool.zones.front();
    for (auto ct : pool.capacityTypes) {
      if (!t.offers(ct)) continue;
      it.offerings.push_back({ct, t.price(ct), available.count({t.name, ct}) > 0});
    }
    out.instanceTypes.push_back(std::move(it));
  }
  return out;
}

NodeTemplate nodeTemplate(const NodePool& pool, const InstanceType& type, CapacityType capacity,
                          const std::string& zone, const std::string& nodeName) {
  const placement::NodePool pp = toPlacementPool(pool, {{type.name, capacity}});
  const placement::InstanceType* pt = nullptr;
  for (const auto& t : pp.instanceTypes) {
    if (t.name == type.name) pt = &t;
  }
  NodeTemplate out;
  placement::Offering offering{capacity, type.price(capacity), true};
  out.model = pt ? placement::nodeFromOffering(pp, *pt, offering, nodeName) : placement::NodeInfo{};
  out.model.labels["kubernetes.io/hostname"] = nodeName;
  if (!zone.empty()) out.model.labels[kLabelZone] = zone;
  out.model.inFlight = true;
  NodeRequest& r = out.request;
  r.nodeName = nodeName;
  r.pool = pool.name;
  r.instanceType = type.name;
  r.capacityType = capacity;
  r.zone = zone;
  r.cpuMilli = out.model.allocatable.cpuMilli;
  r.memoryBytes = out.model.allocatable.memory;
  r.pods = out.model.allocatable.pods;
  for (const auto& [k, v] : out.model.allocatable.extended) r.extended[k] = v;
  for (const auto& [k, v] : out.model.labels) r.labels[k] = v;
  r.taints = out.model.taints;
  r.providerParams = pool.provider.parameters;
  return out;
}

PlanResult PlacementPlanner::plan(const PlanRequest& request) {
  placement::ScaleUpInput in;
  in.pods = request.pods;
  in.nodes = request.nodes;
  for (const auto& pp : request.pools) in.pools.push_back(toPlacementPool(*pp.pool, pp.available));
  placement::ScaleUpPlan plan = request.risk ? placement::planScaleUpByRisk(in, *request.risk, options_).plan
                                             : placement::planScaleUp(in, options_);
  PlanResult out;
  for (const auto& a : plan.onExisting) out.onExisting[in.pods[a.pod].key()] = a.node;
  for (const auto& n : plan.newNodes) {
    PlannedNode pn;
    pn.pool = n.pool;
    pn.instanceType = n.instanceType;
    pn.capacityType = n.capacityType;
    for (size_t i : n.pods) pn.podKeys.push_back(in.pods[i].key());
    out.newNodes.push_back(std::move(pn));
  }
  for (const auto& u : plan.unschedulable) out.unplaceable[in.pods[u.pod].key()] = u.reason;
  return out;
}

}  // namespace spotfit::scaler

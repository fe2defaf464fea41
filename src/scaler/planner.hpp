#pragma once
// The scaler's planning port. The production planner (placement_planner.cpp) hands the request to the
// placement core's scale-up solver, the same code the extender's fit and scores come from, so capacity
// the scaler creates is capacity the extender accepts (Cluster Autoscaler cannot simulate extenders).

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "placement/model.hpp"
#include "placement/solver.hpp"
#include "placement/spot_risk.hpp"
#include "scaler/nodepool.hpp"

namespace spotfit::scaler {

struct Offering {
  std::string instanceType;
  CapacityType capacityType = CapacityType::OnDemand;
  auto operator<=>(const Offering&) const = default;
};

struct PlannerPool {
  const NodePool* pool = nullptr;
  std::set<Offering> available;  // offerings that may be launched now (unavailable and cooled-off ones removed)
};

struct PlanRequest {
  std::vector<placement::PodInfo> pods;    // pending pods, capacity policy already adjusted for budgets
  std::vector<placement::NodeInfo> nodes;  // schedulable nodes incl. in-flight ones (inFlight = true)
  std::vector<PlannerPool> pools;
  // Set: spot offerings are chosen by interruption risk (placement::planScaleUpByRisk; offering_risk.hpp).
  std::optional<placement::SpotRiskInput> risk = std::nullopt;
};

struct PlannedNode {
  std::string pool, instanceType;
  CapacityType capacityType = CapacityType::OnDemand;
  std::vector<std::string> podKeys;  // namespace/name of the pods it is for
};

struct PlanResult {
  std::vector<PlannedNode> newNodes;
  std::map<std::string, std::string> onExisting;   // pod key -> node name (existing or in-flight)
  std::map<std::string, std::string> unplaceable;  // pod key -> why no node, existing or new, can take it
};

class ScaleUpPlanner {
 public:
  virtual ~ScaleUpPlanner() = default;
  virtual PlanResult plan(const PlanRequest& request) = 0;
};

// The pool as the placement solver sees it: instance types with their capacity and one offering per
// allowed capacity type, marked unavailable unless listed in `available`.
placement::NodePool toPlacementPool(const NodePool& pool, const std::set<Offering>& available);

// A node of this pool, instance type and capacity type: the placement model (placement::nodeFromOffering,
// exactly what the solver planned) plus the zone and hostname labels, and the provider request for it.
struct NodeTemplate {
  placement::NodeInfo model;
  NodeRequest request;
};
NodeTemplate nodeTemplate(const NodePool& pool, const InstanceType& type, CapacityType capacity,
                          const std::string& zone, const std::string& nodeName);

// The production planner: placement::planScaleUp, the solver the simulator also uses.
class PlacementPlanner final : public ScaleUpPlanner {
 public:
  explicit PlacementPlanner(placement::SolverOptions options = {}) : options_(options) {}
  PlanResult plan(const PlanRequest& request) override;

 private:
  placement::SolverOptions options_;
};

}  // namespace spotfit::scaler

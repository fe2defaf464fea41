#pragma once
// All-or-nothing planning for a gang: pods that are useless unless all of them run (distributed training,
// MPI, wide map phases). planGang places every member or none, on one capacity type, optionally in one
// zone, spot first with a whole-gang fallback to on-demand. It is the scale-up solver (solver.hpp) run on
// restricted copies of the input, so a gang plan is a plan the extender accepts. See docs/placement.md.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "placement/model.hpp"
#include "placement/solver.hpp"

namespace spotfit::placement {

inline constexpr std::string_view kLabelTopologyZone = "topology.kubernetes.io/zone";

enum class GangTopology {
  Any,   // members may land in different zones
  Zone,  // every member's node (new or existing) in one zone
};

struct GangOptions {
  GangTopology topology = GangTopology::Any;
  // Spot and on-demand nodes in one gang, only when neither capacity type alone can hold it (annotation
  // spotfit.io/gang-mixed-capacity: "true"). Off: one capacity type for the whole gang.
  bool allowMixedCapacity = false;
  // Members already running pin the rest (the scaler and the extender take these from their nodes):
  // only this capacity type, only this zone.
  std::optional<CapacityType> capacityType;
  std::optional<std::string> zone;
  SolverOptions solver;
};

struct GangPlan {
  bool feasible = false;  // every member has a node (existing, in flight or planned); else the plan is empty
  ScaleUpPlan plan;       // indices refer to ScaleUpInput::pods, as planScaleUp's
  std::optional<CapacityType> capacityType;  // of every node the gang uses; nullopt when mixed or infeasible
  std::string zone;                          // with GangTopology::Zone: the zone chosen ("" = unlabelled)
  bool fellBackToOnDemand = false;           // spot could not hold the whole gang
  // Infeasible: why, per capacity type tried. Feasible after a fallback: why spot was not used.
  std::string reason;
};

// The zone a new node of this offering gets: the instance type's topology.kubernetes.io/zone label, else
// the pool's, else "".
std::string offeringZone(const NodePool& pool, const InstanceType& type);

// Plans input.pods (the gang's pending members) as one unit. Free room on input.nodes counts, but only on
// nodes of the chosen capacity type (and zone); every node still counts toward its pool's maxNodes and
// limits. Candidates: spot, then on-demand (each per zone with GangTopology::Zone); the cheapest feasible
// spot candidate wins, else the cheapest on-demand one, else (allowMixedCapacity) the cheapest
// unrestricted one. A pool whose gangSameZone is set makes the gang zonal as if it asked for it.
// Deterministic: ties go to the lower zone name.
GangPlan planGang(const ScaleUpInput& input, const GangOptions& options = {});

}  // namespace spotfit::placement

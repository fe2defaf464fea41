#pragma once
// Reference planners the spotfit solver is measured against, on the same ScaleUpInput. They model the
// published behaviour of the anchors closely enough to compare cost; they are not used in production.
//
// planLeastWaste — Cluster Autoscaler with the least-waste expander: pods first go to existing nodes;
//   then, repeatedly, every node group (here: pool × instance type × capacity type) estimates how many
//   nodes of its template the remaining pods need (first-fit-decreasing binpacking estimator), and the
//   group whose estimated nodes waste the least (idle cpu fraction + idle memory fraction) is scaled.
//   Price is not considered (that is the least-waste expander's definition).
//
// planFirstFitDecreasing — Karpenter's scheduler: pods sorted by cpu then memory, descending; each goes
//   to the first existing node, else the first open NodeClaim that still has an instance type holding
//   all its pods, else a new NodeClaim with every compatible instance type; at launch each NodeClaim
//   takes the cheapest remaining offering.

#include "placement/solver.hpp"

namespace spotfit::placement {

ScaleUpPlan planLeastWaste(const ScaleUpInput& input);
ScaleUpPlan planFirstFitDecreasing(const ScaleUpInput& input);

}  // namespace spotfit::placement

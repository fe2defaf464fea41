#pragma once
// Spot offerings chosen by interruption risk.
//
// Each spot offering (pool × instance type) has an interruption rate: interruptions per node-hour, learnt
// from the scaler's own history and shrunk toward a configured prior (estimatedRate). The solver then
// plans on expected cost instead of price: a pod running T hours on an offering interrupted at rate r
// loses on average half its progress per interruption, a fraction f of that when it resumes from a
// checkpoint, so its expected cost is price × T + r × T × (price × f × T / 2), an hourly price of
// price × (1 + r × f × T / 2) (riskAdjustedPrice). A plan's pods share one factor: the mean of f × T / 2
// over the pods (pods with an unknown runtime count defaultRuntimeHours).
//
// Blast radius: when more than maxOfferingShare of the pods a plan puts on new spot nodes land on one
// offering (and the plan has at least spreadMinPods of them), the nodes above that share are planned
// again without the offering, so one interruption wave cannot take the whole phase. A re-plan that
// leaves any pod without a node, or whose new nodes cost more than maxSpreadPremium above the nodes it
// replaces (at real prices), is dropped: the cap never strands pods and never buys safety at any price.

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "placement/solver.hpp"

namespace spotfit::placement {

struct RiskPrior {
  double ratePerHour = 0;  // interruptions per node-hour assumed before any history
  double weightHours = 0;  // node-hours of history the prior is worth
};

struct RiskHistory {
  double interruptions = 0;  // (decayed) interruptions observed
  double exposureHours = 0;  // (decayed) node-hours observed
};

// (prior.ratePerHour × prior.weightHours + interruptions) ÷ (prior.weightHours + exposureHours); the
// prior's rate without history; 0 when there is neither. Negative inputs count as 0.
double estimatedRate(const RiskHistory& history, const RiskPrior& prior);

// price × (1 + rate × lostFraction × runtimeHours / 2).
double riskAdjustedPrice(double price, double ratePerHour, double runtimeHours, double lostFraction);

struct SpotRiskInput {
  // Spot interruption rate per (pool, instance type); offerings not listed are taken at rate 0.
  std::map<std::pair<std::string, std::string>, double> spotRates;
  // Per pod of ScaleUpInput::pods (same order), expected runtime in hours; missing or <= 0 entries count
  // defaultRuntimeHours.
  std::vector<double> runtimeHours;
  double defaultRuntimeHours = 1;
  double resumableLostWork = 0.1;  // share of a resumable pod's progress an interruption loses (non-resumable: 1)
  double maxOfferingShare = 1;     // 1: no spreading
  size_t spreadMinPods = 4;        // smaller plans are not spread
  double maxSpreadPremium = 0.1;   // a spread costing more than this share above the nodes it replaces is dropped
};

// The mean over the pods of lostFraction × runtimeHours / 2 (isResumable pods lose resumableLostWork).
double meanWorkAtRiskHours(const ScaleUpInput& input, const SpotRiskInput& risk);

struct RiskPlan {
  ScaleUpPlan plan;         // new nodes carry their real (not risk-adjusted) price
  double riskFactor = 0;    // meanWorkAtRiskHours
  int spreadOfferings = 0;  // offerings whose share was capped
};

// planScaleUp on risk-adjusted spot prices, then the blast-radius cap.
RiskPlan planScaleUpByRisk(const ScaleUpInput& input, const SpotRiskInput& risk, const SolverOptions& options = {});

}  // namespace spotfit::placement

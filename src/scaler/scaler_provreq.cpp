// The Scaler's side of ProvisioningRequests (scaler/provreq.hpp): bookings in the loop's capacity view,
// and all-or-nothing planning and launching. Kept out of scaler.cpp so the loop itself only has hooks.

#include <algorithm>

#include "placement/budget.hpp"
#include "placement/gang.hpp"
#include "scaler/provreq.hpp"
#include "scaler/scaler.hpp"

namespace spotfit::scaler {

namespace {

std::string consumeTarget(const placement::PodInfo& pod) {
  for (const char* key : {kAnnotationConsumeProvReq, kAnnotationConsumeProvReqLegacy}) {
    if (auto it = pod.annotations.find(key); it != pod.annotations.end() && !it->second.empty()) return it->second;
  }
  return "";
}

}  // namespace

void Scaler::applyBookings(std::vector<placement::NodeInfo>& nodes) const {
  if (bookings_.empty()) return;
  for (auto& n : nodes) {
    for (const auto& [key, b] : bookings_) {
      if (auto h = b.held.find(n.name); h != b.held.end()) n.requested += h->second;
    }
  }
}

bool Scaler::booked(const std::string& node) const {
  return std::any_of(bookings_.begin(), bookings_.end(), [&](const auto& kv) { return kv.second.nodes.count(node); });
}

bool Scaler::coveredByBooking(const placement::PodInfo& pod) const {
  if (bookings_.empty()) return false;
  const std::string target = consumeTarget(pod);
  return !target.empty() && bookings_.count(pod.namespace_ + "/" + target);
}

AtomicPlan Scaler::planAtomic(const ClusterSnapshot& snapshot, const std::vector<placement::PodInfo>& pods,
                              bool existingOnly) {
  const TimePoint now = clock_.wallNow();
  AtomicPlan out;
  bool spotOnly = false;
  for (const auto& pod : pods) {
    auto find = [&](const char* key) -> std::optional<std::string_view> {
      auto it = pod.annotations.find(key);
      if (it == pod.annotations.end()) return std::nullopt;
      return it->second;
    };
    auto rule = placement::parseBudgetRule(find(kAnnotationBudget), find(kAnnotationBudgetAction));
    if (!rule.ok() || !*rule) continue;
    const std::string workflow = pod.workflow.empty() ? pod.ownerName : pod.workflow;
    const auto spent = ledger_.recordedSpend({pod.namespace_, workflow}, now);
    const auto verdict = placement::decideBudget(**rule, spent);
    if (verdict == placement::BudgetVerdict::Deny) {
      out.reason = "BudgetExceeded";
      out.message = placement::budgetSummary(workflow, *spent, (*rule)->limitUsd) + " (budget-action deny)";
      return out;
    }
    spotOnly = spotOnly || verdict == placement::BudgetVerdict::SpotOnly;
  }
  const std::vector<placement::NodeInfo> nodes = currentCapacity(snapshot);
  auto firstWhy = [](const PlanResult& p) {
    return p.unplaceable.empty() ? std::string()
                                 : "pod " + p.unplaceable.begin()->first + ": " + p.unplaceable.begin()->second;
  };
  if (existingOnly) {  // nodes that exist now: not those still being launched
    std::vector<placement::NodeInfo> existing;
    for (const auto& n : nodes) {
      if (!n.inFlight) existing.push_back(n);
    }
    PlanResult plan = planner_.plan({pods, existing, {}});
    if (plan.unplaceable.empty() && plan.newNodes.empty()) {
      out.ok = true;
      out.onExisting = std::move(plan.onExisting);
      return out;
    }
    out.reason = "CapacityIsNotFound";
    out.message = std::to_string(std::max(plan.unplaceable.size(), pods.size() - plan.onExisting.size())) + " of " +
                  std::to_string(pods.size()) + " pod(s) do not fit on the existing nodes" +
                  (plan.unplaceable.empty() ? "" : " (" + firstWhy(plan) + ")");
    return out;
  }
  // Every pod or none, one capacity type, spot first then the whole set on-demand: placement::planGang,
  // as for gangs (zonal when a pool asks for gangs in one zone). Pool cost limits are the scaler's.
  const bool zonal =
      std::any_of(pools_.begin(), pools_.end(), [](const auto& ps) { return ps.second.pool.gangSameZone; });
  placement::ScaleUpInput in;
  in.pods = pods;
  in.nodes = nodes;
  in.pools = gangPools(now, zonal);
  placement::GangOptions options;
  if (spotOnly) options.capacityType = CapacityType::Spot;
  placement::GangPlan plan = placement::planGang(in, options);
  std::string over = plan.feasible ? overCostLimit(plan.plan.newNodes, nodes) : "";
  if (!over.empty() && plan.capacityType == CapacityType::Spot && !spotOnly) {
    const std::string spotOver = over;
    options.capacityType = CapacityType::OnDemand;  // the whole set on-demand instead
    plan = placement::planGang(in, options);
    over = plan.feasible ? overCostLimit(plan.plan.newNodes, nodes) : "";
    plan.reason = "spot: " + spotOver + (plan.reason.empty() ? "" : "; " + plan.reason);
  }
  if (plan.feasible && over.empty()) {
    out.ok = true;
    out.capacityType = plan.capacityType.value_or(CapacityType::Spot);
    if (zonal) out.zone = plan.zone;
    for (const auto& a : plan.plan.onExisting) out.onExisting[pods[a.pod].key()] = a.node;
    for (const auto& n : plan.plan.newNodes) {
      PlannedNode pn{n.pool, n.instanceType, n.capacityType, {}};
      for (size_t i : n.pods) pn.podKeys.push_back(pods[i].key());
      out.newNodes.push_back(std::move(pn));
    }
    return out;
  }
  out.reason = "CapacityIsNotFound";
  out.message =
      "not all " + std::to_string(pods.size()) + " pod(s) can be placed at once; " +
      (plan.feasible ? std::string(toString(*plan.capacityType)) + ": " + over + "; " + plan.reason : plan.reason);
  if (spotOnly) out.message += "; on-demand: the budget allows spot only";
  return out;
}

Result<std::vector<std::string>> Scaler::launchAtomic(const AtomicPlan& plan, const std::string& forWhat) {
  const TimePoint now = clock_.wallNow();
  std::vector<std::string> created;
  auto rollback = [&](const std::string& why) -> Error {
    for (const auto& name : created) {
      auto f = inFlight_.find(name);
      if (f == inFlight_.end()) continue;
      auto ps = pools_.find(f->second.pool);
      if (ps != pools_.end()) {
        if (auto* p = providerFor(ps->second.pool)) {
          auto st = timedRemove(*p, ps->second.pool, {name, f->second.pool, ps->second.pool.provider.parameters});
          if (!st) log("provisioning: could not remove " + name + " while rolling back: " + st.error().message);
        }
      }
      inFlight_.erase(f);
    }
    log("provisioning: " + forWhat + ": launch failed, " + std::to_string(created.size()) +
        " node(s) already created removed: " + why);
    return makeError("launch", why);
  };
  for (const auto& pn : plan.newNodes) {
    LaunchResult launched =
        launch({pn.pool, pn.instanceType, pn.capacityType, plan.zone, nullptr, {}, pn.podKeys, {}}, now);
    if (!launched) {
      if (launched.failure.kind == LaunchFailureKind::ProviderError) {
        metrics_.inc(metric::kScaleUpFailures,
                     {{"pool", pn.pool}, {"reason", toString(launched.failure.providerKind)}});
      }
      return rollback(launched.failure.message);
    }
    InFlightNode& f = *launched.node;
    if (pools_.at(pn.pool).pool.instanceType(pn.instanceType)->gpus > 0) f.extendedRequested.insert(kResourceGpu);
    created.push_back(f.name);
    inFlight_[f.name] = std::move(f);
    pools_.at(pn.pool).lastScaleUp = now;
    metrics_.inc(metric::kScaleUps, {{"pool", pn.pool}, {"capacity_type", std::string(toString(pn.capacityType))}});
    log("provisioning: " + forWhat + ": created " + launched.requestedName + " (" + launched.offering + ") for " +
        std::to_string(pn.podKeys.size()) + " pod(s)");
  }
  return created;
}

}  // namespace spotfit::scaler

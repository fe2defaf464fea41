// The Scaler's side of ProvisioningRequests (scaler/provreq.hpp): bookings in the loop's capacity view,
// and all-or-nothing planning and launching. Kept out of scaler.cpp so the loop itself only has hooks.

#include <algorithm>

#include "placement/budget.hpp"
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
  std::vector<std::string> why;
  for (CapacityType ct : {CapacityType::Spot, CapacityType::OnDemand}) {
    if (ct == CapacityType::OnDemand && spotOnly) {
      why.push_back("on-demand: the budget allows spot only");
      break;
    }
    std::vector<PlannerPool> pools = plannerPools(now);
    for (auto& pp : pools) std::erase_if(pp.available, [&](const Offering& o) { return o.capacityType != ct; });
    PlanResult plan = planner_.plan({pods, nodes, pools});
    const std::string label(toString(ct));
    if (!plan.unplaceable.empty()) {
      why.push_back(label + ": " + std::to_string(plan.unplaceable.size()) + " pod(s) fit no node (" + firstWhy(plan) +
                    ")");
      continue;
    }
    // The pools' cost ceilings, which the solver does not know: existing nodes plus the new ones.
    std::string over;
    std::map<std::string, double> added;
    for (const auto& pn : plan.newNodes) {
      auto ps = pools_.find(pn.pool);
      const InstanceType* t = ps == pools_.end() ? nullptr : ps->second.pool.instanceType(pn.instanceType);
      if (t) added[pn.pool] += t->price(pn.capacityType);
    }
    for (const auto& [poolName, extra] : added) {
      const NodePool& pool = pools_.at(poolName).pool;
      if (pool.limits.costPerHour <= 0) continue;
      double cost = 0;
      for (const auto& n : nodes) {
        if (n.pool != poolName) continue;
        const InstanceType* t = pool.instanceType(n.instanceType);
        cost += n.hourlyPrice > 0 ? n.hourlyPrice : (t ? t->price(n.capacityType) : 0);
      }
      if (cost + extra > pool.limits.costPerHour + 1e-9) {
        over = "pool " + poolName + " would exceed its cost limit of " + std::to_string(pool.limits.costPerHour) +
               " USD/h";
      }
    }
    if (!over.empty()) {
      why.push_back(label + ": " + over);
      continue;
    }
    out.ok = true;
    out.capacityType = ct;
    out.newNodes = std::move(plan.newNodes);
    out.onExisting = std::move(plan.onExisting);
    return out;
  }
  out.reason = "CapacityIsNotFound";
  out.message = "not all " + std::to_string(pods.size()) + " pod(s) can be placed at once";
  for (const auto& w : why) out.message += "; " + w;
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
        launch({pn.pool, pn.instanceType, pn.capacityType, std::nullopt, nullptr, {}, pn.podKeys, {}}, now);
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

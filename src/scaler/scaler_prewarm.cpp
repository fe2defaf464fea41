// Scaler::prewarm and Scaler::chargePrewarm: pre-warmed capacity for CronJobs (scaler/prewarm.hpp,
// docs/scaler.md "Pre-warmed capacity"). Kept out of scaler.cpp; reconcile() calls prewarm() right after
// scale-up (real pending pods are served first) and updateLedger() calls chargePrewarm().

#include <algorithm>

#include "base/time.hpp"
#include "scaler/scaler.hpp"

namespace spotfit::scaler {

namespace {

std::string ledgerUid(const std::string& node) {
  return "prewarm/" + node;
}

}  // namespace

int Scaler::prewarm(const ClusterSnapshot& snap, const std::map<std::string, const ClusterNode*>& liveNodes,
                    const std::map<std::string, std::vector<const ClusterPod*>>& podsByNode,
                    std::vector<placement::NodeInfo> capacity, TimePoint now, std::optional<TimePoint>& wake) {
  // 1. Nodes already pre-warmed: used (a pod landed), gone, or expired unused.
  std::vector<PrewarmedNode> held;
  for (const auto& [name, n] : prewarm_.nodes()) held.push_back(n);
  for (const auto& n : held) {
    auto node = liveNodes.find(n.node);
    const bool booting = inFlight_.count(n.node) > 0;
    bool used = false;
    if (auto pods = podsByNode.find(n.node); pods != podsByNode.end()) {
      used = std::any_of(pods->second.begin(), pods->second.end(),
                         [](const ClusterPod* p) { return !isNodeBound(p->info) && !p->deleting; });
    }
    if (used) {
      metrics_.inc(metric::kPrewarmNodes, {{"pool", n.pool}, {"result", "used"}});
      log("prewarm: node " + n.node + " (CronJob " + n.cronJob.namespaceName + "/" + n.cronJob.workflow +
          ") got its first pod");
      ledger_.podStopped(ledgerUid(n.node), now);
      prewarm_.release(n.node);
      continue;
    }
    if (node == liveNodes.end() && !booting) {  // gone (deleted, or its launch failed)
      ledger_.podStopped(ledgerUid(n.node), now);
      prewarm_.release(n.node);
      continue;
    }
    if (now < n.expires) {
      if (!wake || n.expires < *wake) wake = n.expires;
      continue;
    }
    metrics_.inc(metric::kPrewarmNodes, {{"pool", n.pool}, {"result", "expired"}});
    log("prewarm: node " + n.node + " (CronJob " + n.cronJob.namespaceName + "/" + n.cronJob.workflow + ") unused " +
        formatDuration(std::chrono::duration_cast<Duration>(now - n.fire)) + " after the fire time");
    ledger_.podStopped(ledgerUid(n.node), now);
    prewarm_.release(n.node);
    if (node != liveNodes.end() && node->second->ready && !node->second->deleting && !drains_.count(n.node)) {
      const PoolState* ps = validPool(n.pool);
      startDrain(*node->second, DrainReason::Empty, now,
                 ps ? ps->pool.disruption.drainTimeout : std::chrono::minutes(10));
    }
  }

  // 2. Runs whose lead has started: plan their pods onto what exists (pre-warmed nodes included) and
  // create what is missing, each node no earlier than its own pool/type's lead before the fire time.
  Duration maxLead = prewarm_.config().defaultLead;
  for (const auto& [name, ps] : pools_) {
    if (!ps.valid) continue;
    for (const auto& t : ps.pool.instanceTypes) maxLead = std::max(maxLead, prewarm_.lead(name, t.name, std::nullopt));
  }
  std::vector<std::pair<const CronJobInfo*, std::string>> warnings;
  auto dues = prewarm_.due(snap.cronJobs, now, maxLead, warnings);
  for (const auto& [cj, msg] : warnings) {
    log("prewarm: CronJob " + cj->key() + ": " + msg);
    emit({"CronJob", cj->namespace_, cj->name, cj->uid}, "Warning", "PrewarmSkipped", msg);
  }
  int created = 0;
  for (const auto& due : dues) {
    PlanRequest req{due.pods, capacity, plannerPools(now)};
    PlanResult plan = planner_.plan(req);
    for (const auto& pn : plan.newNodes) {
      const Duration lead = prewarm_.lead(pn.pool, pn.instanceType, due.fixedLead);
      if (now < due.fire - lead) {
        if (validPool(pn.pool) && (!wake || due.fire - lead < *wake)) wake = due.fire - lead;
        continue;
      }
      LaunchSpec spec{pn.pool, pn.instanceType, pn.capacityType, std::nullopt, &capacity, {}, {}, {}};
      for (const auto& p : due.pods) spec.pods.push_back(&p);
      LaunchResult launched = launch(spec, now);
      if (!launched) {
        if (launched.failure.kind == LaunchFailureKind::ProviderError) {
          // Pre-warm is best effort: the run's own pods get the normal scale-up and its fallbacks.
          log("prewarm: create " + pn.pool + "/" + pn.instanceType + " for CronJob " + due.cronJob->key() +
              " failed: " + launched.failure.providerMessage);
          metrics_.inc(metric::kScaleUpFailures, {{"pool", pn.pool}, {"reason", "prewarm"}});
        }
        continue;
      }
      InFlightNode& f = *launched.node;
      PoolState& ps = pools_.at(pn.pool);
      capacity.push_back(f.model);
      PrewarmedNode pw;
      pw.node = f.name;
      pw.pool = pn.pool;
      pw.instanceType = pn.instanceType;
      pw.capacityType = pn.capacityType;
      pw.cronJob = {due.cronJob->namespace_, due.cronJob->name};
      pw.fire = due.fire;
      Duration grace = prewarm_.config().grace;
      if (due.cronJob->startingDeadlineSeconds) {
        grace = std::min<Duration>(grace, std::chrono::seconds(*due.cronJob->startingDeadlineSeconds));
      }
      pw.expires = due.fire + grace;
      pw.created = now;
      prewarm_.add(pw);
      inFlight_[f.name] = std::move(f);
      ps.lastScaleUp = now;
      ++created;
      metrics_.inc(metric::kPrewarmNodes, {{"pool", pn.pool}, {"result", "launched"}});
      const std::string msg = "pre-warming " + pw.node + " (" + pn.pool + "/" + pn.instanceType + "/" +
                              std::string(toString(pn.capacityType)) + ") " + formatDuration(lead) +
                              " ahead of the run at " + base::formatTime(due.fire);
      log("prewarm: CronJob " + due.cronJob->key() + ": " + msg);
      emit({"CronJob", due.cronJob->namespace_, due.cronJob->name, due.cronJob->uid}, "Normal", "Prewarm", msg);
    }
  }
  return created;
}

void Scaler::chargePrewarm(TimePoint now, std::set<std::string>& live) {
  for (const auto& [name, n] : prewarm_.nodes()) {
    const PoolState* ps = validPool(n.pool);
    const InstanceType* type = ps ? ps->pool.instanceType(n.instanceType) : nullptr;
    const double price = type ? type->price(n.capacityType) : 0;
    if (price <= 0) continue;
    const double onDemand = type->onDemandPrice;
    const std::string uid = ledgerUid(name);
    ledger_.podRunning(uid, {n.cronJob.namespaceName, n.cronJob.workflow + std::string(kPrewarmLedgerSuffix)}, price,
                       onDemand, n.created, now);
    live.insert(uid);
  }
}

}  // namespace spotfit::scaler

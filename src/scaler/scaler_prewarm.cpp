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
      auto psIt = pools_.find(pn.pool);
      if (psIt == pools_.end() || !psIt->second.valid) continue;
      PoolState& ps = psIt->second;
      const InstanceType* type = ps.pool.instanceType(pn.instanceType);
      NodeProvider* provider = providerFor(ps.pool);
      if (!type || !provider) continue;
      const Duration lead = prewarm_.lead(pn.pool, pn.instanceType, due.fixedLead);
      if (now < due.fire - lead) {
        if (!wake || due.fire - lead < *wake) wake = due.fire - lead;
        continue;
      }
      std::string zone;
      bool zoneFound = false;
      for (const auto& z : ps.pool.zones.empty() ? std::vector<std::string>{""} : ps.pool.zones) {
        if (!unavailable_.unavailable({pn.pool, pn.instanceType, pn.capacityType, z}, now)) {
          zone = z;
          zoneFound = true;
          break;
        }
      }
      if (!zoneFound) continue;
      const double price = type->price(pn.capacityType);
      if (ps.pool.limits.costPerHour > 0) {
        double poolCost = 0;
        for (const auto& n : capacity) {
          if (n.pool != pn.pool) continue;
          const InstanceType* t = ps.pool.instanceType(n.instanceType);
          poolCost += n.hourlyPrice > 0 ? n.hourlyPrice : (t ? t->price(n.capacityType) : 0);
        }
        if (poolCost + price > ps.pool.limits.costPerHour + 1e-9) continue;
      }
      const std::string name = newNodeName(pn.pool, now);
      NodeTemplate tmpl = nodeTemplate(ps.pool, *type, pn.capacityType, zone, name);
      auto r = timedCreate(*provider, ps.pool, tmpl.request);
      if (!r) {
        // Pre-warm is best effort: the run's own pods get the normal scale-up and its fallbacks.
        log("prewarm: create " + pn.pool + "/" + pn.instanceType + " for CronJob " + due.cronJob->key() +
            " failed: " + r.error().message);
        metrics_.inc(metric::kScaleUpFailures, {{"pool", pn.pool}, {"reason", "prewarm"}});
        continue;
      }
      InFlightNode f;
      f.name = r->nodeName.empty() ? name : r->nodeName;
      f.providerNamed = r->nodeName.empty();
      f.pool = pn.pool;
      f.instanceType = pn.instanceType;
      f.zone = zone;
      f.capacityType = pn.capacityType;
      f.createdAt = now;
      f.model = std::move(tmpl.model);
      f.model.name = f.name;
      for (const auto& p : due.pods) {
        for (const auto& [res, amount] : placement::podRequests(p).extended) {
          if (amount > 0) f.extendedRequested.insert(res);
        }
      }
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

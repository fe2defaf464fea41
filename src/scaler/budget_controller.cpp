#include "scaler/budget_controller.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <set>

#include "base/time.hpp"
#include "kube/json.hpp"

namespace spotfit::scaler {
namespace {

double cents(double usd) {
  return std::round(usd * 100) / 100;
}

std::string money(double usd) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "$%.2f", usd);
  return buf;
}

std::string number(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  std::string s = buf;
  while (!s.empty() && s.back() == '0') s.pop_back();
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

}  // namespace

std::map<TimePoint, double> scopeDailySpend(const CostLedger& ledger, const placement::SpendScope& scope) {
  using Kind = placement::SpendScope::Kind;
  std::map<TimePoint, double> out;
  for (const auto& [day, d] : ledger.days()) {
    double sum = 0;
    switch (scope.kind) {
      case Kind::Namespaces:
        if (scope.namespaces.empty()) {
          for (const auto& [ns, usd] : d.namespaces) sum += usd;
        } else {
          bool other = false;
          for (const auto& ns : scope.namespaces) {
            if (auto it = d.namespaces.find(ns); it != d.namespaces.end()) {
              sum += it->second;
            } else {
              other = true;
            }
          }
          if (other) {
            if (auto it = d.namespaces.find(kLedgerOther); it != d.namespaces.end()) sum += it->second;
          }
        }
        break;
      case Kind::Owner: {
        const std::string& ns = scope.namespaces.empty() ? std::string() : scope.namespaces.front();
        if (auto it = d.owners.find({ns, scope.owner}); it != d.owners.end()) {
          sum += it->second;
        } else {
          // Folded: the namespace's "(other)" owner row, or the "(other)" namespace's.
          for (const auto& key : {std::pair<std::string, std::string>{ns, kLedgerOther},
                                  std::pair<std::string, std::string>{kLedgerOther, scope.owner},
                                  std::pair<std::string, std::string>{kLedgerOther, kLedgerOther}}) {
            if (auto o = d.owners.find(key); o != d.owners.end()) sum += o->second;
          }
        }
        break;
      }
      case Kind::Label: {
        bool other = false;
        for (const auto& v : scope.labelValues) {
          if (auto it = d.labels.find(v); it != d.labels.end()) {
            sum += it->second;
          } else {
            other = true;
          }
        }
        if (other) {
          if (auto it = d.labels.find(kLedgerOther); it != d.labels.end()) sum += it->second;
        }
        break;
      }
    }
    if (sum != 0) out[day] = sum;
  }
  return out;
}

std::vector<double> thresholdsWithLimit(const placement::BudgetPolicy& p) {
  std::vector<double> t = p.thresholds;
  if (t.empty() || t.back() < 1) t.push_back(1);
  return t;
}

BudgetPolicyFigures policyFigures(const CostLedger& ledger, const placement::BudgetPolicy& p, TimePoint now) {
  BudgetPolicyFigures f;
  f.window = placement::windowAt(p.window, p.timeZone, now);
  f.spentUsd = placement::spendInWindow(scopeDailySpend(ledger, placement::spendScopeOf(p)), f.window);
  f.remainingUsd = std::max(0.0, p.limitUsd - f.spentUsd);
  for (double t : thresholdsWithLimit(p)) {
    if (f.spentUsd >= t * p.limitUsd) ++f.thresholdsReached;
  }
  return f;
}

BudgetPolicyController::Output BudgetPolicyController::tick(const std::vector<const kube::BudgetPolicyObject*>& objects,
                                                            const CostLedger& ledger, TimePoint now) {
  Output out;
  std::set<std::string> present;
  for (const kube::BudgetPolicyObject* o : objects) {
    const std::string key = o->meta.key();
    present.insert(key);
    Seen& s = seen_[key];
    if (!s.seeded) {
      s.seeded = true;
      if (o->status.windowStart) s.announcedWindow = *o->status.windowStart;
      s.announced = static_cast<size_t>(o->status.thresholdsReached);
      if (o->status.valid && o->status.validSince) {
        s.valid = o->status.valid;
        s.validSince = *o->status.validSince;
      }
    }
    const bool valid = o->valid();
    s.namespaceName = o->meta.namespace_;
    s.name = o->meta.name;
    s.figures.reset();
    if (!s.valid || *s.valid != valid) {
      s.valid = valid;
      s.validSince = now;
      if (!valid) {
        out.events.push_back(
            {o, true, "InvalidBudgetPolicy", "BudgetPolicy " + key + " is not enforced: " + o->invalid});
      }
    }
    std::string body = "{\"status\":{\"observedGeneration\":" + std::to_string(o->meta.generation);
    if (valid) {
      const auto f = policyFigures(ledger, o->policy, now);
      const std::vector<double> ts = thresholdsWithLimit(o->policy);
      for (size_t i : placement::thresholdsToAnnounce(s.announced, s.announcedWindow, f.thresholdsReached, f.window)) {
        const bool limit = ts[i] >= 1;
        std::string msg = "BudgetPolicy " + key + ": spend " + money(f.spentUsd) + " reached " +
                          (limit ? "the limit" : number(ts[i] * 100) + "%") + " of its " + money(o->policy.limitUsd) +
                          " " + std::string(placement::windowKindName(o->policy.window)) + " budget (window ends " +
                          base::formatTime(f.window.end) + ")";
        if (limit && o->policy.action != placement::PolicyAction::Alert) {
          msg += "; action " + std::string(placement::policyActionName(o->policy.action));
        }
        out.events.push_back({o, limit, limit ? "BudgetExceeded" : "BudgetThresholdReached", std::move(msg)});
      }
      s.announced = f.thresholdsReached;
      s.figures = std::make_pair(f.spentUsd, o->policy.limitUsd);
      s.announcedWindow = f.window.start;
      body += ",\"spentUSD\":" + number(cents(f.spentUsd)) + ",\"remainingUSD\":" + number(cents(f.remainingUsd)) +
              ",\"windowStart\":\"" + base::formatTime(f.window.start) + "\",\"windowEnd\":\"" +
              base::formatTime(f.window.end) + "\",\"thresholdsReached\":" + std::to_string(f.thresholdsReached);
    } else {
      body += ",\"spentUSD\":null,\"remainingUSD\":null,\"windowStart\":null,\"windowEnd\":null";
    }
    body += ",\"conditions\":[{\"type\":\"Valid\",\"status\":\"" + std::string(valid ? "True" : "False") +
            "\",\"reason\":\"" + (valid ? "Valid" : "InvalidSpec") +
            "\",\"message\":" + kube::json::quoted(valid ? "" : o->invalid.substr(0, 1000)) +
            ",\"observedGeneration\":" + std::to_string(o->meta.generation) + ",\"lastTransitionTime\":\"" +
            base::formatTime(s.validSince) + "\"}]}}";
    if (body != s.lastBody) {
      s.lastBody = body;
      out.patches.push_back({o->meta.namespace_, o->meta.name, std::move(body)});
    }
  }
  for (auto it = seen_.begin(); it != seen_.end();) {
    it = present.count(it->first) ? std::next(it) : seen_.erase(it);
  }
  return out;
}

void BudgetPolicyController::publish(ScalerMetrics& m) const {
  for (const auto& [key, s] : seen_) {
    if (!s.figures) continue;
    const MetricLabels labels{{"namespace", s.namespaceName}, {"policy", s.name}};
    m.set(metric::kBudgetPolicySpent, labels, s.figures->first);
    m.set(metric::kBudgetPolicyLimit, labels, s.figures->second);
  }
}

void BudgetPolicyController::patchFailed(const std::string& key) {
  if (auto it = seen_.find(key); it != seen_.end()) it->second.lastBody.clear();
}

}  // namespace spotfit::scaler

#include "placement/budget_policy.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "base/vocabulary.hpp"

namespace spotfit::placement {
namespace {

using namespace std::chrono;

using LocalDays = time_point<local_t, days>;

base::WallTime startOf(const base::TimeZone& tz, LocalDays d) {
  return tz.toUtc(base::LocalSeconds(duration_cast<seconds>(d.time_since_epoch())));
}

LocalDays firstDay(WindowKind kind, LocalDays d) {
  switch (kind) {
    case WindowKind::Week: {
      const weekday wd{sys_days{d.time_since_epoch()}};
      return d - days{(wd.c_encoding() + 6) % 7};  // back to Monday
    }
    case WindowKind::Month: {
      const year_month_day ymd{sys_days{d.time_since_epoch()}};
      return LocalDays{sys_days{ymd.year() / ymd.month() / 1}.time_since_epoch()};
    }
    case WindowKind::Day:
    case WindowKind::Lifetime:
      break;
  }
  return d;
}

LocalDays nextFirstDay(WindowKind kind, LocalDays first) {
  switch (kind) {
    case WindowKind::Week:
      return first + days{7};
    case WindowKind::Month: {
      const year_month_day ymd{sys_days{first.time_since_epoch()}};
      return LocalDays{sys_days{(ymd.year() / ymd.month() / 1) + months{1}}.time_since_epoch()};
    }
    case WindowKind::Day:
    case WindowKind::Lifetime:
      break;
  }
  return first + days{1};
}

bool validLabelKey(std::string_view k) {
  if (k.empty() || k.size() > 316) return false;
  for (char c : k) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == '/';
    if (!ok) return false;
  }
  return true;
}

bool validLabelValue(std::string_view v) {
  if (v.size() > 63) return false;
  for (char c : v) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

bool validDnsName(std::string_view n) {
  if (n.empty() || n.size() > 253) return false;
  for (char c : n) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return true;
}

Error fieldError(const std::string& field, const std::string& what) {
  return makeError("invalid", field + ": " + what);
}

std::string usd(double v) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "$%.2f", v);
  return buf;
}

}  // namespace

std::string_view policyActionName(PolicyAction a) {
  switch (a) {
    case PolicyAction::SpotOnly:
      return "spot-only";
    case PolicyAction::Suspend:
      return "suspend";
    case PolicyAction::Deny:
      return "deny";
    case PolicyAction::Alert:
      break;
  }
  return "alert";
}

std::optional<PolicyAction> parsePolicyAction(std::string_view s) {
  if (s == "alert") return PolicyAction::Alert;
  if (s == "spot-only") return PolicyAction::SpotOnly;
  if (s == "suspend") return PolicyAction::Suspend;
  if (s == "deny") return PolicyAction::Deny;
  return std::nullopt;
}

std::string_view windowKindName(WindowKind k) {
  switch (k) {
    case WindowKind::Day:
      return "day";
    case WindowKind::Week:
      return "week";
    case WindowKind::Lifetime:
      return "lifetime";
    case WindowKind::Month:
      break;
  }
  return "month";
}

std::optional<WindowKind> parseWindowKind(std::string_view s) {
  if (s == "day") return WindowKind::Day;
  if (s == "week") return WindowKind::Week;
  if (s == "month") return WindowKind::Month;
  return std::nullopt;
}

std::string_view effectName(Effect e) {
  switch (e) {
    case Effect::Alert:
      return "alert";
    case Effect::SpotOnly:
      return "spot-only";
    case Effect::Suspend:
      return "suspend";
    case Effect::Deny:
      return "deny";
    case Effect::None:
      break;
  }
  return "within";
}

WindowSpan windowAt(WindowKind kind, const base::TimeZone& tz, base::WallTime now) {
  if (kind == WindowKind::Lifetime) return {base::WallTime{}, base::WallTime::max()};
  const LocalDays today = floor<days>(local_days{} + tz.toLocal(now).time_since_epoch());
  LocalDays first = firstDay(kind, today);
  WindowSpan w{startOf(tz, first), startOf(tz, nextFirstDay(kind, first))};
  // A midnight that shows twice can put `now` (by its wall clock still in this window) after the first
  // showing of the next window's midnight; the window is then the next one. Bounded: twice at most.
  for (int i = 0; i < 2 && w.end <= now; ++i) {
    first = nextFirstDay(kind, first);
    w = {w.end, startOf(tz, nextFirstDay(kind, first))};
  }
  return w;
}

std::vector<base::WallTime> utcDaysOf(const WindowSpan& w) {
  std::vector<base::WallTime> out;
  if (w.end <= w.start) return out;
  auto d = floor<days>(w.start);
  // Lifetime windows are not read through days; cap the list at a year and a bit all the same.
  for (int i = 0; i < 400 && base::WallTime(d) < w.end; ++i, d += days{1}) out.emplace_back(d);
  return out;
}

bool windowIsExactInUtcDays(const WindowSpan& w) {
  return floor<days>(w.start) == w.start && floor<days>(w.end) == w.end;
}

double spendInWindow(const std::map<base::WallTime, double>& dailyUsd, const WindowSpan& w) {
  double sum = 0;
  const base::WallTime from = floor<days>(w.start);
  for (auto it = dailyUsd.lower_bound(from); it != dailyUsd.end() && it->first < w.end; ++it) sum += it->second;
  return sum;
}

Status validatePolicy(const BudgetPolicy& p, std::string_view ledgerLabelKey) {
  if (!(p.limitUsd >= 0) || p.limitUsd > kMaxBudgetUsd) {
    return fieldError("spec.limitUSD", "must be between 0 and 1e12");
  }
  if (p.thresholds.size() > kMaxPolicyThresholds) {
    return fieldError("spec.thresholds", "at most " + std::to_string(kMaxPolicyThresholds) + " thresholds");
  }
  for (size_t i = 0; i < p.thresholds.size(); ++i) {
    const double t = p.thresholds[i];
    const std::string f = "spec.thresholds[" + std::to_string(i) + "]";
    if (!(t > 0 && t <= 1)) return fieldError(f, "must be a fraction of the limit in (0, 1]");
    if (i > 0 && !(t > p.thresholds[i - 1])) return fieldError(f, "thresholds must be ascending and distinct");
  }
  const auto& sel = p.selector;
  if (!p.teamWide && !sel.namespaces.empty()) {
    return fieldError("spec.selector.namespaces",
                      "a BudgetPolicy covers its own namespace only; only one in spotfit's namespace (a team policy) "
                      "names namespaces");
  }
  if (sel.namespaces.size() > kMaxPolicyNamespaces) {
    return fieldError("spec.selector.namespaces", "at most " + std::to_string(kMaxPolicyNamespaces) + " namespaces");
  }
  for (size_t i = 0; i < sel.namespaces.size(); ++i) {
    if (!validDnsName(sel.namespaces[i]) || sel.namespaces[i].size() > 63) {
      return fieldError("spec.selector.namespaces[" + std::to_string(i) + "]", "not a namespace name");
    }
  }
  if (sel.labels.size() > kMaxPolicyLabelRequirements) {
    return fieldError("spec.selector.labels",
                      "at most " + std::to_string(kMaxPolicyLabelRequirements) + " label requirements");
  }
  for (size_t i = 0; i < sel.labels.size(); ++i) {
    const auto& r = sel.labels[i];
    const std::string f = "spec.selector.labels[" + std::to_string(i) + "]";
    if (!validLabelKey(r.key)) return fieldError(f + ".key", "not a label key");
    const bool needsValues = r.op == LabelRequirement::Op::In || r.op == LabelRequirement::Op::NotIn;
    if (needsValues == r.values.empty()) {
      return fieldError(f + ".values", needsValues ? "In and NotIn need values" : "Exists and DoesNotExist take none");
    }
    if (r.values.size() > kMaxPolicyLabelValues) {
      return fieldError(f + ".values", "at most " + std::to_string(kMaxPolicyLabelValues) + " values");
    }
    for (const auto& v : r.values) {
      if (!validLabelValue(v)) return fieldError(f + ".values", "not a label value");
    }
  }
  const bool byOwner = !sel.workflow.empty() || !sel.cronJob.empty();
  if (!sel.workflow.empty() && !sel.cronJob.empty()) {
    return fieldError("spec.selector", "workflow and cronJob are exclusive");
  }
  if (!sel.workflow.empty() && !validDnsName(sel.workflow)) {
    return fieldError("spec.selector.workflow", "not a workflow name");
  }
  if (!sel.cronJob.empty() && !validDnsName(sel.cronJob)) {
    return fieldError("spec.selector.cronJob", "not a CronJob name");
  }
  if (byOwner && p.teamWide && sel.namespaces.size() != 1) {
    return fieldError("spec.selector.namespaces",
                      "a workflow or cronJob selector on a team policy names exactly one namespace");
  }
  if (!byOwner && !sel.labels.empty()) {
    // Spend by label is only known for the ledger's label key, and only cluster-wide.
    const auto& r = sel.labels.front();
    if (sel.labels.size() != 1 || r.op != LabelRequirement::Op::In || ledgerLabelKey.empty() ||
        r.key != ledgerLabelKey) {
      return fieldError("spec.selector.labels", "the ledger sums spend by one pod label (scaler.ledgerLabel=\"" +
                                                    std::string(ledgerLabelKey) +
                                                    "\"): a label selector must be one In requirement on that key");
    }
    if (!p.teamWide || !sel.namespaces.empty()) {
      return fieldError("spec.selector.labels",
                        "spend by label is cluster-wide: only a team policy without namespaces selects by label");
    }
  }
  return {};
}

bool labelsMatch(const std::vector<LabelRequirement>& reqs, const std::map<std::string, std::string>& labels) {
  for (const auto& r : reqs) {
    auto it = labels.find(r.key);
    const bool has = it != labels.end();
    const bool in = has && std::find(r.values.begin(), r.values.end(), it->second) != r.values.end();
    switch (r.op) {
      case LabelRequirement::Op::In:
        if (!in) return false;
        break;
      case LabelRequirement::Op::NotIn:
        if (in) return false;
        break;
      case LabelRequirement::Op::Exists:
        if (!has) return false;
        break;
      case LabelRequirement::Op::DoesNotExist:
        if (has) return false;
        break;
    }
  }
  return true;
}

bool policyCovers(const BudgetPolicy& p, const BudgetSubject& s) {
  if (!p.teamWide) {
    if (s.namespaceName != p.namespaceName) return false;
  } else if (!p.selector.namespaces.empty() && std::find(p.selector.namespaces.begin(), p.selector.namespaces.end(),
                                                         s.namespaceName) == p.selector.namespaces.end()) {
    return false;
  }
  if (!p.selector.workflow.empty() && s.workflow != p.selector.workflow) return false;
  if (!p.selector.cronJob.empty() && s.cronJob != p.selector.cronJob) return false;
  return labelsMatch(p.selector.labels, s.labels);
}

SpendScope spendScopeOf(const BudgetPolicy& p) {
  SpendScope sc;
  const auto& sel = p.selector;
  if (!sel.workflow.empty() || !sel.cronJob.empty()) {
    sc.kind = SpendScope::Kind::Owner;
    sc.namespaces = {p.teamWide && !sel.namespaces.empty() ? sel.namespaces.front() : p.namespaceName};
    sc.owner = sel.workflow.empty() ? sel.cronJob : sel.workflow;
    return sc;
  }
  if (!sel.labels.empty()) {
    sc.kind = SpendScope::Kind::Label;
    sc.labelValues = sel.labels.front().values;
    return sc;
  }
  sc.namespaces = p.teamWide ? sel.namespaces : std::vector<std::string>{p.namespaceName};
  return sc;
}

size_t thresholdsReached(const BudgetPolicy& p, double spentUsd) {
  size_t n = 0;
  for (double t : p.thresholds) {
    if (spentUsd >= t * p.limitUsd) ++n;
  }
  return n;
}

PolicyDecision decidePolicy(const BudgetPolicy& p, std::optional<double> spentUsd, EnforcementPoint at,
                            base::WallTime now) {
  PolicyDecision d;
  d.policy = p.namespaceName + "/" + p.name;
  d.limitUsd = p.limitUsd;
  if (!spentUsd) return d;
  d.spentUsd = *spentUsd;
  if (!overBudget(*spentUsd, p.limitUsd)) return d;
  switch (p.action) {
    case PolicyAction::Alert:
      d.effect = Effect::Alert;
      break;
    case PolicyAction::SpotOnly:
      d.effect = Effect::SpotOnly;
      break;
    case PolicyAction::Suspend:
      d.effect = at == EnforcementPoint::JobAdmission ? Effect::Suspend : Effect::SpotOnly;
      break;
    case PolicyAction::Deny:
      d.effect = at == EnforcementPoint::JobAdmission || at == EnforcementPoint::PodAdmission ? Effect::Deny
                                                                                              : Effect::SpotOnly;
      break;
  }
  std::string what;
  if (!p.selector.workflow.empty()) {
    what = "workflow " + p.selector.workflow;
  } else if (!p.selector.cronJob.empty()) {
    what = "CronJob " + p.selector.cronJob;
  } else if (!p.selector.labels.empty()) {
    what = "label " + p.selector.labels.front().key;
  } else if (!p.teamWide) {
    what = "namespace " + p.namespaceName;
  } else {
    what = p.selector.namespaces.empty() ? "the cluster" : "the selected namespaces";
  }
  if (p.window == WindowKind::Lifetime) {
    d.message = budgetSummary(p.selector.workflow, *spentUsd, p.limitUsd);
  } else {
    const WindowSpan w = windowAt(p.window, p.timeZone, now);
    d.message = "BudgetPolicy " + d.policy + ": " + what + " has spent " + usd(*spentUsd) + " of its " +
                usd(p.limitUsd) + " " + std::string(windowKindName(p.window)) + " budget (window ends " +
                base::formatTime(w.end) + ")";
  }
  return d;
}

BudgetPolicy fromWorkflowBudget(std::string_view ns, std::string_view workflow, const BudgetRule& rule) {
  BudgetPolicy p;
  p.namespaceName = std::string(ns);
  p.name = vocab::kAnnotationBudget;
  p.selector.workflow = std::string(workflow);
  p.window = WindowKind::Lifetime;
  p.limitUsd = rule.limitUsd;
  switch (rule.action) {
    case BudgetAction::SpotOnly:
      p.action = PolicyAction::SpotOnly;
      break;
    case BudgetAction::Deny:
      p.action = PolicyAction::Deny;
      break;
    case BudgetAction::Alert:
      p.action = PolicyAction::Alert;
      break;
  }
  return p;
}

std::vector<size_t> thresholdsToAnnounce(size_t announced, base::WallTime announcedWindow, size_t reached,
                                         const WindowSpan& current) {
  if (announcedWindow != current.start) announced = 0;
  std::vector<size_t> out;
  for (size_t i = announced; i < reached; ++i) out.push_back(i);
  return out;
}

bool shouldResume(base::WallTime suspendedWindowEnd, std::optional<Effect> nowAtJobAdmission, base::WallTime now) {
  if (now >= suspendedWindowEnd) return true;
  return !nowAtJobAdmission || *nowAtJobAdmission != Effect::Suspend;
}

}  // namespace spotfit::placement

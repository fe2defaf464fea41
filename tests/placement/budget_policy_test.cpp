// BudgetPolicy (placement/budget_policy.hpp): window arithmetic across month ends and time zones with an
// injected instant, the UTC-day spend mapping, rule decisions at each enforcement point, hostile policies.
#include "placement/budget_policy.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <string>

namespace spotfit::placement {
namespace {

using namespace std::chrono_literals;
using base::WallTime;

WallTime at(const char* rfc3339) {
  auto t = base::parseTime(rfc3339);
  EXPECT_TRUE(t.ok()) << rfc3339;
  return t.valueOr(WallTime{});
}

base::TimeZone zone(const char* name) {
  auto z = base::TimeZone::load(name);
  EXPECT_TRUE(z.ok()) << name;
  return z.ok() ? *z : base::TimeZone::utc();
}

WindowSpan span(const char* a, const char* b) {
  return {at(a), at(b)};
}

TEST(BudgetWindow, UtcCalendarWindowsAcrossMonthAndYearEnds) {
  const auto utc = base::TimeZone::utc();
  EXPECT_EQ(windowAt(WindowKind::Day, utc, at("2024-01-31T23:59:59Z")),
            span("2024-01-31T00:00:00Z", "2024-02-01T00:00:00Z"));
  EXPECT_EQ(windowAt(WindowKind::Month, utc, at("2024-01-31T23:59:59Z")),
            span("2024-01-01T00:00:00Z", "2024-02-01T00:00:00Z"));
  EXPECT_EQ(windowAt(WindowKind::Month, utc, at("2024-02-01T00:00:00Z")),
            span("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"));  // leap February
  EXPECT_EQ(windowAt(WindowKind::Month, utc, at("2023-02-28T12:00:00Z")),
            span("2023-02-01T00:00:00Z", "2023-03-01T00:00:00Z"));
  EXPECT_EQ(windowAt(WindowKind::Month, utc, at("2024-12-31T23:00:00Z")),
            span("2024-12-01T00:00:00Z", "2025-01-01T00:00:00Z"));
  // ISO weeks start on Monday; 2025-01-01 is a Wednesday, so the week spans the year end.
  EXPECT_EQ(windowAt(WindowKind::Week, utc, at("2025-01-01T10:00:00Z")),
            span("2024-12-30T00:00:00Z", "2025-01-06T00:00:00Z"));
  EXPECT_EQ(windowAt(WindowKind::Week, utc, at("2024-12-29T23:59:59Z")),  // Sunday
            span("2024-12-23T00:00:00Z", "2024-12-30T00:00:00Z"));
}

TEST(BudgetWindow, NewYorkMonthsAndDaysFollowDst) {
  const auto ny = zone("America/New_York");
  // March 2024 starts in EST (-5) and ends in EDT (-4): 31 days less an hour.
  const auto march = windowAt(WindowKind::Month, ny, at("2024-03-15T12:00:00Z"));
  EXPECT_EQ(march, span("2024-03-01T05:00:00Z", "2024-04-01T04:00:00Z"));
  EXPECT_EQ(march.end - march.start, 31 * 24h - 1h);
  // The spring-forward day has 23 hours, the fall-back day 25.
  const auto spring = windowAt(WindowKind::Day, ny, at("2024-03-10T12:00:00Z"));
  EXPECT_EQ(spring, span("2024-03-10T05:00:00Z", "2024-03-11T04:00:00Z"));
  const auto fall = windowAt(WindowKind::Day, ny, at("2024-11-03T12:00:00Z"));
  EXPECT_EQ(fall.end - fall.start, 25h);
  // 2024-01-01T03:00Z is still 31 December in New York: last year's month and day.
  EXPECT_EQ(windowAt(WindowKind::Month, ny, at("2024-01-01T03:00:00Z")),
            span("2023-12-01T05:00:00Z", "2024-01-01T05:00:00Z"));
}

TEST(BudgetWindow, KolkataAndLordHowe) {
  const auto k = zone("Asia/Kolkata");
  EXPECT_EQ(windowAt(WindowKind::Day, k, at("2024-05-31T18:29:59Z")),
            span("2024-05-30T18:30:00Z", "2024-05-31T18:30:00Z"));
  EXPECT_EQ(windowAt(WindowKind::Month, k, at("2024-05-31T18:30:00Z")),  // already June in Kolkata
            span("2024-05-31T18:30:00Z", "2024-06-30T18:30:00Z"));
  const auto lh = zone("Australia/Lord_Howe");
  // 6 October 2024 loses half an hour at 02:00; the day is 23.5 hours long.
  const auto d = windowAt(WindowKind::Day, lh, at("2024-10-06T00:00:00Z"));
  EXPECT_EQ(d, span("2024-10-05T13:30:00Z", "2024-10-06T13:00:00Z"));
  EXPECT_EQ(d.end - d.start, 23h + 30min);
  // Its October: starts at +10:30, ends at +11.
  EXPECT_EQ(windowAt(WindowKind::Month, lh, at("2024-10-15T00:00:00Z")),
            span("2024-09-30T13:30:00Z", "2024-10-31T13:00:00Z"));
}

TEST(BudgetWindow, WindowsTileTimeInEveryZone) {
  for (const char* name : {"UTC", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "America/Santiago",
                           "Asia/Tehran", "Pacific/Chatham", "Europe/Dublin"}) {
    const auto tz = zone(name);
    for (WindowKind kind : {WindowKind::Day, WindowKind::Week, WindowKind::Month}) {
      SCOPED_TRACE(std::string(name) + " " + std::string(windowKindName(kind)));
      WallTime t = at("2023-12-20T00:00:00Z");
      WindowSpan w = windowAt(kind, tz, t);
      // Walk 13 months window by window: each starts where the last ended and contains its probes.
      for (int i = 0; i < 500 && t < at("2025-01-31T00:00:00Z"); ++i) {
        ASSERT_LE(w.start, t);
        ASSERT_LT(t, w.end);
        ASSERT_LE(w.end - w.start, 31 * 24h + 2h);
        ASSERT_GE(w.end - w.start, 22h);
        EXPECT_EQ(windowAt(kind, tz, w.start), w);
        EXPECT_EQ(windowAt(kind, tz, w.end - 1s), w);
        const WindowSpan next = windowAt(kind, tz, w.end);
        ASSERT_EQ(next.start, w.end);
        t = w.end + (next.end - next.start) / 2;
        w = next;
      }
    }
  }
}

TEST(BudgetWindow, SpendIsTheSumOfTheUtcDaysTheWindowOverlaps) {
  std::map<WallTime, double> daily = {{at("2024-05-30T00:00:00Z"), 1},
                                      {at("2024-05-31T00:00:00Z"), 10},
                                      {at("2024-06-01T00:00:00Z"), 100},
                                      {at("2024-06-02T00:00:00Z"), 1000},
                                      {at("2024-07-01T00:00:00Z"), 10000}};
  const auto utcJune = windowAt(WindowKind::Month, base::TimeZone::utc(), at("2024-06-10T00:00:00Z"));
  EXPECT_TRUE(windowIsExactInUtcDays(utcJune));
  EXPECT_DOUBLE_EQ(spendInWindow(daily, utcJune), 1100);
  EXPECT_EQ(utcDaysOf(utcJune).size(), 30u);
  // Kolkata's June starts at 31 May 18:30 UTC: 31 May counts too (an over-estimate, never an under one).
  const auto kJune = windowAt(WindowKind::Month, zone("Asia/Kolkata"), at("2024-06-10T00:00:00Z"));
  EXPECT_FALSE(windowIsExactInUtcDays(kJune));
  EXPECT_DOUBLE_EQ(spendInWindow(daily, kJune), 1110);
  EXPECT_EQ(utcDaysOf(kJune).front(), at("2024-05-31T00:00:00Z"));
  EXPECT_EQ(utcDaysOf(kJune).back(), at("2024-06-30T00:00:00Z"));
  // New York's June ends at 1 July 04:00 UTC: 1 July counts.
  const auto nyJune = windowAt(WindowKind::Month, zone("America/New_York"), at("2024-06-10T00:00:00Z"));
  EXPECT_DOUBLE_EQ(spendInWindow(daily, nyJune), 11100);
}

BudgetPolicy nsPolicy(PolicyAction action, double limit) {
  BudgetPolicy p;
  p.namespaceName = "team-a";
  p.name = "monthly";
  p.window = WindowKind::Month;
  p.limitUsd = limit;
  p.thresholds = {0.5, 0.8};
  p.action = action;
  return p;
}

TEST(BudgetPolicyRule, EachActionAtEachEnforcementPoint) {
  const WallTime now = at("2024-06-10T00:00:00Z");
  struct Row {
    PolicyAction action;
    Effect job, pod, sched, scale;
  };
  const Row rows[] = {
      {PolicyAction::Alert, Effect::Alert, Effect::Alert, Effect::Alert, Effect::Alert},
      {PolicyAction::SpotOnly, Effect::SpotOnly, Effect::SpotOnly, Effect::SpotOnly, Effect::SpotOnly},
      {PolicyAction::Suspend, Effect::Suspend, Effect::SpotOnly, Effect::SpotOnly, Effect::SpotOnly},
      {PolicyAction::Deny, Effect::Deny, Effect::Deny, Effect::SpotOnly, Effect::SpotOnly},
  };
  for (const auto& r : rows) {
    SCOPED_TRACE(std::string(policyActionName(r.action)));
    const auto p = nsPolicy(r.action, 800);
    EXPECT_EQ(decidePolicy(p, 800.0, EnforcementPoint::JobAdmission, now).effect, r.job);
    EXPECT_EQ(decidePolicy(p, 900.0, EnforcementPoint::PodAdmission, now).effect, r.pod);
    EXPECT_EQ(decidePolicy(p, 800.0, EnforcementPoint::Scheduling, now).effect, r.sched);
    EXPECT_EQ(decidePolicy(p, 800.0, EnforcementPoint::ScaleUp, now).effect, r.scale);
    EXPECT_EQ(decidePolicy(p, 799.99, EnforcementPoint::JobAdmission, now).effect, Effect::None);
    EXPECT_EQ(decidePolicy(p, std::nullopt, EnforcementPoint::JobAdmission, now).effect, Effect::None);
  }
  const auto d = decidePolicy(nsPolicy(PolicyAction::Deny, 800), 812.4, EnforcementPoint::JobAdmission, now);
  EXPECT_EQ(d.policy, "team-a/monthly");
  EXPECT_EQ(d.message,
            "BudgetPolicy team-a/monthly: namespace team-a has spent $812.40 of its $800.00 month budget (window "
            "ends 2024-07-01T00:00:00Z)");
}

TEST(BudgetPolicyRule, StrictestCoveringPolicyWins) {
  const WallTime now = at("2024-06-10T00:00:00Z");
  auto alert = nsPolicy(PolicyAction::Alert, 10);
  alert.name = "a";
  auto suspend = nsPolicy(PolicyAction::Suspend, 100);
  suspend.name = "s";
  auto deny = nsPolicy(PolicyAction::Deny, 1000);
  deny.name = "d";
  BudgetPolicy otherNs = nsPolicy(PolicyAction::Deny, 0);
  otherNs.namespaceName = "team-b";
  const std::vector<const BudgetPolicy*> all = {&alert, &suspend, &deny, &otherNs};
  BudgetSubject s{"team-a", "etl", "", {}};
  auto spend = [](double v) { return [v](const BudgetPolicy&) { return std::optional<double>(v); }; };
  EXPECT_EQ(decidePolicies(all, s, spend(5), EnforcementPoint::JobAdmission, now).effect, Effect::None);
  EXPECT_EQ(decidePolicies(all, s, spend(50), EnforcementPoint::JobAdmission, now).policy, "team-a/a");
  auto sus = decidePolicies(all, s, spend(500), EnforcementPoint::JobAdmission, now);
  EXPECT_EQ(sus.effect, Effect::Suspend);
  EXPECT_EQ(sus.policy, "team-a/s");
  EXPECT_EQ(decidePolicies(all, s, spend(5000), EnforcementPoint::JobAdmission, now).effect, Effect::Deny);
  // team-b's $0 deny policy does not cover team-a.
  s.namespaceName = "team-c";
  EXPECT_EQ(decidePolicies(all, s, spend(5000), EnforcementPoint::JobAdmission, now).effect, Effect::None);
}

TEST(BudgetPolicyRule, SelectorsCoverWhatTheySay) {
  BudgetPolicy cron = nsPolicy(PolicyAction::Deny, 1);
  cron.selector.cronJob = "nightly";
  EXPECT_TRUE(policyCovers(cron, {"team-a", "nightly-28512345", "nightly", {}}));
  EXPECT_FALSE(policyCovers(cron, {"team-a", "adhoc", "", {}}));
  EXPECT_EQ(spendScopeOf(cron).kind, SpendScope::Kind::Owner);
  EXPECT_EQ(spendScopeOf(cron).owner, "nightly");
  EXPECT_EQ(spendScopeOf(cron).namespaces, std::vector<std::string>{"team-a"});

  BudgetPolicy team;  // a team policy, by the ledger's label
  team.namespaceName = "spotfit-system";
  team.teamWide = true;
  team.name = "team-ml";
  team.selector.labels = {{"team", LabelRequirement::Op::In, {"ml"}}};
  EXPECT_TRUE(validatePolicy(team, "team").ok());
  EXPECT_TRUE(policyCovers(team, {"any", "w", "", {{"team", "ml"}}}));
  EXPECT_FALSE(policyCovers(team, {"any", "w", "", {{"team", "web"}}}));
  EXPECT_FALSE(policyCovers(team, {"any", "w", "", {}}));
  EXPECT_EQ(spendScopeOf(team).kind, SpendScope::Kind::Label);

  BudgetPolicy nss;
  nss.namespaceName = "spotfit-system";
  nss.teamWide = true;
  nss.name = "platform";
  nss.selector.namespaces = {"a", "b"};
  EXPECT_TRUE(policyCovers(nss, {"b", "w", "", {}}));
  EXPECT_FALSE(policyCovers(nss, {"c", "w", "", {}}));
  EXPECT_EQ(spendScopeOf(nss).namespaces, (std::vector<std::string>{"a", "b"}));
  nss.action = PolicyAction::Deny;
  nss.limitUsd = 5;
  EXPECT_EQ(decidePolicy(nss, 6.0, EnforcementPoint::JobAdmission, at("2024-06-10T00:00:00Z")).message,
            "BudgetPolicy spotfit-system/platform: the selected namespaces has spent $6.00 of its $5.00 month budget "
            "(window ends 2024-07-01T00:00:00Z)");
  // The same selector on a policy outside spotfit's namespace is invalid, and covers its own namespace only.
  BudgetPolicy plain = nss;
  plain.namespaceName = "a";
  plain.teamWide = false;
  EXPECT_FALSE(validatePolicy(plain, "").ok());

  const std::vector<LabelRequirement> reqs = {{"env", LabelRequirement::Op::NotIn, {"prod"}},
                                              {"batch", LabelRequirement::Op::Exists, {}},
                                              {"legacy", LabelRequirement::Op::DoesNotExist, {}}};
  EXPECT_TRUE(labelsMatch(reqs, {{"env", "dev"}, {"batch", ""}}));
  EXPECT_TRUE(labelsMatch(reqs, {{"batch", "1"}}));
  EXPECT_FALSE(labelsMatch(reqs, {{"env", "prod"}, {"batch", ""}}));
  EXPECT_FALSE(labelsMatch(reqs, {{"env", "dev"}}));
  EXPECT_FALSE(labelsMatch(reqs, {{"batch", ""}, {"legacy", "x"}}));
}

TEST(BudgetPolicyRule, HostilePoliciesNameTheField) {
  struct Row {
    const char* field;
    std::function<void(BudgetPolicy&)> spoil;
  };
  const Row rows[] = {
      {"spec.limitUSD", [](BudgetPolicy& p) { p.limitUsd = -1; }},
      {"spec.limitUSD", [](BudgetPolicy& p) { p.limitUsd = std::nan(""); }},
      {"spec.limitUSD", [](BudgetPolicy& p) { p.limitUsd = 1e300; }},
      {"spec.thresholds[0]", [](BudgetPolicy& p) { p.thresholds = {0}; }},
      {"spec.thresholds[0]", [](BudgetPolicy& p) { p.thresholds = {1.5}; }},
      {"spec.thresholds[1]",
       [](BudgetPolicy& p) {
         p.thresholds = {0.8, 0.5};
       }},
      {"spec.thresholds[1]",
       [](BudgetPolicy& p) {
         p.thresholds = {0.8, 0.8};
       }},
      {"spec.thresholds", [](BudgetPolicy& p) { p.thresholds.assign(9, 0.5); }},
      {"spec.selector.namespaces", [](BudgetPolicy& p) { p.selector.namespaces = {"team-b"}; }},
      {"spec.selector.labels[0].key",
       [](BudgetPolicy& p) {
         p.selector.labels = {{"", LabelRequirement::Op::Exists, {}}};
       }},
      {"spec.selector.labels[0].values",
       [](BudgetPolicy& p) {
         p.selector.labels = {{"a", LabelRequirement::Op::In, {}}};
       }},
      {"spec.selector.labels[0].values",
       [](BudgetPolicy& p) {
         p.selector.labels = {{"a", LabelRequirement::Op::In, {std::string(64, 'x')}}};
       }},
      {"spec.selector.labels",
       [](BudgetPolicy& p) {
         p.selector.labels.assign(17, {"a", LabelRequirement::Op::Exists, {}});
       }},
      {"spec.selector.labels",  // a namespaced policy cannot be charged by label
       [](BudgetPolicy& p) {
         p.selector.labels = {{"team", LabelRequirement::Op::In, {"ml"}}};
       }},
      {"spec.selector.workflow", [](BudgetPolicy& p) { p.selector.workflow = "Bad_Name"; }},
      {"spec.selector.cronJob", [](BudgetPolicy& p) { p.selector.cronJob = std::string(300, 'a'); }},
      {"spec.selector",
       [](BudgetPolicy& p) {
         p.selector.workflow = "a";
         p.selector.cronJob = "b";
       }},
  };
  ASSERT_TRUE(validatePolicy(nsPolicy(PolicyAction::Deny, 10), "team").ok());
  for (const auto& r : rows) {
    auto p = nsPolicy(PolicyAction::Deny, 10);
    r.spoil(p);
    auto s = validatePolicy(p, "team");
    ASSERT_FALSE(s.ok()) << r.field;
    EXPECT_EQ(s.error().code, "invalid");
    EXPECT_EQ(s.error().message.rfind(std::string(r.field) + ": ", 0), 0u) << s.error().message;
  }
  // Team policies: a label selector on another key than the ledger's, or with namespaces, is refused.
  BudgetPolicy c;
  c.namespaceName = "spotfit-system";
  c.teamWide = true;
  c.name = "c";
  c.selector.labels = {{"owner", LabelRequirement::Op::In, {"x"}}};
  EXPECT_FALSE(validatePolicy(c, "team").ok());
  EXPECT_FALSE(validatePolicy(c, "").ok());
  c.selector.labels[0].key = "team";
  c.selector.namespaces = {"a"};
  EXPECT_FALSE(validatePolicy(c, "team").ok());
  c.selector.namespaces.assign(101, "a");
  EXPECT_FALSE(validatePolicy(c, "team").ok());
  BudgetPolicy cw;
  cw.namespaceName = "spotfit-system";
  cw.teamWide = true;
  cw.name = "cw";
  cw.selector.workflow = "etl";
  EXPECT_FALSE(validatePolicy(cw, "team").ok());  // which namespace?
  cw.selector.namespaces = {"a"};
  EXPECT_TRUE(validatePolicy(cw, "team").ok());
}

TEST(BudgetPolicyRule, TheWorkflowAnnotationIsOneCase) {
  const WallTime now = at("2024-06-10T00:00:00Z");
  for (BudgetAction a : {BudgetAction::Alert, BudgetAction::SpotOnly, BudgetAction::Deny}) {
    for (double limit : {0.0, 40.0, 99.5}) {
      const BudgetRule rule{limit, a};
      const BudgetPolicy p = fromWorkflowBudget("ns", "nightly", rule);
      EXPECT_TRUE(validatePolicy(p, "").ok());
      EXPECT_TRUE(policyCovers(p, {"ns", "nightly", "", {}}));
      EXPECT_FALSE(policyCovers(p, {"ns", "other", "", {}}));
      EXPECT_EQ(windowAt(p.window, p.timeZone, now).start, WallTime{});
      for (std::optional<double> spent :
           {std::optional<double>(), std::optional<double>(0.0), std::optional<double>(39.99),
            std::optional<double>(40.0), std::optional<double>(1000.0)}) {
        const auto d = decidePolicy(p, spent, EnforcementPoint::JobAdmission, now);
        EXPECT_EQ(effectName(d.effect), budgetVerdictName(decideBudget(rule, spent)));
        if (d.effect != Effect::None) {
          EXPECT_EQ(d.message, budgetSummary("nightly", *spent, limit));
        }
      }
    }
  }
}

TEST(BudgetPolicyRule, ThresholdsAreAnnouncedOncePerWindow) {
  auto p = nsPolicy(PolicyAction::Alert, 100);
  EXPECT_EQ(thresholdsReached(p, 49.99), 0u);
  EXPECT_EQ(thresholdsReached(p, 50), 1u);
  EXPECT_EQ(thresholdsReached(p, 100), 2u);
  const auto june = windowAt(WindowKind::Month, base::TimeZone::utc(), at("2024-06-10T00:00:00Z"));
  const auto july = windowAt(WindowKind::Month, base::TimeZone::utc(), at("2024-07-10T00:00:00Z"));
  EXPECT_EQ(thresholdsToAnnounce(0, june.start, 2, june), (std::vector<size_t>{0, 1}));
  EXPECT_TRUE(thresholdsToAnnounce(2, june.start, 2, june).empty());
  EXPECT_EQ(thresholdsToAnnounce(1, june.start, 2, june), (std::vector<size_t>{1}));
  EXPECT_EQ(thresholdsToAnnounce(2, june.start, 1, july), (std::vector<size_t>{0}));  // new window
}

TEST(BudgetPolicyRule, SuspendedJobsResumeWhenTheWindowEndsOrThePolicyLetsGo) {
  const WallTime end = at("2024-07-01T00:00:00Z");
  EXPECT_FALSE(shouldResume(end, Effect::Suspend, end - 1s));
  EXPECT_TRUE(shouldResume(end, Effect::Suspend, end));
  EXPECT_TRUE(shouldResume(end, Effect::None, end - 1s));  // limit raised
  EXPECT_TRUE(shouldResume(end, Effect::Deny, end - 1s));  // action changed: suspension no longer its answer
  EXPECT_TRUE(shouldResume(end, std::nullopt, end - 1s));  // policy deleted
}

}  // namespace
}  // namespace spotfit::placement

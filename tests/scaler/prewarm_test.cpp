// Pre-warmed capacity for CronJobs (scaler/prewarm.hpp, docs/scaler.md "Pre-warmed capacity"), with the
// fake clock, the in-memory provider and the real placement solver. The fake clock starts at
// 2024-05-01T01:00:00Z, so "*/5 * * * *" next fires at 01:05:00.

#include "scaler/prewarm.hpp"

#include <gtest/gtest.h>

#include "base/time.hpp"
#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

TimePoint at(const char* rfc3339) {
  return *base::parseTime(rfc3339);
}

CronJobInfo cronJob(const std::string& name, std::optional<std::string> prewarm, int64_t pods = 2,
                    int64_t cpuMilli = 1500) {
  CronJobInfo cj;
  cj.namespace_ = "team";
  cj.name = name;
  cj.uid = "uid-cj-" + name;
  cj.schedule = "*/5 * * * *";
  cj.prewarm = std::move(prewarm);
  cj.pods = pods;
  cj.podTemplate = pendingPod("template", cpuMilli, 1024).info;
  cj.podTemplate.ownerName = name;
  cj.podTemplate.workflow = "";
  return cj;
}

// Reconciles every second until `t`, materializing created nodes `boot` after their creation.
void runUntil(Env& env, TimePoint t, Duration boot = 0s) {
  std::map<std::string, TimePoint> seen;
  while (env.clock.wallNow() < t) {
    env.reconcile();
    for (const auto& [name, f] : env.scaler->inFlight()) seen.try_emplace(name, f.createdAt);
    bool due = false;
    for (const auto& [name, created] : seen) due = due || env.clock.wallNow() >= created + boot;
    if (due) env.cluster.materialize(env.provider);
    env.clock.advance(1s);
  }
}

double launched(Env& env, const std::string& result) {
  return env.scaler->metrics().counter(metric::kPrewarmNodes, {{"pool", "cpu"}, {"result", result}});
}

TEST(Prewarm, CreatesTheRunsNodesTheDefaultLeadBeforeTheFireTime) {
  Env env;
  env.config.nodePools = {m5Pool("cpu")};
  env.config.prewarm.defaultLead = 90s;
  env.start();
  env.cluster.snapshot.cronJobs.push_back(cronJob("nightly", "auto"));
  runUntil(env, at("2024-05-01T01:03:30Z"));
  EXPECT_EQ(env.provider.createRequests().size(), 0u);  // 01:03:29 was still before the lead
  env.reconcile();
  ASSERT_GE(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.actions.count("Prewarm"), static_cast<int>(env.provider.createRequests().size()));
  EXPECT_NE(env.actions.find("Prewarm")->message.find("ahead of the run at 2024-05-01T01:05:00Z"), std::string::npos);
  EXPECT_GE(launched(env, "launched"), 1);
  // Two 1500m pods: the solver's cheapest holding (two spot m5.large or one m5.xlarge), nothing more
  // on the next passes (the in-flight nodes hold the run).
  const size_t first = env.provider.createRequests().size();
  env.cluster.materialize(env.provider);
  runUntil(env, at("2024-05-01T01:05:00Z"));
  EXPECT_EQ(env.provider.createRequests().size(), first);
  // Held while waiting for the run: not consolidated although empty for more than consolidateAfter (60s).
  runUntil(env, at("2024-05-01T01:05:30Z"));
  EXPECT_TRUE(env.actions.taints.empty());
  EXPECT_EQ(env.scaler->prewarmer().nodes().size(), first);
}

TEST(Prewarm, TheScheduleReadsTheCronJobsTimeZone) {
  // 06:35 in Asia/Kolkata (UTC+05:30) is 01:05Z: pre-warmed from 01:03:30Z, as the UTC case above, and not
  // at 06:35Z as a UTC reading would have it.
  Env env;
  env.config.nodePools = {m5Pool("cpu")};
  env.config.prewarm.defaultLead = 90s;
  env.start();
  auto kolkata = cronJob("kolkata", "auto");
  kolkata.schedule = "35 6 * * *";
  kolkata.timeZone = "Asia/Kolkata";
  env.cluster.snapshot.cronJobs.push_back(kolkata);
  runUntil(env, at("2024-05-01T01:03:30Z"));
  EXPECT_EQ(env.provider.createRequests().size(), 0u);
  env.reconcile();
  ASSERT_GE(env.provider.createRequests().size(), 1u);
  EXPECT_NE(env.actions.find("Prewarm")->message.find("ahead of the run at 2024-05-01T01:05:00Z"), std::string::npos);
  EXPECT_EQ(env.actions.count("PrewarmSkipped"), 0);
}

TEST(Prewarm, RunPodsUseTheNodesAndTheIdleTimeIsTheCronJobsLedgerLine) {
  Env env;
  env.config.nodePools = {m5Pool("cpu")};
  env.start();
  env.cluster.snapshot.cronJobs.push_back(cronJob("nightly", "auto", 1, 1500));
  runUntil(env, at("2024-05-01T01:05:00Z"), 20s);
  ASSERT_EQ(env.scaler->prewarmer().nodes().size(), 1u);
  const std::string node = env.scaler->prewarmer().nodes().begin()->first;
  ClusterPod p = pendingPod("nightly-28574945-abc", 1500, 1024);
  p.info.workflow = "nightly-28574945";
  env.runPod(p, node);
  env.reconcile();
  EXPECT_TRUE(env.scaler->prewarmer().nodes().empty());
  EXPECT_EQ(launched(env, "used"), 1);
  EXPECT_EQ(launched(env, "expired"), 0);
  // Spot m5.large at 0.035 USD/h, idle from creation (01:03:30) to the pod at 01:05:00: 90 s.
  const double line = env.scaler->ledger().workflowSpend({"team", "nightly (prewarm)"}, env.clock.wallNow());
  EXPECT_NEAR(line, 0.035 * 90.0 / 3600.0, 1e-9);
  EXPECT_EQ(ownerOfWorkflow("nightly (prewarm)"), "nightly");
  // The charge stopped: later time adds nothing to the pre-warm line.
  runUntil(env, at("2024-05-01T01:06:00Z"));
  EXPECT_NEAR(env.scaler->ledger().workflowSpend({"team", "nightly (prewarm)"}, env.clock.wallNow()), line, 1e-9);
}

TEST(Prewarm, UnusedNodesAreDrainedAfterTheGraceOrTheStartingDeadline) {
  for (std::optional<int64_t> deadline : {std::optional<int64_t>{}, std::optional<int64_t>{30}}) {
    Env env;
    env.config.nodePools = {m5Pool("cpu")};
    env.config.prewarm.grace = 2min;
    env.start();
    auto cj = cronJob("nightly", "auto", 1, 1500);
    cj.startingDeadlineSeconds = deadline;
    env.cluster.snapshot.cronJobs.push_back(cj);
    const TimePoint expiry = deadline ? at("2024-05-01T01:05:30Z") : at("2024-05-01T01:07:00Z");
    runUntil(env, expiry - 1s);
    env.reconcile();
    ASSERT_EQ(env.scaler->prewarmer().nodes().size(), 1u);
    EXPECT_TRUE(env.actions.taints.empty());
    env.clock.advance(1s);
    env.reconcile();
    EXPECT_TRUE(env.scaler->prewarmer().nodes().empty());
    EXPECT_EQ(launched(env, "expired"), 1);
    ASSERT_EQ(env.actions.taints.size(), 1u);  // drained as an empty node
    EXPECT_TRUE(env.logged("scale-down: draining node " + env.actions.taints[0].first));
  }
}

TEST(Prewarm, SuspendedOffAndInvalidCronJobsGetNothing) {
  Env env;
  env.config.nodePools = {m5Pool("cpu")};
  env.start();
  auto suspended = cronJob("suspended", "auto");
  suspended.suspend = true;
  auto berlin = cronJob("berlin", "auto");
  berlin.timeZone = "Mars/Olympus_Mons";
  auto badSchedule = cronJob("bad", "auto");
  badSchedule.schedule = "TZ=UTC */5 * * * *";
  env.cluster.snapshot.cronJobs = {
      suspended, cronJob("off", "off"), cronJob("absent", std::nullopt), cronJob("typo", "atuo"), berlin, badSchedule};
  runUntil(env, at("2024-05-01T01:06:00Z"));
  EXPECT_TRUE(env.provider.createRequests().empty());
  EXPECT_EQ(env.actions.count("PrewarmSkipped"), 3);  // reported once each, not every pass
  auto has = [&](const std::string& cj, const std::string& text) {
    for (const auto& e : env.actions.events) {
      if (e.reason == "PrewarmSkipped" && e.object.name == cj && e.message.find(text) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("typo", "spotfit.io/prewarm \"atuo\" is not auto, off or a duration"));
  EXPECT_TRUE(has("berlin", "time zone \"Mars/Olympus_Mons\""));
  EXPECT_TRUE(has("bad", "cannot use TZ or CRON_TZ"));
}

TEST(Prewarm, LeadIsTheLearnedLaunchToReadyP95OrTheAnnotationsDuration) {
  Env env;
  env.config.nodePools = {m5Pool("cpu")};
  env.config.prewarm.defaultLead = 90s;
  env.start();
  // A normal scale-up first: its node takes 20 s to become Ready, which the scaler learns.
  env.cluster.snapshot.pods.push_back(pendingPod("warmup", 1500, 1024));
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  env.clock.advance(20s);
  env.cluster.materialize(env.provider);
  env.reconcile();
  EXPECT_EQ(env.scaler->prewarmer().leads().p95("cpu", "m5.large"), Duration(20s));
  env.cluster.removePod("warmup");
  env.cluster.snapshot.cronJobs.push_back(cronJob("nightly", "auto", 1, 1500));
  // The idle warm-up node holds the run's pod: no pre-warm node while it exists. Remove it.
  for (const auto& n : env.cluster.snapshot.nodes) env.cluster.removeNode(n.info.name);
  runUntil(env, at("2024-05-01T01:04:40Z"));
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
  env.reconcile();  // 01:04:40 = fire - 20 s
  EXPECT_EQ(env.provider.createRequests().size(), 2u);

  // A fixed lead from the annotation wins over what was learned.
  Env fixed;
  fixed.config.nodePools = {m5Pool("cpu")};
  fixed.start();
  fixed.cluster.snapshot.cronJobs.push_back(cronJob("nightly", "4m", 1, 1500));
  runUntil(fixed, at("2024-05-01T01:01:00Z"));
  EXPECT_TRUE(fixed.provider.createRequests().empty());
  fixed.reconcile();
  EXPECT_EQ(fixed.provider.createRequests().size(), 1u);
}

TEST(Prewarm, ExistingIdleCapacityIsUsedBeforeCreatingNodes) {
  Env env;
  NodePool cpu = m5Pool("cpu");
  cpu.disruption.consolidateAfter = 10min;  // the idle node stays until the run
  env.config.nodePools = {cpu};
  env.start();
  env.cluster.addNode(cpu, "idle", CapacityType::Spot, env.clock.wallNow());
  env.cluster.snapshot.cronJobs.push_back(cronJob("nightly", "auto", 1, 1500));
  runUntil(env, at("2024-05-01T01:04:30Z"));
  EXPECT_TRUE(env.provider.createRequests().empty());
  EXPECT_EQ(env.cluster.snapshot.nodes.size(), 1u);
}

TEST(PrewarmSetting, ParsesAutoOffAndDurations) {
  EXPECT_FALSE(parsePrewarm(std::nullopt)->enabled);
  EXPECT_FALSE(parsePrewarm("off")->enabled);
  EXPECT_TRUE(parsePrewarm("auto")->enabled);
  EXPECT_FALSE(parsePrewarm("auto")->fixedLead.has_value());
  EXPECT_EQ(parsePrewarm("2m")->fixedLead, Duration(2min));
  for (const char* bad : {"", "on", "0s", "-1m", "25h", "Auto"})
    EXPECT_FALSE(parsePrewarm(std::string(bad)).ok()) << bad;
}

TEST(PrewarmSetting, ConfigSection) {
  auto cfg = parseScalerConfig("scaler:\n  prewarm: {defaultLead: 45s, grace: 1m}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->prewarm.defaultLead, Duration(45s));
  EXPECT_EQ(cfg->prewarm.grace, Duration(1min));
  auto defaults = parseScalerConfig("scaler:\n  batchIdle: 2s\n");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->prewarm.defaultLead, Duration(90s));
  EXPECT_EQ(defaults->prewarm.grace, Duration(3min));
  auto tooLong = parseScalerConfig("scaler:\n  prewarm: {grace: 25h}\n");
  ASSERT_FALSE(tooLong.ok());
  EXPECT_NE(tooLong.error().message.find("scaler.prewarm.grace"), std::string::npos) << tooLong.error().message;
  auto unknown = parseScalerConfig("scaler:\n  prewarm: {lead: 1m}\n");
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("lead"), std::string::npos) << unknown.error().message;
}

TEST(LaunchLeads, P95IsNearestRankAndTheMapIsBounded) {
  LaunchLeads l;
  EXPECT_FALSE(l.p95("p", "t").has_value());
  for (int i = 1; i <= 20; ++i) l.observe("p", "t", Duration(i * 1000));
  EXPECT_EQ(l.p95("p", "t"), Duration(19000));  // ceil(0.95 × 20) = 19th smallest
  for (int i = 0; i < 100; ++i) l.observe("p", "t", Duration(5000));
  EXPECT_EQ(l.p95("p", "t"), Duration(5000));  // only the last 64 count
  for (size_t i = 0; i < LaunchLeads::kMaxKeys + 50; ++i) l.observe("pool" + std::to_string(i), "t", 1s);
  EXPECT_EQ(l.keys(), LaunchLeads::kMaxKeys);
}

}  // namespace
}  // namespace spotfit::scaler

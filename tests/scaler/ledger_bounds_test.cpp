// The bounded cost ledger: daily windows per namespace and owner (CronJob), retention, the caps on every
// map keyed by names from the cluster, compact running pods (fingerprints) that a failover picks up again,
// and the size at 20,000 running pods and 50,000 past workflows (the ConfigMap must stay under 512 KiB).

#include <gtest/gtest.h>

#include <cstdio>

#include "kube/clock.hpp"
#include "scaler/ledger.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;

std::string uuid(unsigned a, unsigned b) {  // unsigned: the arithmetic wraps, by design
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08x-%04x-4%03x-8%03x-%012x", a * 2654435761u, b & 0xffffu, a & 0xfffu, b & 0xfffu,
                a * 40503u + b);
  return buf;
}

// 50,000 past workflows (250 CronJobs × 200 runs over 31 days, 2 pods of 1 h each) and then 20,000 running
// pods (1,000 workflows × 20 pods in 50 namespaces); the ledger is accrued as the scaler's flushes do.
CostLedger fullCluster(kube::ManualClock& clock) {
  CostLedger l;
  const TimePoint start = clock.wallNow();
  constexpr int kRuns = 200, kCronJobs = 250;
  for (int run = 0; run < kRuns; ++run) {
    const TimePoint t = start + run * std::chrono::duration_cast<std::chrono::milliseconds>(31 * 24h) / kRuns;
    for (int cj = 0; cj < kCronJobs; ++cj) {
      const WorkflowKey wf{"team-" + std::to_string(cj % 50),
                           "report-" + std::to_string(cj) + "-" + std::to_string(29400000 + run * 223)};
      for (int pod = 0; pod < 2; ++pod) {
        const std::string uid = uuid(run * kCronJobs + cj, pod);
        l.podRunning(uid, wf, 0.1 + cj / 7.0, 0.5 + cj / 3.0, t, t);
        l.podStopped(uid, t + 1h);
      }
    }
    l.accrue(t + 1h);
  }
  clock.advance(31 * 24h);
  const TimePoint now = clock.wallNow();
  for (int wf = 0; wf < 1000; ++wf) {
    for (int pod = 0; pod < 20; ++pod) {
      l.podRunning(uuid(1000000 + wf, pod), {"team-" + std::to_string(wf % 50), "train-" + std::to_string(wf)},
                   0.04 + wf / 9.0, 0.11 + wf / 3.0, now - 2h, now);
    }
  }
  clock.advance(30s);
  l.accrue(clock.wallNow());
  return l;
}

TEST(LedgerBounds, TwentyThousandRunningPodsAndFiftyThousandPastWorkflowsStayUnder512KiB) {
  kube::ManualClock clock;
  CostLedger l = fullCluster(clock);
  const TimePoint now = clock.wallNow();
  EXPECT_EQ(l.runningPods(), 20000u);
  const std::string json = l.toJson();
  EXPECT_LT(json.size(), 512u * 1024) << "the ledger ConfigMap would fail to save as it grows";
  std::printf("ledger: %zu bytes with 20,000 running pods and 50,000 past workflows\n", json.size());

  auto back = CostLedger::fromJson(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->runningPods(), 20000u);
  EXPECT_NEAR(back->costPerHour(), l.costPerHour(), 1e-6);
  clock.advance(1h);
  const TimePoint later = clock.wallNow();
  for (const char* ns : {"team-0", "team-17", "team-49"}) {
    EXPECT_NEAR(back->namespaceSpend(ns, later), l.namespaceSpend(ns, later), 1e-6) << ns;
  }
  for (const char* wf : {"train-0", "train-517", "train-999"}) {
    const WorkflowKey key{"team-" + std::to_string(std::stoi(std::string(wf).substr(6)) % 50), wf};
    ASSERT_TRUE(back->recordedSpend(key, later).has_value()) << wf;
    EXPECT_NEAR(*back->recordedSpend(key, later), *l.recordedSpend(key, later), 1e-9) << wf;
  }
  // Past runs are kept per owner (the CronJob) and day, within the per-day cap, to the micro-dollar.
  ASSERT_EQ(back->days().size(), l.days().size());
  const auto& [day, d] = *l.days().begin();
  const auto& restored = back->days().at(day);
  EXPECT_EQ(restored.owners.size(), d.owners.size());
  for (const auto& [owner, usd] : d.owners) EXPECT_NEAR(restored.owners.at(owner), usd, 1e-6);
  EXPECT_TRUE(d.owners.count({"team-3", "report-3"}));
  // Only the newest workflows without running pods keep their own totals.
  EXPECT_EQ(l.workflows(now).size(), 1000u + l.limits().maxClosedWorkflows);
}

TEST(LedgerBounds, CronJobRunsRollUpToTheCronJob) {
  EXPECT_EQ(ownerOfWorkflow("nightly-29412345"), "nightly");
  EXPECT_EQ(ownerOfWorkflow("etl-daily-2941234512"), "etl-daily");
  EXPECT_EQ(ownerOfWorkflow("train-1234567"), "train-1234567") << "fewer than 8 digits: not a CronJob's Job";
  EXPECT_EQ(ownerOfWorkflow("train-2941234x"), "train-2941234x");
  EXPECT_EQ(ownerOfWorkflow("-29412345"), "-29412345");
  EXPECT_EQ(ownerOfWorkflow("train"), "train");
  EXPECT_EQ(ownerOfWorkflow(""), "");
}

TEST(LedgerBounds, PodFingerprintIsStable) {
  // Stored ledgers and tests/e2e/ledger_doc.py depend on exactly these values.
  EXPECT_EQ(podFingerprint("uid-kept"), "PmsfGVKQ");
  EXPECT_EQ(podFingerprint(""), podFingerprint(std::string()));
  EXPECT_EQ(podFingerprint("3f1c2d9e-1b7a-4c55-9a51-0c4e8d2f6a10").size(), 8u);
  EXPECT_NE(podFingerprint("a"), podFingerprint("b"));
}

TEST(LedgerBounds, ChargesSplitAtUtcMidnight) {
  kube::ManualClock clock;
  // 22:00 UTC on some day.
  const TimePoint midnight =
      TimePoint{} + std::chrono::floor<std::chrono::days>(clock.wallNow().time_since_epoch()) + std::chrono::days(1);
  CostLedger l;
  l.podRunning("p", {"ns", "nightly-29400000"}, 3.0, 3.0, midnight - 2h, midnight - 2h);
  l.podStopped("p", midnight + 1h);
  ASSERT_EQ(l.days().size(), 2u);
  EXPECT_NEAR(l.days().at(midnight - 24h).owners.at({"ns", "nightly"}), 6.0, 1e-9);
  EXPECT_NEAR(l.days().at(midnight).owners.at({"ns", "nightly"}), 3.0, 1e-9);
  EXPECT_NEAR(l.days().at(midnight).namespaces.at("ns"), 3.0, 1e-9);
}

TEST(LedgerBounds, RetentionExpiresDaysAndClosedWorkflowsButNotRunningOnes) {
  kube::ManualClock clock;
  LedgerLimits limits;
  limits.retention = 72h;
  CostLedger l(limits);
  const TimePoint t0 = clock.wallNow();
  l.podRunning("old", {"ns", "old"}, 1.0, 1.0, t0, t0);
  l.podStopped("old", t0 + 1h);
  l.podRunning("long", {"ns", "long"}, 1.0, 1.0, t0, t0);
  l.accrue(t0 + 1h);
  EXPECT_TRUE(l.recordedSpend({"ns", "old"}, t0 + 1h).has_value());
  clock.advance(5 * 24h);
  l.accrue(clock.wallNow());
  EXPECT_EQ(l.recordedSpend({"ns", "old"}, clock.wallNow()), std::nullopt) << "closed and past retention";
  ASSERT_TRUE(l.recordedSpend({"ns", "long"}, clock.wallNow()).has_value()) << "running: never expires";
  EXPECT_NEAR(*l.recordedSpend({"ns", "long"}, clock.wallNow()), 5 * 24.0, 1e-6);
  EXPECT_NEAR(l.namespaceSpend("ns", clock.wallNow()), 5 * 24.0 + 1, 1e-6) << "namespace totals stay";
  ASSERT_FALSE(l.days().empty());
  EXPECT_GE(l.days().begin()->first + 24h, clock.wallNow() - 72h) << "no day older than the retention";
  EXPECT_LE(l.days().size(), 5u);
}

TEST(LedgerBounds, KeepsTheNewestClosedWorkflowsUpToTheCap) {
  kube::ManualClock clock;
  LedgerLimits limits;
  limits.maxClosedWorkflows = 3;
  CostLedger l(limits);
  for (int i = 0; i < 10; ++i) {
    const std::string uid = "p" + std::to_string(i);
    l.podRunning(uid, {"ns", "wf" + std::to_string(i)}, 1.0, 1.0, clock.wallNow(), clock.wallNow());
    clock.advance(1min);
    l.podStopped(uid, clock.wallNow());
  }
  l.podRunning("live", {"ns", "running"}, 1.0, 1.0, clock.wallNow(), clock.wallNow());
  l.accrue(clock.wallNow());
  const auto wfs = l.workflows(clock.wallNow());
  EXPECT_EQ(wfs.size(), 4u);
  for (const char* kept : {"wf7", "wf8", "wf9", "running"}) EXPECT_TRUE(wfs.count({"ns", kept})) << kept;
}

TEST(LedgerBounds, OwnersPerDayAndNamespacesAreCapped) {
  kube::ManualClock clock;
  LedgerLimits limits;
  limits.maxOwnersPerDay = 5;
  limits.maxNamespaces = 3;
  CostLedger l(limits);
  const TimePoint t = clock.wallNow();
  for (int i = 0; i < 100; ++i) {
    const std::string uid = "p" + std::to_string(i);
    l.podRunning(uid, {"ns" + std::to_string(i % 10), "wf" + std::to_string(i)}, 1.0, 1.0, t, t);
    l.podStopped(uid, t + 1min);
  }
  l.accrue(t + 1min);
  double total = 0;
  for (const auto& [day, d] : l.days()) {
    EXPECT_LE(d.owners.size(), limits.maxOwnersPerDay + limits.maxNamespaces + 1);
    EXPECT_LE(d.namespaces.size(), limits.maxNamespaces + 1);
    EXPECT_TRUE(d.namespaces.count(kLedgerOther));
    for (const auto& [o, usd] : d.owners) total += usd;
  }
  EXPECT_NEAR(total, 100.0 / 60, 1e-9) << "capped rows still count every cent";
  EXPECT_NEAR(l.namespaceSpend(kLedgerOther, t + 1min), 70.0 / 60, 1e-9);
}

TEST(LedgerBounds, FailoverContinuesStoredPodsByFingerprintAndChargesNothingTwice) {
  kube::ManualClock clock;
  const TimePoint t0 = clock.wallNow();
  CostLedger before;
  before.podRunning("uid-kept", {"ns", "wf"}, 2.0, 2.0, t0, t0);
  before.podRunning("uid-gone", {"ns", "wf"}, 1.0, 1.0, t0, t0);
  before.podRunning("uid-done", {"ns", "wf"}, 4.0, 4.0, t0, t0);
  clock.advance(1h);
  before.accrue(clock.wallNow());
  const std::string json = before.toJson();
  EXPECT_EQ(json.find("uid-"), std::string::npos) << "running pods are stored by fingerprint";
  EXPECT_NE(json.find(podFingerprint("uid-kept")), std::string::npos);

  auto after = CostLedger::fromJson(json);
  ASSERT_TRUE(after.ok()) << after.error().message;
  EXPECT_EQ(after->runningPods(), 3u);
  clock.advance(10min);  // the new leader's first pass, 10 minutes after the last save
  const TimePoint now = clock.wallNow();
  after->podRunning("uid-kept", {"ns", "wf"}, 2.0, 2.0, t0, now);          // continues from the save, not from t0
  after->podStopped("uid-done", now - 5min);                               // finished while nobody watched
  after->podRunning("uid-new", {"ns", "wf"}, 8.0, 8.0, now - 30min, now);  // bound during the failover
  after->retainOnly({"uid-kept", "uid-new"}, now);                         // uid-gone vanished: charged to now
  EXPECT_EQ(after->runningPods(), 2u);
  const double expected = 7.0 /*first hour*/ + 2.0 / 6 + 1.0 / 6 + 4.0 / 12 + 8.0 / 2;
  EXPECT_NEAR(after->workflowSpend({"ns", "wf"}, now), expected, 1e-9);
  after->accrue(now);
  auto again = CostLedger::fromJson(after->toJson());  // and a second failover
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->runningPods(), 2u);
  EXPECT_NEAR(again->workflowSpend({"ns", "wf"}, now + 1h), expected + 10.0, 1e-9);
}

TEST(LedgerBounds, ReadsAVersionOneLedger) {
  kube::ManualClock clock;
  const int64_t ms = toEpochMs(clock.wallNow());
  auto l = CostLedger::fromJson(R"({"version":1,"workflows":[{"namespace":"ns","workflow":"wf","usd":3}],)"
                                R"("namespaces":{"ns":3},"spotSavingsUsd":1,"running":[{"uid":"u1","namespace":"ns",)"
                                R"("workflow":"wf","ratePerHour":2,"onDemandRatePerHour":4,"accruedToMs":)" +
                                std::to_string(ms) + "}]}");
  ASSERT_TRUE(l.ok()) << l.error().message;
  clock.advance(1h);
  l->podRunning("u1", {"ns", "wf"}, 2.0, 4.0, clock.wallNow() - 5h, clock.wallNow());
  EXPECT_NEAR(l->workflowSpend({"ns", "wf"}, clock.wallNow()), 5.0, 1e-9);
  EXPECT_NEAR(l->spotSavings(clock.wallNow()), 3.0, 1e-9);
  l->accrue(clock.wallNow());
  EXPECT_TRUE(l->recordedSpend({"ns", "wf"}, clock.wallNow() + 24h).has_value())
      << "a version 1 total is not expired at once";
}

TEST(LedgerBounds, MalformedVersionTwoIsAnError) {
  for (const char* bad : {
           R"({"version":3})",
           R"({"version":2,"workflows":[{"namespace":"a","workflow":"b","usd":1}]})",
           R"({"version":2,"workflows":[["a","b",1]]})",
           R"({"version":2,"running":[["a","b",1,1,5,"short"]]})",
           R"({"version":2,"running":[["a","b",1,1,5,""]]})",
           R"({"version":2,"days":[{"day":"2026-13-01","namespaces":{},"owners":[]}]})",
           R"({"version":2,"days":[{"day":"2026-12-01","namespaces":{},"owners":[0,1]}]})",
           R"({"version":2,"owners":[["a","b"]],"days":[{"day":"2026-12-01","namespaces":{},"owners":[0]}]})",
           R"({"version":2,"owners":[["a"]]})",
       }) {
    auto l = CostLedger::fromJson(bad);
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(l.error().code, "invalid");
  }
  EXPECT_TRUE(
      CostLedger::fromJson(
          R"({"version":2,"owners":[["a","b"]],"days":[{"day":"2026-12-01","namespaces":{"a":1},"owners":[0,1]}]})")
          .ok());
}

}  // namespace
}  // namespace spotfit::scaler

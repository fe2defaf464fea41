// Cost ledger: integration from binding to termination, per workflow and namespace, spot savings, rate
// changes, and durability through a JSON round trip (what a restart or failover reads back).

#include "scaler/ledger.hpp"

#include <gtest/gtest.h>

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;

TEST(CostLedger, IntegratesFromBindingToTermination) {
  kube::ManualClock clock;
  CostLedger l;
  const WorkflowKey wf{"team-a", "train"};
  auto bound = clock.wallNow();
  clock.advance(30min);  // first seen half an hour after binding: still charged from binding
  l.podRunning("p1", wf, 2.0, 6.0, bound, clock.wallNow());
  EXPECT_NEAR(l.workflowSpend(wf, clock.wallNow()), 1.0, 1e-9);
  clock.advance(30min);
  l.podStopped("p1", clock.wallNow());
  EXPECT_NEAR(l.workflowSpend(wf, clock.wallNow()), 2.0, 1e-9);
  clock.advance(5h);  // a stopped pod costs nothing more
  EXPECT_NEAR(l.workflowSpend(wf, clock.wallNow()), 2.0, 1e-9);
  EXPECT_NEAR(l.namespaceSpend("team-a", clock.wallNow()), 2.0, 1e-9);
  EXPECT_NEAR(l.spotSavings(clock.wallNow()), 4.0, 1e-9);
  EXPECT_EQ(l.runningPods(), 0u);
}

TEST(CostLedger, SumsPerWorkflowAndNamespace) {
  kube::ManualClock clock;
  CostLedger l;
  auto t0 = clock.wallNow();
  l.podRunning("a", {"ns1", "wf1"}, 1.0, 1.0, t0, t0);
  l.podRunning("b", {"ns1", "wf1"}, 0.5, 0.5, t0, t0);
  l.podRunning("c", {"ns1", "wf2"}, 0.25, 0.25, t0, t0);
  l.podRunning("d", {"ns2", "wf1"}, 4.0, 4.0, t0, t0);
  clock.advance(2h);
  EXPECT_NEAR(l.workflowSpend({"ns1", "wf1"}, clock.wallNow()), 3.0, 1e-9);
  EXPECT_NEAR(l.workflowSpend({"ns1", "wf2"}, clock.wallNow()), 0.5, 1e-9);
  EXPECT_NEAR(l.workflowSpend({"ns2", "wf1"}, clock.wallNow()), 8.0, 1e-9);
  EXPECT_NEAR(l.namespaceSpend("ns1", clock.wallNow()), 3.5, 1e-9);
  EXPECT_NEAR(l.costPerHour(), 5.75, 1e-9);
  EXPECT_EQ(l.workflows(clock.wallNow()).size(), 3u);
  EXPECT_NEAR(l.spotSavings(clock.wallNow()), 0.0, 1e-9);
}

TEST(CostLedger, RateChangeAppliesFromThenOn) {
  kube::ManualClock clock;
  CostLedger l;
  const WorkflowKey wf{"ns", "wf"};
  l.podRunning("p", wf, 1.0, 1.0, clock.wallNow(), clock.wallNow());
  clock.advance(1h);
  l.podRunning("p", wf, 1.0, 1.0, clock.wallNow() - 1h, clock.wallNow());  // same rate: nothing changes
  l.podRunning("p", wf, 3.0, 3.0, clock.wallNow(), clock.wallNow());
  clock.advance(1h);
  EXPECT_NEAR(l.workflowSpend(wf, clock.wallNow()), 4.0, 1e-9);
}

TEST(CostLedger, VanishedPodsCloseAtRetain) {
  kube::ManualClock clock;
  CostLedger l;
  l.podRunning("gone", {"ns", "wf"}, 1.0, 1.0, clock.wallNow(), clock.wallNow());
  l.podRunning("kept", {"ns", "wf"}, 1.0, 1.0, clock.wallNow(), clock.wallNow());
  clock.advance(1h);
  l.retainOnly({"kept"}, clock.wallNow());
  EXPECT_EQ(l.runningPods(), 1u);
  clock.advance(1h);
  EXPECT_NEAR(l.workflowSpend({"ns", "wf"}, clock.wallNow()), 3.0, 1e-9);
}

TEST(CostLedger, SurvivesRestartThroughTheStore) {
  kube::ManualClock clock;
  InMemoryLedgerStore store;
  {
    CostLedger l;
    l.podRunning("p1", {"ns", "wf \"quoted\""}, 2.0, 5.0, clock.wallNow(), clock.wallNow());
    l.podRunning("p2", {"ns", "other"}, 1.0, 1.0, clock.wallNow(), clock.wallNow());
    clock.advance(1h);
    l.podStopped("p2", clock.wallNow());
    l.accrue(clock.wallNow());
    ASSERT_TRUE(store.save(l.toJson()).ok());
  }
  clock.advance(1h);  // the replacement leader starts an hour later; p1 kept running meanwhile
  auto text = store.load();
  ASSERT_TRUE(text.ok());
  ASSERT_TRUE(text->has_value());
  auto l = CostLedger::fromJson(**text);
  ASSERT_TRUE(l.ok()) << l.error().message;
  EXPECT_EQ(l->runningPods(), 1u);
  EXPECT_NEAR(l->workflowSpend({"ns", "wf \"quoted\""}, clock.wallNow()), 4.0, 1e-9);
  EXPECT_NEAR(l->workflowSpend({"ns", "other"}, clock.wallNow()), 1.0, 1e-9);
  EXPECT_NEAR(l->namespaceSpend("ns", clock.wallNow()), 5.0, 1e-9);
  EXPECT_NEAR(l->spotSavings(clock.wallNow()), 6.0, 1e-9);
}

TEST(CostLedger, CorruptStoredDataIsAnError) {
  for (const char* bad : {"", "[]", "{}", R"({"version":3})", R"({"version":1,"workflows":{}})",
                          R"({"version":1,"running":[{"uid":"x"}]})", R"({"version":1,"namespaces":{"a":"x"}})"}) {
    auto l = CostLedger::fromJson(bad);
    ASSERT_FALSE(l.ok()) << bad;
    EXPECT_EQ(l.error().code, "invalid");
  }
  EXPECT_TRUE(CostLedger::fromJson(R"({"version":1})").ok());
}

}  // namespace
}  // namespace spotfit::scaler

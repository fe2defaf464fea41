// LedgerSpend: the spend source the webhook and the extender share, a snapshot of the scaler's saved cost
// ledger that answers with the same function as the scaler's live ledger.

#include "scaler/ledger_spend.hpp"

#include <gtest/gtest.h>

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;

TEST(LedgerSpend, AnswersWhatTheScalersOwnLedgerAnswersAtTheSameMoment) {
  kube::ManualClock clock;
  CostLedger live;
  const WorkflowKey wf{"team", "nightly"};
  live.podRunning("p1", wf, 2.0, 6.0, clock.wallNow(), clock.wallNow());
  clock.advance(30min);
  InMemoryLedgerStore store;
  ASSERT_TRUE(store.save(live.toJson()).ok());

  LedgerSpend spend(store, clock);
  EXPECT_FALSE(spend.loaded());
  EXPECT_EQ(spend.spendUsd("team", "nightly"), std::nullopt) << "nothing read yet: unknown, not zero";
  ASSERT_TRUE(spend.refresh().ok());
  EXPECT_TRUE(spend.loaded());
  // A running pod keeps accruing between re-reads, exactly as in the scaler's ledger.
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(spend.spendUsd("team", "nightly").has_value());
    EXPECT_NEAR(*spend.spendUsd("team", "nightly"), *live.recordedSpend(wf, clock.wallNow()), 1e-9);
    clock.advance(1h);
  }
  EXPECT_NEAR(*spend.spendUsd("team", "nightly"), 2.0 * 3.5, 1e-9);
  EXPECT_EQ(spend.spendUsd("team", "other"), std::nullopt) << "a workflow the ledger does not record";
  EXPECT_EQ(spend.spendUsd("other", "nightly"), std::nullopt);
}

TEST(LedgerSpend, NothingStoredIsAnEmptyLedgerAndABadReadKeepsTheLastSnapshot) {
  kube::ManualClock clock;
  InMemoryLedgerStore store;
  LedgerSpend spend(store, clock);
  ASSERT_TRUE(spend.refresh().ok());
  EXPECT_TRUE(spend.loaded());
  EXPECT_EQ(spend.spendUsd("team", "nightly"), std::nullopt);

  CostLedger l;
  l.podRunning("p", {"team", "nightly"}, 1.0, 1.0, clock.wallNow(), clock.wallNow());
  l.podStopped("p", clock.wallNow() + 1h);
  ASSERT_TRUE(store.save(l.toJson()).ok());
  ASSERT_TRUE(spend.refresh().ok());
  EXPECT_NEAR(*spend.spendUsd("team", "nightly"), 1.0, 1e-9);
  ASSERT_TRUE(store.save("{not json").ok());
  EXPECT_FALSE(spend.refresh().ok());
  EXPECT_NEAR(*spend.spendUsd("team", "nightly"), 1.0, 1e-9);
}

TEST(CostLedger, RecordedSpendIsNulloptOnlyForWorkflowsItHasNeverSeen) {
  kube::ManualClock clock;
  CostLedger l;
  EXPECT_EQ(l.recordedSpend({"ns", "wf"}, clock.wallNow()), std::nullopt);
  l.podRunning("p", {"ns", "wf"}, 1.0, 1.0, clock.wallNow(), clock.wallNow());
  EXPECT_EQ(l.recordedSpend({"ns", "wf"}, clock.wallNow()), 0.0) << "running: recorded, at zero so far";
  clock.advance(1h);
  l.podStopped("p", clock.wallNow());
  EXPECT_NEAR(*l.recordedSpend({"ns", "wf"}, clock.wallNow()), 1.0, 1e-9);
}

}  // namespace
}  // namespace spotfit::scaler

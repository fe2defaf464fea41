#include "placement/move_payoff.hpp"

#include <gtest/gtest.h>

#include "test_util.hpp"

namespace spotfit::placement {
namespace {

using testing::kGi;

// A 8-cpu node at $0.40/h with one 2-cpu Job pod (a quarter of it: $0.10/h).
struct Fixture {
  NodeInfo node = testing::node("n1", 8000, 32 * kGi, 0, CapacityType::OnDemand, 0.40);
  PodInfo pod = testing::pod("a", 2000, 4 * kGi);
  MovePolicy policy;
  Fixture() {
    testing::bind(node, pod);
    pod.annotations[std::string(kAnnotationCheckpoint)] = "/bin/save";
    policy.restartSeconds = 60;
    policy.lostWorkFraction = 0;
    policy.marginUsd = 0.01;
  }
};

TEST(Resumable, CheckpointCommandOrAnnotation) {
  PodInfo p = testing::pod("a", 1000, kGi);
  EXPECT_FALSE(isResumable(p));
  p.annotations["spotfit.io/checkpoint"] = "none";
  EXPECT_FALSE(isResumable(p));
  p.annotations["spotfit.io/checkpoint"] = "/bin/save";
  EXPECT_TRUE(isResumable(p));
  p.annotations["spotfit.io/resumable"] = "false";  // a command that saves, but a program that cannot resume
  EXPECT_FALSE(isResumable(p));
  p.annotations.erase("spotfit.io/checkpoint");
  p.annotations["spotfit.io/resumable"] = "true";  // the site's default checkpoint, a resumable program
  EXPECT_TRUE(isResumable(p));
}

TEST(ExpectedDuration, GoDurationGrammar) {
  PodInfo p = testing::pod("a", 1000, kGi);
  EXPECT_FALSE(annotatedExpectedSeconds(p));
  p.annotations["spotfit.io/expected-duration"] = "1h30m";
  EXPECT_DOUBLE_EQ(*annotatedExpectedSeconds(p), 5400);
  for (const char* bad : {"", "90", "-1h", "0s", "1x", "1e400h"}) {
    p.annotations["spotfit.io/expected-duration"] = bad;
    EXPECT_FALSE(annotatedExpectedSeconds(p)) << bad;
  }
}

TEST(MovePayoff, LongRemainingRuntimePays) {
  Fixture f;
  // 2h left on a $0.40/h node: saves $0.80; the restart costs $0.10/h × 60 s.
  auto v = evaluateMoves(f.node, {{&f.pod, 3600, 3 * 3600.0}}, 0.40, f.policy);
  EXPECT_TRUE(v.pays) << v.reason;
  EXPECT_NEAR(v.savingUsd, 0.80, 1e-9);
  EXPECT_NEAR(v.costUsd, 0.10 / 60, 1e-9);
}

TEST(MovePayoff, AlmostDonePodDoesNotPay) {
  Fixture f;
  // 1 minute left: saves under a cent, less than the margin.
  auto v = evaluateMoves(f.node, {{&f.pod, 3540, 3600.0}}, 0.40, f.policy);
  EXPECT_FALSE(v.pays);
  EXPECT_NE(v.reason.find("not more than"), std::string::npos) << v.reason;
  // Past its expected duration: no saving to weigh.
  v = evaluateMoves(f.node, {{&f.pod, 7200, 3600.0}}, 0.40, f.policy);
  EXPECT_FALSE(v.pays);
  EXPECT_EQ(v.savingUsd, 0);
}

TEST(MovePayoff, LostWorkCountsAgainstTheMove) {
  Fixture f;
  // 20 min left saves $0.1333; the move loses half of 10 h of work: 5 h × $0.10/h = $0.50.
  f.policy.lostWorkFraction = 0.5;
  auto v = evaluateMoves(f.node, {{&f.pod, 36000, 36000 + 1200.0}}, 0.40, f.policy);
  EXPECT_FALSE(v.pays) << v.reason;
  f.policy.lostWorkFraction = 0;
  EXPECT_TRUE(evaluateMoves(f.node, {{&f.pod, 36000, 36000 + 1200.0}}, 0.40, f.policy).pays);
}

TEST(MovePayoff, NeverMovesANonResumablePod) {
  Fixture f;
  f.pod.annotations.clear();
  auto v = evaluateMoves(f.node, {{&f.pod, 0, 100 * 3600.0}}, 10.0, f.policy);
  EXPECT_FALSE(v.pays);
  EXPECT_NE(v.reason.find("cannot resume"), std::string::npos) << v.reason;
}

TEST(MovePayoff, UnknownDurationDoesNotPay) {
  Fixture f;
  auto v = evaluateMoves(f.node, {{&f.pod, 0, std::nullopt}}, 10.0, f.policy);
  EXPECT_FALSE(v.pays);
  EXPECT_NE(v.reason.find("expected duration"), std::string::npos) << v.reason;
}

TEST(MovePayoff, SavingLastsUntilTheLastPodWouldFinish) {
  Fixture f;
  PodInfo b = testing::pod("b", 2000, 4 * kGi);
  testing::bind(f.node, b);
  b.annotations["spotfit.io/checkpoint"] = "/bin/save";
  // One pod nearly done, one with 30 min left: the node would stay 30 min, saving $0.20.
  auto v = evaluateMoves(f.node, {{&f.pod, 3590, 3600.0}, {&b, 0, 1800.0}}, 0.40, f.policy);
  EXPECT_TRUE(v.pays) << v.reason;
  EXPECT_NEAR(v.savingUsd, 0.20, 1e-9);
  EXPECT_NEAR(v.costUsd, 2 * 0.10 / 60, 1e-9);
}

}  // namespace
}  // namespace spotfit::placement

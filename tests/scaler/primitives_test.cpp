// Unit tests for the scaler's small building blocks: durations, the pod batcher, the unavailable-offering
// cache, the interruption tracker and the in-memory provider's fault knobs.

#include <gtest/gtest.h>

#include "scaler/batcher.hpp"
#include "scaler/duration.hpp"
#include "scaler/interruptions.hpp"
#include "scaler/memory_provider.hpp"
#include "scaler/offerings.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;

TEST(PodBatcher, ClosesAfterIdle) {
  kube::ManualClock clock;
  PodBatcher b(1s, 10s);
  EXPECT_FALSE(b.open());
  EXPECT_TRUE(b.observe("a", clock.wallNow()));
  clock.advance(999ms);
  EXPECT_FALSE(b.ready(clock.wallNow()));
  clock.advance(1ms);
  EXPECT_TRUE(b.ready(clock.wallNow()));
  EXPECT_EQ(b.take(), (std::vector<std::string>{"a"}));
  EXPECT_FALSE(b.open());
}

TEST(PodBatcher, NewPodsExtendTheWindowUpToMax) {
  kube::ManualClock clock;
  PodBatcher b(1s, 10s);
  auto start = clock.wallNow();
  for (int i = 0; i < 20; ++i) {
    b.observe("p" + std::to_string(i), clock.wallNow());
    EXPECT_FALSE(b.ready(clock.wallNow()));
    clock.advance(900ms);
    if (clock.wallNow() - start >= 10s) break;
  }
  EXPECT_EQ(*b.deadline(), start + 10s);
  clock.set(start + 10s);
  EXPECT_TRUE(b.ready(clock.wallNow()));
  EXPECT_EQ(b.take().size(), 12u);  // pods at 0, 0.9, ..., 9.9 s
}

TEST(PodBatcher, SeenPodsDoNotReopenUntilForgotten) {
  kube::ManualClock clock;
  PodBatcher b(1s, 10s);
  EXPECT_TRUE(b.observe("a", clock.wallNow()));
  clock.advance(2s);
  b.take();
  EXPECT_FALSE(b.observe("a", clock.wallNow()));
  EXPECT_FALSE(b.open());
  b.retain({});
  EXPECT_TRUE(b.observe("a", clock.wallNow()));
}

TEST(UnavailableOfferings, ExpiresAfterTtlAndMatchesWildcards) {
  kube::ManualClock clock;
  UnavailableOfferings u(3min);
  OfferingKey spotT4{"gpu", "g4dn.xlarge", CapacityType::Spot, "a"};
  u.mark(spotT4, clock.wallNow(), "insufficient capacity");
  EXPECT_TRUE(u.unavailable(spotT4, clock.wallNow()));
  EXPECT_FALSE(u.unavailable({"gpu", "g4dn.xlarge", CapacityType::OnDemand, "a"}, clock.wallNow()));
  EXPECT_FALSE(u.unavailable({"gpu", "g4dn.2xlarge", CapacityType::Spot, "a"}, clock.wallNow()));
  u.mark({"cpu", "", CapacityType::Spot, ""}, clock.wallNow(), "quota");
  EXPECT_TRUE(u.unavailable({"cpu", "m5.large", CapacityType::Spot, "b"}, clock.wallNow()));
  clock.advance(3min - 1ms);
  EXPECT_TRUE(u.unavailable(spotT4, clock.wallNow()));
  EXPECT_EQ(u.active(clock.wallNow()).size(), 2u);
  clock.advance(1ms);
  EXPECT_FALSE(u.unavailable(spotT4, clock.wallNow()));
  EXPECT_EQ(u.expire(clock.wallNow()), 0u);
}

TEST(Interruptions, RecognisesConfiguredNoticeTaints) {
  std::vector<NodeTaint> taints{{"node.kubernetes.io/unschedulable", "", placement::TaintEffect::NoSchedule},
                                {"aws-node-termination-handler/spot-itn", "x", placement::TaintEffect::NoSchedule}};
  auto n = findInterruptionNotice(taints, defaultInterruptionTaints());
  ASSERT_TRUE(n);
  EXPECT_EQ(n->key, "aws-node-termination-handler/spot-itn");
  EXPECT_FALSE(findInterruptionNotice(taints, {"cloud.google.com/impending-node-termination"}));
  // Karpenter's disruption taint marks consolidation too: not a notice.
  EXPECT_FALSE(findInterruptionNotice({{"karpenter.sh/disrupted", "", placement::TaintEffect::NoSchedule}},
                                      defaultInterruptionTaints()));
}

TEST(Interruptions, ThresholdStartsCoolOffThatEnds) {
  kube::ManualClock clock;
  InterruptionTracker t({10min, 3, 30min});
  EXPECT_FALSE(t.record("spot", "m5.large", clock.wallNow()));
  clock.advance(1min);
  EXPECT_FALSE(t.record("spot", "c5.large", clock.wallNow()));
  EXPECT_EQ(t.count("spot", "m5.large", clock.wallNow()), 1);
  EXPECT_EQ(t.count("spot", clock.wallNow()), 2);
  EXPECT_FALSE(t.inCoolOff("spot", clock.wallNow()));
  clock.advance(1min);
  EXPECT_TRUE(t.record("spot", "m5.large", clock.wallNow()));
  EXPECT_TRUE(t.inCoolOff("spot", clock.wallNow()));
  EXPECT_FALSE(t.inCoolOff("other", clock.wallNow()));
  EXPECT_DOUBLE_EQ(t.ratePerHour("spot", clock.wallNow()), 18.0);  // 3 per 10 minutes
  clock.advance(30min);
  EXPECT_FALSE(t.inCoolOff("spot", clock.wallNow()));
  EXPECT_EQ(t.count("spot", clock.wallNow()), 0);
}

TEST(Interruptions, OldEventsLeaveTheWindow) {
  kube::ManualClock clock;
  InterruptionTracker t({10min, 3, 30min});
  t.record("spot", "m5.large", clock.wallNow());
  t.record("spot", "m5.large", clock.wallNow());
  clock.advance(10min);
  EXPECT_FALSE(t.record("spot", "m5.large", clock.wallNow()));
  EXPECT_EQ(t.count("spot", clock.wallNow()), 1);
}

NodeRequest request(std::string name, std::string type, CapacityType ct) {
  NodeRequest r;
  r.nodeName = std::move(name);
  r.pool = "p";
  r.instanceType = std::move(type);
  r.capacityType = ct;
  return r;
}

TEST(InMemoryProvider, FaultKnobsGiveTypedErrors) {
  kube::ManualClock clock;
  InMemoryProvider p(clock);
  p.setCapacityUnavailable("m5.large", CapacityType::Spot, true);
  auto ice = p.create(request("n1", "m5.large", CapacityType::Spot));
  ASSERT_FALSE(ice.ok());
  EXPECT_EQ(providerErrorKind(ice.error()), ProviderErrorKind::InsufficientCapacity);
  ASSERT_TRUE(p.create(request("n1", "m5.large", CapacityType::OnDemand)).ok());
  p.setQuota(1);
  auto quota = p.create(request("n2", "m5.large", CapacityType::OnDemand));
  ASSERT_FALSE(quota.ok());
  EXPECT_EQ(providerErrorKind(quota.error()), ProviderErrorKind::Quota);
  p.setQuota(-1);
  p.failNextCreates(1, makeError("io", "boom"));
  auto other = p.create(request("n2", "m5.large", CapacityType::OnDemand));
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(providerErrorKind(other.error()), ProviderErrorKind::Other);
  ASSERT_TRUE(p.create(request("n2", "m5.large", CapacityType::OnDemand)).ok());
  EXPECT_EQ(p.liveNodes(), 2u);
  EXPECT_EQ(p.createRequests().size(), 5u);
  ASSERT_TRUE(p.remove({"n1", "p", {}}).ok());
  ASSERT_TRUE(p.remove({"n1", "p", {}}).ok());  // already gone is fine
  EXPECT_EQ(p.removed(), (std::vector<std::string>{"n1"}));
  EXPECT_EQ(p.list()->size(), 1u);
}

}  // namespace
}  // namespace spotfit::scaler

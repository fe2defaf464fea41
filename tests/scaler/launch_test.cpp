// Scaler::launch (launch.cpp), the one launch step of every scale-up path: how a failure is classified
// and which offerings it marks unavailable, and the in-flight node it builds.

#include <gtest/gtest.h>

#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;

NodePool zonedPool() {
  NodePool p = m5Pool("batch");
  p.zones = {"us-east-1a", "us-east-1b"};
  return p;
}

LaunchSpec spec(CapacityType ct = CapacityType::Spot) {
  return {"batch", "m5.large", ct, std::nullopt, nullptr, {}, {"team/p1"}, {}};
}

TEST(Launch, BuildsTheInFlightNodeInTheFirstAvailableZone) {
  Env env;
  env.config.nodePools = {zonedPool()};
  Scaler& s = env.start();
  ClusterPod gpuPod = pendingPod("g", 500, 512, 1);
  LaunchSpec in = spec();
  in.labels["spotfit.io/gang"] = "g1";
  in.pods = {&gpuPod.info};
  LaunchResult r = s.launch(in, env.clock.wallNow());
  ASSERT_TRUE(r) << r.failure.message;
  EXPECT_EQ(r.node->zone, "us-east-1a");
  EXPECT_EQ(r.node->name, r.requestedName);
  EXPECT_EQ(r.node->model.name, r.node->name);
  EXPECT_EQ(r.node->model.labels.at("spotfit.io/gang"), "g1");
  EXPECT_EQ(r.node->podKeys, std::vector<std::string>{"team/p1"});
  EXPECT_EQ(r.node->extendedRequested.count(kResourceGpu), 1u);
  EXPECT_EQ(r.offering, "batch/m5.large/spot/us-east-1a");
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.provider.createRequests()[0].labels.at("spotfit.io/gang"), "g1");
  EXPECT_TRUE(s.inFlight().empty());  // the caller tracks it
}

TEST(Launch, InsufficientCapacityMarksThatOfferingInThatZoneOnly) {
  Env env;
  env.config.nodePools = {zonedPool()};
  Scaler& s = env.start();
  const TimePoint now = env.clock.wallNow();
  env.provider.setCapacityUnavailable("m5.large", CapacityType::Spot, true);
  LaunchResult r = s.launch(spec(), now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.failure.kind, LaunchFailureKind::ProviderError);
  EXPECT_EQ(r.failure.providerKind, ProviderErrorKind::InsufficientCapacity);
  EXPECT_NE(r.failure.message.find("create batch/m5.large/spot/us-east-1a failed (insufficient_capacity)"),
            std::string::npos)
      << r.failure.message;
  const auto& u = s.unavailableOfferings();
  EXPECT_TRUE(u.unavailable({"batch", "m5.large", CapacityType::Spot, "us-east-1a"}, now));
  EXPECT_FALSE(u.unavailable({"batch", "m5.large", CapacityType::Spot, "us-east-1b"}, now));
  EXPECT_FALSE(u.unavailable({"batch", "m5.xlarge", CapacityType::Spot, "us-east-1a"}, now));
  // The next launch of that offering goes to the other zone; once both are marked there is no zone.
  LaunchResult second = s.launch(spec(), now);
  ASSERT_FALSE(second);
  EXPECT_TRUE(u.unavailable({"batch", "m5.large", CapacityType::Spot, "us-east-1b"}, now));
  LaunchResult third = s.launch(spec(), now);
  ASSERT_FALSE(third);
  EXPECT_EQ(third.failure.kind, LaunchFailureKind::NoZone);
  EXPECT_EQ(env.provider.createRequests().size(), 2u);  // no provider call without a zone
}

TEST(Launch, QuotaMarksThePoolsWholeCapacityType) {
  Env env;
  env.config.nodePools = {zonedPool()};
  Scaler& s = env.start();
  const TimePoint now = env.clock.wallNow();
  env.provider.setQuota(0);
  LaunchResult r = s.launch(spec(), now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.failure.kind, LaunchFailureKind::ProviderError);
  EXPECT_EQ(r.failure.providerKind, ProviderErrorKind::Quota);
  EXPECT_TRUE(s.unavailableOfferings().unavailable({"batch", "m5.xlarge", CapacityType::Spot, "us-east-1b"}, now));
  EXPECT_FALSE(s.unavailableOfferings().unavailable({"batch", "m5.large", CapacityType::OnDemand, "us-east-1a"}, now));
}

TEST(Launch, OtherProviderErrorsPauseThePoolsCapacityTypeFor30Seconds) {
  Env env;
  env.config.nodePools = {zonedPool()};
  Scaler& s = env.start();
  const TimePoint now = env.clock.wallNow();
  env.provider.failNextCreates(1, makeError("boom", "API down"));
  LaunchResult r = s.launch(spec(CapacityType::OnDemand), now);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.failure.kind, LaunchFailureKind::ProviderError);
  EXPECT_EQ(r.failure.providerKind, ProviderErrorKind::Other);
  EXPECT_EQ(r.failure.providerMessage, "API down");
  const auto& u = s.unavailableOfferings();
  EXPECT_TRUE(u.unavailable({"batch", "m5.xlarge", CapacityType::OnDemand, "us-east-1a"}, now + 29s));
  EXPECT_FALSE(u.unavailable({"batch", "m5.xlarge", CapacityType::OnDemand, "us-east-1a"}, now + 31s));
  EXPECT_FALSE(u.unavailable({"batch", "m5.large", CapacityType::Spot, "us-east-1a"}, now));
}

TEST(Launch, CostLimitPoolGoneAndNoProviderFailWithoutCallingTheProvider) {
  Env env;
  NodePool capped = zonedPool();
  capped.limits.costPerHour = 0.10;  // one m5.large on-demand (0.096) fits, two do not
  env.config.nodePools = {capped};
  Scaler& s = env.start();
  const TimePoint now = env.clock.wallNow();
  LaunchResult first = s.launch(spec(CapacityType::OnDemand), now);
  ASSERT_TRUE(first) << first.failure.message;
  std::vector<placement::NodeInfo> basis = {first.node->model};
  LaunchSpec again = spec(CapacityType::OnDemand);
  again.costBasis = &basis;
  LaunchResult over = s.launch(again, now);
  ASSERT_FALSE(over);
  EXPECT_EQ(over.failure.kind, LaunchFailureKind::CostLimit);
  EXPECT_NE(over.failure.message.find("would exceed its cost limit"), std::string::npos);
  LaunchSpec gone = spec();
  gone.pool = "nope";
  EXPECT_EQ(s.launch(gone, now).failure.kind, LaunchFailureKind::PoolGone);
  LaunchSpec unknownType = spec();
  unknownType.instanceType = "x9.huge";
  EXPECT_EQ(s.launch(unknownType, now).failure.kind, LaunchFailureKind::NoProvider);
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_TRUE(s.unavailableOfferings().active(now).empty());
}

}  // namespace
}  // namespace spotfit::scaler

// Spot offerings chosen by interruption risk in the scaler: the per-offering history (exposure and
// interruptions, decayed, bounded, persisted), the pool's spotRisk settings, and scale-up choosing the
// less interrupted offering when the expected lost work outweighs the price gap.

#include "scaler/offering_risk.hpp"

#include <gtest/gtest.h>

#include "scaler/scaler_fixture.hpp"
#include "scaler/scaler_state.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

const TimePoint kT0 = TimePoint{} + std::chrono::hours(24 * 365 * 50);

OfferingKey spotKey(const std::string& type, const std::string& zone = "z1") {
  return {"batch", type, CapacityType::Spot, zone};
}

TEST(OfferingRisk, LearnsExposureAndInterruptionsPerOffering) {
  OfferingRisk risk;
  risk.observe({}, kT0);  // the first observation only starts the clock
  for (int i = 1; i <= 12; ++i) {
    risk.observe({spotKey("a", "z1"), spotKey("a", "z2"), spotKey("b")}, kT0 + i * 5min);
  }
  risk.recordInterruption(spotKey("a", "z2"), kT0 + 1h);
  const auto a = risk.history("batch", "a", kT0 + 1h);  // summed over both zones
  EXPECT_NEAR(a.exposureHours, 2.0, 0.03);              // the first hours have decayed by up to 3% (24 h half-life)
  EXPECT_NEAR(a.interruptions, 1.0, 1e-9);
  const auto b = risk.history("batch", "b", kT0 + 1h);
  EXPECT_NEAR(b.exposureHours, a.exposureHours / 2, 1e-9);
  EXPECT_EQ(b.interruptions, 0);
  // A day later both have halved.
  EXPECT_NEAR(risk.history("batch", "a", kT0 + 25h).exposureHours, a.exposureHours / 2, 1e-9);
  EXPECT_NEAR(risk.history("batch", "a", kT0 + 25h).interruptions, 0.5, 1e-9);
}

TEST(OfferingRisk, AnObservationGapAddsAtMostFiveMinutes) {
  OfferingRisk risk;
  risk.observe({spotKey("a")}, kT0);
  risk.observe({spotKey("a")}, kT0 + 3h);  // a pause: its interruptions were not seen either
  EXPECT_NEAR(risk.history("batch", "a", kT0 + 3h).exposureHours, 5.0 / 60, 1e-6);
}

TEST(OfferingRisk, SpotRatesUseThePoolPrior) {
  OfferingRisk risk;
  NodePool p = pool("batch", {CapacityType::Spot}, {type("a", 2000, 8, 0.1, 0.03), type("od", 2000, 8, 0.1, 0)});
  p.spotRisk.priorInterruptionsPerHour = 0.05;
  p.spotRisk.priorWeight = 10h;
  auto rates = risk.spotRates(p, kT0);
  EXPECT_EQ(rates.count("od"), 0u);  // not offered as spot
  EXPECT_DOUBLE_EQ(rates.at("a"), 0.05);
  risk.observe({}, kT0);
  for (int i = 1; i <= 120; ++i) risk.observe({spotKey("a")}, kT0 + i * 5min);  // 10 node-hours
  for (int i = 0; i < 4; ++i) risk.recordInterruption(spotKey("a"), kT0 + 10h);
  const double exposure = risk.history("batch", "a", kT0 + 10h).exposureHours;  // 10 h, decayed: about 8.6
  EXPECT_NEAR(exposure, 8.6, 0.1);
  EXPECT_NEAR(risk.spotRates(p, kT0 + 10h).at("a"), (0.5 + 4) / (10 + exposure), 1e-9);
}

TEST(OfferingRisk, BoundedToMaxOfferings) {
  OfferingRisk risk;
  for (size_t i = 0; i < OfferingRisk::kMaxOfferings + 100; ++i) {
    risk.recordInterruption(spotKey("t" + std::to_string(i)), kT0 + std::chrono::seconds(i));
  }
  EXPECT_EQ(risk.size(), OfferingRisk::kMaxOfferings);
  EXPECT_LE(risk.records().size(), OfferingRisk::kMaxOfferings);
}

TEST(OfferingRisk, PersistsThroughTheScalerMemory) {
  OfferingRisk risk;
  risk.observe({}, kT0);
  for (int i = 1; i <= 12; ++i) risk.observe({spotKey("a")}, kT0 + i * 5min);
  risk.recordInterruption(spotKey("a"), kT0 + 1h);
  ScalerMemory m;
  m.offeringRisk = risk.records();
  ASSERT_EQ(m.offeringRisk.size(), 1u);
  auto back = ScalerMemory::fromJson(m.toJson());
  ASSERT_TRUE(back.ok()) << back.error().message;
  OfferingRisk restored;
  for (const auto& r : back->offeringRisk) restored.restore(r, kT0 + 25h);
  const auto h = restored.history("batch", "a", kT0 + 25h);
  const auto was = risk.history("batch", "a", kT0 + 1h);
  EXPECT_NEAR(h.exposureHours, was.exposureHours / 2, 1e-6);  // decayed across the day the state was stored
  EXPECT_NEAR(h.interruptions, 0.5, 1e-6);
  // Malformed entries reject the document.
  for (const char* bad : {R"({"version":1,"offeringRisk":{}})",
                          R"({"version":1,"offeringRisk":[{"pool":"p","capacityType":"spot","atMs":1}]})",
                          R"({"version":1,"offeringRisk":[{"pool":"p","capacityType":"spot","atMs":1,)"
                          R"("interruptions":-1,"exposureHours":1}]})"}) {
    EXPECT_FALSE(ScalerMemory::fromJson(bad).ok()) << bad;
  }
}

TEST(OfferingRisk, RecordsChangeOnInterruptionsAndOtherwiseAtMostEveryTenMinutes) {
  OfferingRisk risk;
  risk.observe({}, kT0);
  risk.observe({spotKey("a")}, kT0 + 1min);
  EXPECT_TRUE(risk.records().empty());
  risk.observe({spotKey("a")}, kT0 + 10min);
  EXPECT_EQ(risk.records().size(), 1u);
  const double before = risk.records()[0].exposureHours;
  risk.observe({spotKey("a")}, kT0 + 11min);
  EXPECT_EQ(risk.records()[0].exposureHours, before);
  risk.recordInterruption(spotKey("a"), kT0 + 12min);
  EXPECT_EQ(risk.records()[0].interruptions, 1);
}

TEST(OfferingRisk, SpotRiskSettingsParse) {
  auto cfg = parseScalerConfig(R"(scaler:
  nodePools:
    - name: a
      capacityTypes: [spot]
      provider: {type: memory}
      instanceTypes: [{name: m, cpu: 1, memory: 1Gi, onDemandPrice: 1, spotPrice: 0.3}]
      spotRisk: {enabled: true, priorInterruptionsPerHour: 0.05, priorWeight: 20h, resumableLostWork: 0.2,
                 defaultRuntime: 30m, maxOfferingShare: 0.5, maxSpreadPremium: 0.25}
)");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  const SpotRiskSettings& s = cfg->nodePools.at(0).spotRisk;
  EXPECT_TRUE(s.enabled);
  EXPECT_DOUBLE_EQ(s.priorInterruptionsPerHour, 0.05);
  EXPECT_EQ(s.priorWeight, 20h);
  EXPECT_DOUBLE_EQ(s.resumableLostWork, 0.2);
  EXPECT_EQ(s.defaultRuntime, 30min);
  EXPECT_DOUBLE_EQ(s.maxOfferingShare, 0.5);
  EXPECT_DOUBLE_EQ(s.maxSpreadPremium, 0.25);
  for (const char* bad : {"maxOfferingShare: 0", "maxOfferingShare: 1.5", "resumableLostWork: 2", "surprise: 1"}) {
    auto c = parseScalerConfig(std::string("scaler:\n  nodePools:\n    - name: a\n      spotRisk: {") + bad + "}\n");
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.error().message.find("spotRisk"), std::string::npos) << c.error().message;
  }
}

TEST(OfferingRisk, SpotRiskInputOnlyForEnabledPools) {
  OfferingRisk risk;
  JobHistory history;
  NodePool p = pool("batch", {CapacityType::Spot}, {type("a", 2000, 8, 0.1, 0.03)});
  std::vector<placement::PodInfo> pods = {pendingPod("x", 100, 100).info, pendingPod("y", 100, 100).info};
  pods[0].annotations["spotfit.io/expected-duration"] = "90m";
  EXPECT_FALSE(spotRiskInput(pods, {{&p, {}}}, risk, history, kT0));
  p.spotRisk.enabled = true;
  p.spotRisk.priorInterruptionsPerHour = 0.2;
  p.spotRisk.maxOfferingShare = 0.6;
  auto in = spotRiskInput(pods, {{&p, {}}}, risk, history, kT0);
  ASSERT_TRUE(in);
  EXPECT_DOUBLE_EQ(in->spotRates.at({"batch", "a"}), 0.2);
  EXPECT_EQ(in->runtimeHours, (std::vector<double>{1.5, 0}));  // y: unknown, the pool's default applies
  EXPECT_DOUBLE_EQ(in->defaultRuntimeHours, 1);
  EXPECT_DOUBLE_EQ(in->maxOfferingShare, 0.6);
}

// Two spot types of one shape: "cheap" 0.030/h, "calm" 0.034/h. One interruption of a "cheap" node after an
// hour gives it a rate of 1 / (10 h prior weight + 1 h) ≈ 0.09/h: a pod expected to run 4 h without a
// checkpoint then costs more on "cheap" (0.030 × 1.18) than on "calm".
NodePool riskPool(bool enabled) {
  NodePool p = pool("batch", {CapacityType::Spot, CapacityType::OnDemand},
                    {type("cheap", 2000, 8, 0.096, 0.030), type("calm", 2000, 8, 0.096, 0.034)});
  p.spotRisk.enabled = enabled;
  return p;
}

std::string launchAfterAnInterruption(bool enabled) {
  Env env;
  env.config.nodePools = {riskPool(enabled)};
  env.start();
  env.cluster.addNode(riskPool(enabled), "s1", CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("work", 1500, 1024), "s1");
  env.runFor(1h, 1min, /*materialize=*/false);
  env.cluster.interruptionNotice("s1");
  env.reconcile();
  EXPECT_EQ(env.scaler->offeringRisk().history("batch", "cheap", env.clock.wallNow()).interruptions, 1);
  // The replacement comes up and takes the evicted pod back.
  if (env.provider.createRequests().size() != 1u) {
    ADD_FAILURE() << "expected one replacement, got " << env.provider.createRequests().size();
    return "";
  }
  env.cluster.removeNode("s1");
  env.cluster.materialize(env.provider);
  env.cluster.bind("work", env.provider.createRequests().back().nodeName, env.clock.wallNow());
  const size_t before = env.provider.createRequests().size();
  ClusterPod long4h = pendingPod("long", 1500, 1024);
  long4h.info.annotations["spotfit.io/expected-duration"] = "4h";
  env.cluster.snapshot.pods.push_back(long4h);
  env.closeBatch();
  const auto reqs = env.provider.createRequests();
  EXPECT_EQ(reqs.size(), before + 1);
  return reqs.empty() ? "" : reqs.back().instanceType;
}

TEST(OfferingRisk, ScaleUpAvoidsTheOfferingWhoseInterruptionsCostMoreThanTheSaving) {
  EXPECT_EQ(launchAfterAnInterruption(/*enabled=*/false), "cheap");
  EXPECT_EQ(launchAfterAnInterruption(/*enabled=*/true), "calm");
}

}  // namespace
}  // namespace spotfit::scaler

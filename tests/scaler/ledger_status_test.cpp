// The loop's cost ledger (rates from the placement cost model, durable across restarts), NodePool status
// and events for CRD pools, and the metric names the monitoring manifests rely on.

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

#include "placement/cost.hpp"
#include "scaler/scaler_fixture.hpp"
#include "test_paths.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp

NodePool spotPool() {
  return pool("spot", {CapacityType::Spot, CapacityType::OnDemand}, {type("m5.xlarge", 4000, 16, 0.192, 0.07)});
}

TEST(Ledger, ChargesPodsTheirShareOfTheNodePrice) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.start();
  env.cluster.addNode(spotPool(), "s1", CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("a", 2000, 8192), "s1");
  env.reconcile();
  env.clock.advance(2h);
  env.reconcile();
  const auto req = placement::podRequests(env.cluster.pod("a").info);
  const double rate = placement::podCostRateOnNode(req, env.cluster.node("s1").info);
  ASSERT_GT(rate, 0);
  EXPECT_NEAR(rate, 0.035, 1e-6);  // half the node's cpu and memory: half its 0.07 USD/h
  EXPECT_NEAR(env.scaler->workflowSpend("team", "train"), 2 * rate, 1e-9);
  EXPECT_NEAR(env.scaler->ledger().spotSavings(env.clock.wallNow()), 2 * (0.096 - 0.035), 1e-9);
  EXPECT_NEAR(env.scaler->metrics().gauge(metric::kWorkflowCost, {{"namespace", "team"}, {"workflow", "train"}}),
              2 * rate, 1e-9);
  EXPECT_NEAR(env.scaler->metrics().gauge(metric::kCostPerHour, {}), rate, 1e-9);
  // Terminated: no more charges.
  env.cluster.pod("a").info.phase = placement::PodPhase::Succeeded;
  env.cluster.pod("a").finishedAt = env.clock.wallNow();
  env.clock.advance(1h);
  env.reconcile();
  EXPECT_NEAR(env.scaler->workflowSpend("team", "train"), 2 * rate, 1e-9);
}

TEST(Ledger, SurvivesARestartOfTheScaler) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.config.ledgerFlushInterval = 30s;
  env.start();
  env.cluster.addNode(spotPool(), "s1", CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("a", 4000, 16384), "s1");  // the whole node: 0.07 USD/h
  env.reconcile();
  for (int i = 0; i < 120; ++i) {
    env.clock.advance(30s);
    env.reconcile();
  }
  EXPECT_GE(env.store.saves(), 120);
  const double before = env.scaler->workflowSpend("team", "train");
  EXPECT_NEAR(before, 0.07, 1e-9);
  // Failover: a new leader starts 10 minutes later from the stored ledger; the pod kept running.
  env.scaler.reset();
  env.clock.advance(10min);
  env.start();
  ASSERT_TRUE(env.scaler->loadLedger().ok());
  env.reconcile();
  EXPECT_NEAR(env.scaler->workflowSpend("team", "train"), 0.07 * (1 + 10.0 / 60), 1e-9);
}

TEST(Ledger, CorruptStoreStartsEmptyWithAnError) {
  Env env;
  env.start();
  ASSERT_TRUE(env.store.save("{not json").ok());
  auto st = env.scaler->loadLedger();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, "invalid");
  EXPECT_EQ(env.scaler->ledger().runningPods(), 0u);
}

TEST(NodePoolStatus, InvalidObjectReportedInStatusAndEventOnce) {
  Env env;
  env.start();
  auto parsed = parseNodePoolObject(R"({"kind":"SpotfitPool","metadata":{"name":"bad","generation":2},
    "spec":{"capacityTypes":["spot"],"provider":{"type":"memory"},
            "instanceTypes":[{"name":"m5.large","cpu":"2","memory":"8Gi","onDemandPrice":0.1}]}})");
  ASSERT_TRUE(parsed.ok());
  ASSERT_FALSE(parsed->valid());
  env.scaler->upsertPoolObject(*parsed);
  env.scaler->upsertPoolObject(*parsed);
  EXPECT_EQ(env.actions.count("InvalidSpec"), 1);
  ASSERT_TRUE(env.actions.find("InvalidSpec"));
  EXPECT_EQ(env.actions.find("InvalidSpec")->object.kind, "SpotfitPool");  // the CRD's kind, not Karpenter's NodePool
  EXPECT_EQ(env.actions.find("InvalidSpec")->object.name, "bad");
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.closeBatch();
  EXPECT_TRUE(env.provider.createRequests().empty());  // an invalid pool is never used
  const auto& status = env.actions.statuses.at("bad");
  EXPECT_NE(status.find(R"("type":"Valid","status":"False","reason":"InvalidSpec")"), std::string::npos) << status;
  EXPECT_NE(status.find("no instance type has a spotPrice"), std::string::npos) << status;
  EXPECT_NE(status.find(R"("observedGeneration":2)"), std::string::npos);
}

TEST(NodePoolStatus, ValidObjectStatusCountsNodesAndIsWrittenOnlyOnChange) {
  Env env;
  env.start();
  auto parsed = parseNodePoolObject(R"({"kind":"SpotfitPool","metadata":{"name":"crd","generation":1},
    "spec":{"capacityTypes":["on-demand"],"provider":{"type":"memory"},
            "instanceTypes":[{"name":"m5.large","cpu":"2","memory":"8Gi","onDemandPrice":0.1}]}})");
  ASSERT_TRUE(parsed.ok() && parsed->valid());
  env.scaler->upsertPoolObject(*parsed);
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  auto status = env.actions.statuses.at("crd");
  EXPECT_NE(status.find(R"("nodes":{"total":1,"ready":0,"launching":1,"draining":0,"interrupted":0})"),
            std::string::npos)
      << status;
  EXPECT_NE(status.find(R"("desiredNodes":1)"), std::string::npos);
  EXPECT_NE(status.find(R"("lastScaleUpTime":")"), std::string::npos);
  EXPECT_NE(status.find(R"("type":"Valid","status":"True")"), std::string::npos);
  const int writes = env.actions.statusWrites;
  env.clock.advance(100ms);
  env.reconcile();
  EXPECT_EQ(env.actions.statusWrites, writes);
  // serve re-reads every NodePool object each pass: an unchanged object must not rewrite the status.
  env.clock.advance(5s);
  env.scaler->upsertPoolObject(*parsed);
  env.reconcile();
  EXPECT_EQ(env.actions.statusWrites, writes);
  env.cluster.materialize(env.provider);
  env.clock.advance(100ms);
  env.reconcile();
  EXPECT_EQ(env.actions.statusWrites, writes + 1);
  EXPECT_NE(env.actions.statuses.at("crd").find(R"("ready":1)"), std::string::npos);
  // Deleting the object drops the pool.
  env.scaler->removePoolObject("crd");
  env.cluster.snapshot.pods.push_back(pendingPod("b", 1900, 512));
  env.clock.advance(1s);
  env.closeBatch();
  EXPECT_EQ(env.provider.createRequests().size(), 1u);
}

TEST(NodePoolStatus, ConfigPoolWinsOverAnObjectOfTheSameName) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.start();
  auto parsed = parseNodePoolObject(R"({"kind":"SpotfitPool","metadata":{"name":"spot"},
    "spec":{"capacityTypes":["on-demand"],"provider":{"type":"memory"},
            "instanceTypes":[{"name":"tiny","cpu":"1","memory":"1Gi","onDemandPrice":0.01}]}})");
  ASSERT_TRUE(parsed.ok());
  env.scaler->upsertPoolObject(*parsed);
  EXPECT_EQ(env.actions.count("DuplicatePool"), 1);
  env.cluster.snapshot.pods.push_back(pendingPod("a", 500, 512));
  env.closeBatch();
  ASSERT_EQ(env.provider.createRequests().size(), 1u);
  EXPECT_EQ(env.provider.createRequests()[0].instanceType, "m5.xlarge");
}

TEST(Metrics, NodeStatesAndUtilizationPerPool) {
  Env env;
  env.config.nodePools = {spotPool()};
  env.start();
  env.cluster.addNode(spotPool(), "s1", CapacityType::Spot, env.clock.wallNow());
  env.runPod(pendingPod("a", 1000, 4096), "s1");
  env.cluster.snapshot.pods.push_back(pendingPod("p", 3500, 128));  // does not fit next to "a"
  env.reconcile();
  const auto& m = env.scaler->metrics();
  EXPECT_EQ(m.gauge(metric::kNodes, {{"pool", "spot"}, {"state", "ready"}, {"capacity_type", "spot"}}), 1);
  EXPECT_DOUBLE_EQ(m.gauge(metric::kPoolUtilization, {{"pool", "spot"}, {"resource", "cpu"}}), 0.25);
  EXPECT_DOUBLE_EQ(m.gauge(metric::kPoolUtilization, {{"pool", "spot"}, {"resource", "memory"}}), 0.25);
  EXPECT_EQ(m.gauge(metric::kUnschedulablePods, {}), 1);
  EXPECT_EQ(m.gauge(metric::kDesiredNodes, {{"pool", "spot"}}), 1);
  env.clock.advance(1s);
  env.reconcile();
  EXPECT_EQ(env.scaler->metrics().counterSum(metric::kProviderRequests), 1);
  EXPECT_EQ(env.scaler->metrics().takeLatencies().size(), 1u);
}

std::string readFile(const std::string& rel) {
  std::ifstream in(spotfit::testpaths::sourceDir() + "/" + rel);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(Metrics, MonitoringManifestsUseExportedNames) {
  auto names = allMetricNames();
  std::set<std::string> known(names.begin(), names.end());
  for (const char* file : {"manifests/monitoring/prometheusrule.yaml", "manifests/monitoring/grafana-dashboard.json"}) {
    const std::string text = readFile(file);
    ASSERT_FALSE(text.empty()) << file;
    std::regex re("spotfit_[a-z_]+");
    int checked = 0;
    for (auto it = std::sregex_iterator(text.begin(), text.end(), re); it != std::sregex_iterator(); ++it) {
      std::string n = it->str();
      // The serving shell's and the webhook's names are not the scaler's: e2e_install_run checks every name
      // against a running spotfit's /metrics.
      bool other = false;
      for (const char* prefix : {"spotfit_http_", "spotfit_extender_", "spotfit_webhook_", "spotfit_tls_"}) {
        other = other || n.rfind(prefix, 0) == 0;
      }
      if (other) continue;
      for (const char* suffix : {"_bucket", "_count", "_sum"}) {
        if (n.size() > strlen(suffix) && n.compare(n.size() - strlen(suffix), strlen(suffix), suffix) == 0) {
          n.resize(n.size() - strlen(suffix));
        }
      }
      EXPECT_TRUE(known.count(n)) << file << " uses unknown metric " << n;
      ++checked;
    }
    EXPECT_GT(checked, 5) << file;
  }
}

}  // namespace
}  // namespace spotfit::scaler

// Cost for every node: the price table prices nodes spotfit did not create from the well-known labels,
// the ledger charges their pods, and nodes nobody prices are counted and logged once, not charged as zero.

#include "scaler/price_table.hpp"

#include <gtest/gtest.h>

#include "placement/cost.hpp"
#include "scaler/scaler_fixture.hpp"

namespace spotfit::scaler {
namespace {

using namespace std::chrono_literals;
using namespace testing;  // Env, Cluster and the builders of scaler_fixture.hpp
using placement::CapacityType;

PriceTable table() {
  return PriceTable({
      {"m5.large", CapacityType::OnDemand, "", 0.096},
      {"m5.large", CapacityType::Spot, "", 0.04},
      {"m5.large", CapacityType::Spot, "us-east-1a", 0.035},
      {"m5.large", std::nullopt, "eu-west-1a", 0.11},
      {"n2-standard-4", std::nullopt, "", 0.19},
  });
}

TEST(PriceTable, MostSpecificRowWinsForEveryProvidersLabels) {
  const PriceTable t = table();
  auto price = [&](placement::Labels labels) {
    auto p = t.priceOf(labels);
    return p ? p->usdPerHour : -1.0;
  };
  const std::string type = "node.kubernetes.io/instance-type";
  EXPECT_DOUBLE_EQ(price({{type, "m5.large"}}), 0.096) << "no capacity-type label: on-demand";
  EXPECT_DOUBLE_EQ(price({{type, "m5.large"}, {"karpenter.sh/capacity-type", "spot"}}), 0.04);
  EXPECT_DOUBLE_EQ(
      price(
          {{type, "m5.large"}, {"karpenter.sh/capacity-type", "spot"}, {"topology.kubernetes.io/zone", "us-east-1a"}}),
      0.035);
  EXPECT_DOUBLE_EQ(price({{type, "m5.large"}, {"eks.amazonaws.com/capacityType", "SPOT"}}), 0.04);
  EXPECT_DOUBLE_EQ(price({{type, "m5.large"}, {"eks.amazonaws.com/capacityType", "ON_DEMAND"}}), 0.096);
  EXPECT_DOUBLE_EQ(price({{type, "m5.large"}, {"kubernetes.azure.com/scalesetpriority", "spot"}}), 0.04);
  EXPECT_DOUBLE_EQ(price({{type, "m5.large"}, {"kubernetes.azure.com/scalesetpriority", "regular"}}), 0.096);
  EXPECT_DOUBLE_EQ(price({{type, "n2-standard-4"}, {"cloud.google.com/gke-spot", "true"}}), 0.19);
  EXPECT_DOUBLE_EQ(price({{type, "m5.large"},
                          {"karpenter.sh/capacity-type", "on-demand"},
                          {"topology.kubernetes.io/zone", "eu-west-1a"}}),
                   0.096)
      << "capacity type is more specific than zone";
  EXPECT_DOUBLE_EQ(
      price(
          {{type, "m5.large"}, {"topology.kubernetes.io/zone", "eu-west-1a"}, {"karpenter.sh/capacity-type", "spot"}}),
      0.04);
  EXPECT_EQ(price({{type, "c5.9xlarge"}}), -1.0) << "not in the table";
  EXPECT_EQ(price({}), -1.0) << "no instance type";
  // Karpenter kwok / eks-node-viewer price on the node wins; garbage there is ignored.
  EXPECT_DOUBLE_EQ(price({{"eks-node-viewer/instance-price", "0.5"}}), 0.5);
  EXPECT_DOUBLE_EQ(price({{type, "m5.large"}, {"eks-node-viewer/instance-price", "nan"}}), 0.096);
  EXPECT_DOUBLE_EQ(price({{type, "m5.large"}, {"eks-node-viewer/instance-price", "-1"}}), 0.096);
  auto spot = t.priceOf({{type, "m5.large"}, {"karpenter.sh/capacity-type", "spot"}});
  ASSERT_TRUE(spot);
  EXPECT_DOUBLE_EQ(spot->onDemandUsdPerHour, 0.096) << "for spot savings";
}

ClusterNode& foreignNode(Env& env, const std::string& name, placement::Labels labels) {
  ClusterNode n;
  n.info.name = name;
  n.info.labels = std::move(labels);
  n.info.allocatable.cpuMilli = 2000;
  n.info.allocatable.memory = 8LL << 30;
  n.info.allocatable.set("pods", 110);
  placement::deriveFromLabels(n.info);
  n.ready = true;
  n.created = env.clock.wallNow();
  env.cluster.snapshot.nodes.push_back(std::move(n));
  return env.cluster.snapshot.nodes.back();
}

TEST(PriceTable, LedgerChargesPodsOnKarpenterNodesAndReportsUnpricedOnes) {
  Env env;
  env.config.priceTable = {{"m5.large", CapacityType::Spot, "", 0.04}, {"m5.large", CapacityType::OnDemand, "", 0.096}};
  env.start();
  foreignNode(env, "karp-1",
              {{"node.kubernetes.io/instance-type", "m5.large"}, {"karpenter.sh/capacity-type", "spot"}});
  foreignNode(env, "mystery", {{"node.kubernetes.io/instance-type", "x9.huge"}});
  env.runPod(pendingPod("a", 2000, 8192), "karp-1");  // the whole node
  auto b = pendingPod("b", 1000, 1024);
  b.info.workflow = "other";
  env.runPod(b, "mystery");
  env.reconcile();
  env.clock.advance(2h);
  env.reconcile();
  EXPECT_NEAR(env.scaler->workflowSpend("team", "train"), 0.08, 1e-9);
  EXPECT_NEAR(env.scaler->ledger().spotSavings(env.clock.wallNow()), 2 * (0.096 - 0.04), 1e-9);
  EXPECT_EQ(env.scaler->metrics().gauge(metric::kUnpricedNodes, {}), 1);
  EXPECT_EQ(env.scaler->ledger().recordedSpend({"team", "other"}, env.clock.wallNow()), std::nullopt)
      << "not charged as zero";
  int logged = 0;
  for (const auto& line : env.logs)
    logged += line.find("node mystery has no price (instance type x9.huge") != std::string::npos;
  EXPECT_EQ(logged, 1) << "logged once over two passes";
  // Priced later (a config change is a restart): counted no more.
  env.cluster.removePod("b");
  env.reconcile();
  EXPECT_EQ(env.scaler->metrics().gauge(metric::kUnpricedNodes, {}), 0)
      << "a node without pods costs nothing to attribute";
}

TEST(PriceTable, ConfigRowsAndErrors) {
  auto cfg = parseScalerConfig(
      "scaler:\n  priceTable:\n    - {instanceType: m5.large, capacityType: spot, zone: us-east-1a, price: 0.035}\n"
      "    - {instanceType: m5.large, price: 0.096}\n");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  ASSERT_EQ(cfg->priceTable.size(), 2u);
  EXPECT_EQ(cfg->priceTable[0].capacityType, CapacityType::Spot);
  EXPECT_EQ(cfg->priceTable[0].zone, "us-east-1a");
  EXPECT_EQ(cfg->priceTable[1].capacityType, std::nullopt);
  EXPECT_DOUBLE_EQ(cfg->priceTable[1].usdPerHour, 0.096);
  for (const auto& [yaml, expect] : std::vector<std::pair<const char*, const char*>>{
           {"scaler:\n  priceTable:\n    - {instanceType: m5.large}\n",
            "scaler.priceTable[0].price (line 3): required"},
           {"scaler:\n  priceTable:\n    - {price: 1}\n", "scaler.priceTable[0].instanceType (line 3): required"},
           {"scaler:\n  priceTable:\n    - {instanceType: a, price: 1, capacityType: cheap}\n",
            "scaler.priceTable[0].capacityType (line 3): expected spot or on-demand"},
           {"scaler:\n  priceTable:\n    - {instanceType: a, price: -1}\n",
            "scaler.priceTable[0].price (line 3): must be between"},
           {"scaler:\n  priceTable:\n    - {instanceType: a, price: 1, region: x}\n",
            "scaler.priceTable[0].region (line 3): unknown field"},
           {"scaler:\n  priceTable: {a: 1}\n", "scaler.priceTable (line 2): expected a list"},
       }) {
    auto bad = parseScalerConfig(yaml);
    ASSERT_FALSE(bad.ok()) << yaml;
    EXPECT_NE(bad.error().message.find(expect), std::string::npos) << bad.error().message;
  }
}

}  // namespace
}  // namespace spotfit::scaler

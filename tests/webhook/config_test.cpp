#include "webhook/config.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <utility>

namespace spotfit::webhook {
namespace {

TEST(Config, DefaultsWithoutAWebhookSection) {
  auto c = parseWebhookConfigText("server:\n  httpsAddr: :8443\n");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->ownNamespace, "spotfit-system");
  EXPECT_EQ(c->affinity.capacityTypeLabel, "spotfit.io/capacity-type");
  ASSERT_EQ(c->tolerations.add.size(), 1u);
  EXPECT_EQ(c->tolerations.add[0].key, "spotfit.io/capacity-type");
  EXPECT_EQ(c->checkpoint.gracePeriodSeconds, 120);
  EXPECT_EQ(c->pdb.defaultMinAvailable, "50%");
  EXPECT_EQ(c->schedulerName, "") << "schedulerName is left alone unless configured";
}

TEST(Config, ReadsEverySetting) {
  auto c = parseWebhookConfigText(R"(
webhook:
  ownNamespace: spot-system
  excludedNamespaces: [kube-system, monitoring]
  requireNamespaceLabel: false
  maxBodyBytes: 1048576
  defaultCapacityType: on-demand
  tolerations:
    enabled: true
    add:
      - {key: karpenter.sh/capacity-type, operator: Equal, value: spot, effect: NoSchedule}
      - {key: cloud.google.com/gke-spot, operator: Equal, value: "true", effect: NoSchedule}
      - {key: kubernetes.azure.com/scalesetpriority, operator: Exists, effect: NoSchedule}
  affinity: {enabled: false, capacityTypeLabel: karpenter.sh/capacity-type, spotValue: SPOT, onDemandValue: ON_DEMAND, preferredWeight: 50, gpuProduct: false}
  rightSizing: {enabled: false}
  checkpoint: {enabled: true, command: "kill -USR1 1", gracePeriodSeconds: 90, skipContainers: [envoy]}
  labels: {enabled: false}
  pdb: {enabled: false, defaultMinAvailable: "2", minParallelism: 3}
  budgets: {enabled: false, refresh: 10s}
  schedulerName: spotfit
)");
  ASSERT_TRUE(c) << c.error().message;
  EXPECT_EQ(c->ownNamespace, "spot-system");
  EXPECT_EQ(c->excludedNamespaces, (std::vector<std::string>{"kube-system", "monitoring"}));
  EXPECT_FALSE(c->requireNamespaceLabel);
  EXPECT_EQ(c->maxBodyBytes, 1048576u);
  EXPECT_EQ(c->defaultCapacityType, CapacityType::OnDemand);
  ASSERT_EQ(c->tolerations.add.size(), 3u);
  EXPECT_EQ(c->tolerations.add[1].value, "true");
  EXPECT_EQ(c->tolerations.add[2].op, "Exists");
  EXPECT_FALSE(c->affinity.enabled);
  EXPECT_EQ(c->affinity.capacityTypeLabel, "karpenter.sh/capacity-type");
  EXPECT_EQ(c->affinity.spotValue, "SPOT");
  EXPECT_EQ(c->affinity.onDemandValue, "ON_DEMAND");
  EXPECT_EQ(c->affinity.preferredWeight, 50);
  EXPECT_FALSE(c->affinity.gpuProduct);
  EXPECT_FALSE(c->rightSizing.enabled);
  EXPECT_EQ(c->checkpoint.command, "kill -USR1 1");
  EXPECT_EQ(c->checkpoint.gracePeriodSeconds, 90);
  EXPECT_EQ(c->checkpoint.skipContainers, std::vector<std::string>{"envoy"});
  EXPECT_FALSE(c->labels.enabled);
  EXPECT_FALSE(c->pdb.enabled);
  EXPECT_EQ(c->pdb.defaultMinAvailable, "2");
  EXPECT_EQ(c->pdb.minParallelism, 3);
  EXPECT_FALSE(c->budgets.enabled);
  EXPECT_EQ(c->budgets.refresh, std::chrono::seconds(10));
  EXPECT_EQ(c->schedulerName, "spotfit");
}

struct Bad {
  const char* yaml;
  const char* message;
};

// Every case is refused with an error containing its message.
template <size_t N>
void expectRefused(const Bad (&cases)[N]) {
  for (const auto& c : cases) {
    auto r = parseWebhookConfigText(c.yaml);
    ASSERT_FALSE(r) << c.yaml;
    EXPECT_NE(r.error().message.find(c.message), std::string::npos) << c.yaml << " -> " << r.error().message;
  }
}

TEST(Config, ErrorsNameTheKeyPathAndLine) {
  const Bad cases[] = {
      {"webhook:\n  ownNamespce: x\n", "webhook.ownNamespce: unknown key (line 2)"},
      {"webhook:\n  schedulerName: Spot_Fit\n", "webhook.schedulerName: must be a DNS subdomain"},
      {"webhook:\n  schedulerName: -spotfit\n", "webhook.schedulerName: must be a DNS subdomain"},
      {"webhook:\n  schedulerName: [spotfit]\n", "webhook.schedulerName"},
      {"webhook:\n  tolerations:\n    add:\n      - key: a\n        efect: NoSchedule\n",
       "webhook.tolerations.add[0].efect: unknown key (line 5)"},
      {"webhook:\n  pdb:\n    minParallelism: many\n",
       "webhook.pdb.minParallelism: must be an integer, got 'many' (line 3)"},
      {"webhook:\n  pdb:\n    minParallelism: 1\n", "webhook.pdb.minParallelism: must be between 2 and"},
      {"webhook:\n  labels:\n    enabled: yes\n", "webhook.labels.enabled: must be true or false, got 'yes' (line 3)"},
      {"webhook:\n  checkpoint: [1]\n", "webhook.checkpoint: must be a mapping (line 2)"},
      {"webhook:\n  defaultCapacityType: cheap\n",
       "webhook.defaultCapacityType: must be spot-preferred, spot or on-demand"},
      {"webhook:\n  pdb: {defaultMinAvailable: half}\n",
       "webhook.pdb.defaultMinAvailable: must be an integer or a percentage"},
      {"webhook:\n  tolerations: {add: [{key: a, operator: Maybe}]}\n",
       "webhook.tolerations.add[0].operator: must be Equal or Exists"},
      {"webhook:\n  tolerations: {add: [{key: a, operator: Exists, value: x}]}\n",
       "must be empty when operator is Exists"},
      {"webhook:\n  tolerations: {add: [{key: a, effect: NoSchedule, tolerationSeconds: 5}]}\n",
       "applies only to effect NoExecute"},
      {"webhook:\n  excludedNamespaces: kube-system\n",
       "webhook.excludedNamespaces: must be a list of strings (line 2)"},
      {"webhook:\n  affinity: {capacityTypeLabel: \"\"}\n", "webhook.affinity.capacityTypeLabel: must not be empty"},
      {"webhook: [\n", "not valid YAML"},
      {"- a\n- b\n", "config must be a YAML mapping"},
  };
  expectRefused(cases);
}

// webhook.budgets.refresh: how often the cost-ledger ConfigMap is re-read (default 30 s, like the
// extender's budgets.refresh), in the serve config's duration form, between 1s and 1h.
TEST(Config, BudgetsRefreshIsABoundedDuration) {
  auto d = parseWebhookConfigText("webhook:\n  budgets: {enabled: true}\n");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->budgets.refresh, std::chrono::seconds(30));
  const std::pair<const char*, std::chrono::milliseconds> good[] = {
      {"2s", std::chrono::seconds(2)}, {"1500ms", std::chrono::milliseconds(1500)},
      {"1s", std::chrono::seconds(1)}, {"5m", std::chrono::minutes(5)},
      {"1h", std::chrono::hours(1)},   {"1m30s", std::chrono::seconds(90)},
  };
  for (const auto& [text, want] : good) {
    auto c = parseWebhookConfigText(std::string("webhook:\n  budgets:\n    refresh: ") + text + "\n");
    ASSERT_TRUE(c) << text << ": " << c.error().message;
    EXPECT_EQ(c->budgets.refresh, want) << text;
    EXPECT_TRUE(c->budgets.enabled);
  }
  const Bad bad[] = {
      {"webhook:\n  budgets:\n    refresh: soon\n",
       "webhook.budgets.refresh: must be a duration like 500ms, 10s, 2m, got 'soon' (line 3)"},
      {"webhook:\n  budgets:\n    refresh: 500ms\n",
       "webhook.budgets.refresh: must be between 1s and 1h, got '500ms' (line 3)"},
      {"webhook:\n  budgets:\n    refresh: 0s\n", "webhook.budgets.refresh: must be between 1s and 1h"},
      {"webhook:\n  budgets:\n    refresh: 2h\n", "webhook.budgets.refresh: must be between 1s and 1h, got '2h'"},
      {"webhook:\n  budgets:\n    refresh: -5s\n", "webhook.budgets.refresh: must be a duration"},
      // One grammar (Go's) everywhere: a bare number has no unit.
      {"webhook:\n  budgets:\n    refresh: 45\n",
       "webhook.budgets.refresh: must be a duration like 500ms, 10s, 2m, got '45'"},
      {"webhook:\n  budgets:\n    refresh: [30s]\n",
       "webhook.budgets.refresh: must be a duration like 500ms, 10s, 2m (line 3)"},
      {"webhook:\n  budgets:\n    refrsh: 30s\n", "webhook.budgets.refrsh: unknown key (line 3)"},
  };
  expectRefused(bad);
}

TEST(Config, IntOrPercent) {
  EXPECT_TRUE(validIntOrPercent("0"));
  EXPECT_TRUE(validIntOrPercent("3"));
  EXPECT_TRUE(validIntOrPercent("100%"));
  EXPECT_FALSE(validIntOrPercent("101%"));
  EXPECT_FALSE(validIntOrPercent("%"));
  EXPECT_FALSE(validIntOrPercent("-1"));
  EXPECT_FALSE(validIntOrPercent("1.5"));
  EXPECT_FALSE(validIntOrPercent(""));
}

TEST(Config, MissingFileIsAnIoError) {
  auto r = loadWebhookConfigFile("/nonexistent/spotfit.yaml");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, "io");
}

}  // namespace
}  // namespace spotfit::webhook

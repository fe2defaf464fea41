// The MutatingWebhookConfiguration is part of the contract (REFERENCE.md): check the settings that keep
// admission safe, and that the RBAC covers what the adapters call.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <set>
#include <string>

#include "test_paths.hpp"

namespace {

const std::string kDir = spotfit::testpaths::sourceDir() + "/manifests/webhook/";

TEST(WebhookManifest, MutatingWebhookConfigurationIsSafe) {
  YAML::Node cfg = YAML::LoadFile(kDir + "mutatingwebhookconfiguration.yaml");
  EXPECT_EQ(cfg["apiVersion"].as<std::string>(), "admissionregistration.k8s.io/v1");
  EXPECT_EQ(cfg["kind"].as<std::string>(), "MutatingWebhookConfiguration");
  ASSERT_EQ(cfg["webhooks"].size(), 1u);
  YAML::Node w = cfg["webhooks"][0];
  EXPECT_EQ(w["sideEffects"].as<std::string>(), "NoneOnDryRun");
  EXPECT_EQ(w["timeoutSeconds"].as<int>(), 5);
  EXPECT_EQ(w["failurePolicy"].as<std::string>(), "Ignore");
  EXPECT_EQ(w["reinvocationPolicy"].as<std::string>(), "IfNeeded");
  EXPECT_EQ(w["admissionReviewVersions"][0].as<std::string>(), "v1");
  EXPECT_EQ(w["clientConfig"]["service"]["path"].as<std::string>(), "/mutate");
  EXPECT_EQ(w["namespaceSelector"]["matchLabels"]["spotfit.io/enabled"].as<std::string>(), "true");
  std::set<std::string> excluded;
  for (const auto& v : w["namespaceSelector"]["matchExpressions"][0]["values"]) excluded.insert(v.as<std::string>());
  EXPECT_TRUE(excluded.count("kube-system"));
  EXPECT_TRUE(excluded.count("spotfit-system"));
  EXPECT_EQ(w["objectSelector"]["matchExpressions"][0]["key"].as<std::string>(), "spotfit.io/skip");
  EXPECT_EQ(w["objectSelector"]["matchExpressions"][0]["operator"].as<std::string>(), "NotIn");
  std::set<std::string> resources;
  for (const auto& r : w["rules"]) {
    EXPECT_EQ(r["operations"].size(), 1u);
    EXPECT_EQ(r["operations"][0].as<std::string>(), "CREATE");
    resources.insert(r["apiGroups"][0].as<std::string>() + "/" + r["resources"][0].as<std::string>());
  }
  EXPECT_EQ(resources, (std::set<std::string>{"/pods", "batch/jobs"}));
}

TEST(WebhookManifest, ServiceTargetsTheHttpsPort) {
  YAML::Node svc = YAML::LoadFile(kDir + "service.yaml");
  EXPECT_EQ(svc["metadata"]["name"].as<std::string>(), "spotfit");
  EXPECT_EQ(svc["spec"]["ports"][0]["port"].as<int>(), 443);
  EXPECT_EQ(svc["spec"]["ports"][0]["targetPort"].as<int>(), 8443);
}

TEST(WebhookManifest, RbacAllowsPdbCreateAndVpaWatch) {
  auto docs = YAML::LoadAllFromFile(kDir + "rbac.yaml");
  ASSERT_EQ(docs.size(), 4u);
  EXPECT_EQ(docs[2]["kind"].as<std::string>(), "Role");
  EXPECT_EQ(docs[2]["rules"][0]["resources"][0].as<std::string>(), "configmaps");
  EXPECT_EQ(docs[2]["rules"][0]["verbs"][0].as<std::string>(), "get");
  EXPECT_EQ(docs[3]["roleRef"]["name"].as<std::string>(), docs[2]["metadata"]["name"].as<std::string>());
  std::set<std::string> grants;
  for (const auto& rule : docs[0]["rules"]) {
    for (const auto& g : rule["apiGroups"]) {
      for (const auto& r : rule["resources"]) {
        for (const auto& v : rule["verbs"]) {
          grants.insert(g.as<std::string>() + "/" + r.as<std::string>() + ":" + v.as<std::string>());
        }
      }
    }
  }
  for (const char* want :
       {"policy/poddisruptionbudgets:create", "policy/poddisruptionbudgets:patch", "policy/poddisruptionbudgets:watch",
        "autoscaling.k8s.io/verticalpodautoscalers:watch", "batch/jobs:watch", "/namespaces:watch", "/events:create"}) {
    EXPECT_TRUE(grants.count(want)) << want;
  }
  EXPECT_EQ(docs[1]["roleRef"]["name"].as<std::string>(), docs[0]["metadata"]["name"].as<std::string>());
}

}  // namespace

// The KubeSchedulerConfiguration manifests carry every extender field the issue requires, with the
// values the docs promise, in both variants.

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <string>

#include "test_paths.hpp"

namespace {

YAML::Node load(const std::string& relative) {
  return YAML::LoadFile(spotfit::testpaths::sourceDir() + "/manifests/scheduler/" + relative);
}

void expectExtender(const YAML::Node& config) {
  ASSERT_EQ(config["apiVersion"].as<std::string>(), "kubescheduler.config.k8s.io/v1");
  ASSERT_EQ(config["kind"].as<std::string>(), "KubeSchedulerConfiguration");
  ASSERT_TRUE(config["extenders"].IsSequence());
  ASSERT_EQ(config["extenders"].size(), 1u);
  const YAML::Node e = config["extenders"][0];
  EXPECT_NE(e["urlPrefix"].as<std::string>().find(":8443/extender"), std::string::npos);
  EXPECT_EQ(e["urlPrefix"].as<std::string>().rfind("https://", 0), 0u);
  EXPECT_EQ(e["filterVerb"].as<std::string>(), "filter");
  EXPECT_EQ(e["prioritizeVerb"].as<std::string>(), "prioritize");
  EXPECT_GT(e["weight"].as<int>(), 0);
  EXPECT_TRUE(e["nodeCacheCapable"].as<bool>());
  EXPECT_TRUE(e["enableHTTPS"].as<bool>());
  EXPECT_EQ(e["tlsConfig"]["caData"].as<std::string>(), "CA_BUNDLE_BASE64");
  EXPECT_EQ(e["tlsConfig"]["serverName"].as<std::string>(), "spotfit.spotfit-system.svc");
  EXPECT_EQ(e["httpTimeout"].as<std::string>(), "2s");
  EXPECT_TRUE(e["ignorable"].as<bool>());
  EXPECT_FALSE(e["bindVerb"]) << "kube-scheduler binds; spotfit never does";
}

TEST(SchedulerManifests, SecondSchedulerProfile) {
  YAML::Node c = load("second-scheduler/scheduler-config.yaml");
  expectExtender(c);
  ASSERT_EQ(c["profiles"].size(), 1u);
  EXPECT_EQ(c["profiles"][0]["schedulerName"].as<std::string>(), "spotfit");
  EXPECT_EQ(c["leaderElection"]["resourceName"].as<std::string>(), "spotfit-scheduler");
  // Every scheduled pod is one Binding POST through the scheduler's client rate limiter; its defaults
  // (qps 50, burst 100) held the second scheduler to ~50 pods/s with the extender answering in < 1 ms.
  const YAML::Node conn = c["clientConnection"];
  ASSERT_TRUE(conn.IsMap()) << "clientConnection must raise the client rate limit";
  EXPECT_EQ(conn["kubeconfig"].as<std::string>(), "") << "empty kubeconfig = the pod's service account";
  EXPECT_GE(conn["qps"].as<double>(), 200.0);
  EXPECT_GE(conn["burst"].as<int>(), conn["qps"].as<int>());
  YAML::Node k = load("second-scheduler/kustomization.yaml");
  EXPECT_EQ(k["configMapGenerator"][0]["files"][0].as<std::string>(),
            "scheduler-config.yaml=scheduler-config.rendered.yaml");
}

TEST(SchedulerManifests, DefaultProfile) {
  YAML::Node c = load("default-profile/scheduler-config.yaml");
  expectExtender(c);
  ASSERT_EQ(c["profiles"].size(), 1u);
  EXPECT_EQ(c["profiles"][0]["schedulerName"].as<std::string>(), "default-scheduler");
  EXPECT_EQ(c["extenders"][0]["urlPrefix"].as<std::string>(), "https://SPOTFIT_SERVICE_IP:8443/extender");
}

}  // namespace

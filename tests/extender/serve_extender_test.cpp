// The extender inside `spotfit serve`: its config section is strict, and a running server exposes its
// routes' readiness note and metrics. Runs the real binary.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "kube/json.hpp"
#include "support/fake_apiserver.hpp"
#include "support/serve_process.hpp"
#include "support/spotfit_cli.hpp"
#include "test_paths.hpp"

namespace {

namespace fs = std::filesystem;
using spotfit::testsupport::httpGet;
using spotfit::testsupport::runSpotfit;
using spotfit::testsupport::ServeProcess;

struct TempDir {
  fs::path path =
      fs::temp_directory_path() / ("spotfit-extender-" + std::to_string(getpid()) + "-" +
                                   std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

TEST(ServeExtender, ConfigErrorsNameTheKey) {
  TempDir d;
  ASSERT_EQ(runSpotfit("certs --out " + d.path.string() + " --dns localhost").exitCode, 0);
  const std::string tls = " --tls-cert-file " + (d.path / "tls.crt").string() + " --tls-key-file " +
                          (d.path / "tls.key").string() + " --https-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0";
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "extender:\n  assumeTtl: soon\n";
  auto [code, out] = runSpotfit("serve --config " + cfg.string() + tls);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find(cfg.string() + ":2: extender.assumeTtl"), std::string::npos) << out;

  std::ofstream(cfg, std::ios::trunc) << "extender:\n  pathPrefix: extender\n";
  auto [code2, out2] = runSpotfit("serve --config " + cfg.string() + tls);
  EXPECT_EQ(code2, 1);
  EXPECT_NE(out2.find("extender.pathPrefix: must start with '/'"), std::string::npos) << out2;

  std::ofstream(cfg, std::ios::trunc) << "extender:\n  scoreWeights:\n    gpu: -1\n";
  auto [code3, out3] = runSpotfit("serve --config " + cfg.string() + tls);
  EXPECT_EQ(code3, 1);
  EXPECT_NE(out3.find("extender.scoreWeights.gpu"), std::string::npos) << out3;

  std::ofstream(cfg, std::ios::trunc) << "extender:\n  nodeCache: true\n";
  auto [code4, out4] = runSpotfit("serve --config " + cfg.string() + tls);
  EXPECT_EQ(code4, 1);
  EXPECT_NE(out4.find("extender.nodeCache"), std::string::npos) << out4;
}

// With a kubeconfig, the extender's node and pod informers sync from the API server and readiness says so.
TEST(ServeExtender, InformersSyncFromTheApiServer) {
  TempDir d;
  ASSERT_EQ(runSpotfit("certs --out " + d.path.string() + " --dns localhost").exitCode, 0);
  spotfit::testsupport::FakeApiServer api;
  {
    std::ifstream in(spotfit::testpaths::sourceDir() + "/tests/extender/testdata/cluster.json");
    std::stringstream ss;
    ss << in.rdbuf();
    spotfit::kube::json::Document doc;
    doc.Parse(ss.str().c_str());
    for (const auto& item : doc["items"].GetArray()) {
      spotfit::kube::json::StringBuffer buf;
      spotfit::kube::json::Writer<> w(buf);
      item.Accept(w);
      api.upsert(std::string(item["kind"].GetString()) == "Node" ? "nodes" : "pods", buf.GetString());
    }
  }
  // The scaler's cost ledger, as its ConfigMap store writes it.
  api.upsert("configmaps",
             R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"spotfit-cost-ledger","namespace":)"
             R"("spotfit-system"},"data":{"ledger.json":"{\"version\":1,\"workflows\":[{\"namespace\":\"ml\",)"
             R"(\"workflow\":\"train-42\",\"usd\":150}],\"namespaces\":{\"ml\":150},\"spotSavingsUsd\":0,)"
             R"(\"running\":[]}"}})");
  fs::path kubeconfig = d.path / "kubeconfig";
  std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n"
                               "  cluster:\n    server: "
                            << api.url()
                            << "\ncontexts:\n- name: fake\n  context:\n"
                               "    cluster: fake\n    user: fake\nusers:\n- name: fake\n  user: {}\n";
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "extender:\n  assume: true\n";
  ServeProcess serve(
      {.config = cfg, .certDir = d.path, .log = d.path / "serve.log", .kubeconfig = kubeconfig.string()});
  ASSERT_TRUE(serve.started());
  ASSERT_TRUE(serve.waitUntilServing()) << serve.logs();
  std::string ready = serve.waitForReadyz({"nodes and pods synced", "cost ledger loaded"});
  EXPECT_NE(ready.find("extender-cache"), std::string::npos) << ready;
  EXPECT_NE(ready.find("nodes and pods synced"), std::string::npos) << ready << serve.logs();
  EXPECT_NE(ready.find("node cache fed by Node and Pod informers"), std::string::npos) << ready;
  EXPECT_NE(ready.find("[+] extender-budgets: ok (cost ledger loaded)"), std::string::npos) << ready;
  EXPECT_EQ(serve.stop(), 0) << serve.logs();
}

TEST(ServeExtender, RegistersRoutesMetricsAndReadiness) {
  TempDir d;
  ASSERT_EQ(runSpotfit("certs --out " + d.path.string() + " --dns localhost").exitCode, 0);
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "extender:\n  assumeTtl: 20s\n";
  ServeProcess serve({.config = cfg, .certDir = d.path, .log = d.path / "serve.log"});
  ASSERT_TRUE(serve.started());
  ASSERT_TRUE(serve.waitUntilServing()) << serve.logs();
  std::string ready = httpGet(serve.metricsPort(), "/readyz");
  EXPECT_NE(ready.find("extender: on (/extender/filter, /extender/prioritize; no Kubernetes API"), std::string::npos)
      << ready;
  std::string metrics = httpGet(serve.metricsPort(), "/metrics");
  EXPECT_NE(metrics.find("spotfit_extender_requests_total{"), std::string::npos);
  EXPECT_NE(metrics.find("spotfit_extender_request_duration_seconds_bucket{"), std::string::npos);
  EXPECT_EQ(serve.stop(), 0) << serve.logs();
}

}  // namespace

// extender.budgets.refresh sets how often the extender re-reads the cost-ledger ConfigMap (one shared
// kube::PeriodicRefresh with the webhook; the webhook reads it once at start with its default 30 s).
class ServeExtenderLedger : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_EQ(runSpotfit("certs --out " + dir_.path.string() + " --dns localhost").exitCode, 0);
    std::ofstream(dir_.path / "kubeconfig")
        << "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n  cluster:\n    server: "
        << api_.url()
        << "\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\nusers:\n- name: fake\n"
           "  user: {}\n";
  }

  size_t ledgerReads() const {
    return api_.countRequests("GET", "/namespaces/spotfit-system/configmaps/spotfit-cost-ledger");
  }

  // Runs serve with `config` until the ledger has been read `reads` times or `within` has passed.
  size_t readsWithin(const std::string& config, size_t reads, std::chrono::milliseconds within) {
    std::ofstream(dir_.path / "spotfit.yaml") << config;
    ServeProcess serve({.config = dir_.path / "spotfit.yaml",
                        .certDir = dir_.path,
                        .log = dir_.path / "serve.log",
                        .kubeconfig = (dir_.path / "kubeconfig").string()});
    EXPECT_TRUE(serve.waitUntilServing()) << serve.logs();
    auto deadline = std::chrono::steady_clock::now() + within;
    while (ledgerReads() < reads && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    size_t seen = ledgerReads();
    EXPECT_EQ(serve.stop(), 0) << serve.logs();
    return seen;
  }

  TempDir dir_;
  spotfit::testsupport::FakeApiServer api_;
};

TEST_F(ServeExtenderLedger, BudgetsRefreshSetsHowOftenTheCostLedgerIsReRead) {
  // The webhook's one read at start, plus the extender's at start and then every second.
  size_t reads = readsWithin("extender:\n  budgets:\n    refresh: 1s\n", 4, std::chrono::seconds(10));
  EXPECT_GE(reads, 4u);
}

TEST_F(ServeExtenderLedger, DefaultRefreshReadsTheLedgerOnceAtStart) {
  // (The webhook's profile store, in the same ConfigMap, is off here: it is read on its own refresh.)
  size_t reads =
      readsWithin("extender: {}\nwebhook:\n  rightSizing: {profiles: false}\n", 3, std::chrono::milliseconds(1500));
  EXPECT_EQ(reads, 2u);  // webhook + extender, each once
}

TEST_F(ServeExtenderLedger, BudgetsOffMeansNoReads) {
  size_t reads = readsWithin(
      "extender:\n  budgets: {enabled: false}\nwebhook:\n  budgets: {refresh: 1h}\n  rightSizing: {profiles: false}\n",
      2, std::chrono::milliseconds(1500));
  EXPECT_EQ(reads, 1u);  // the webhook's only
}

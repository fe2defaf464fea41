// The webhook inside `spotfit serve`: webhook.budgets.refresh sets how often the cost-ledger ConfigMap
// is re-read. Runs the real binary against the fake API server.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include "support/fake_apiserver.hpp"
#include "support/serve_process.hpp"
#include "support/spotfit_cli.hpp"

namespace spotfit::webhook {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using testsupport::FakeApiServer;
using testsupport::runSpotfit;
using testsupport::ServeProcess;

class ServeWebhook : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("spotfit-serve-webhook-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
    ASSERT_EQ(runSpotfit("certs --out " + dir_.string() + " --dns localhost").exitCode, 0);
    std::ofstream(dir_ / "kubeconfig") << "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n"
                                          "- name: fake\n  cluster:\n    server: "
                                       << api_.url()
                                       << "\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n"
                                          "    user: fake\nusers:\n- name: fake\n  user: {}\n";
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // GETs of the ledger ConfigMap (the extender's own reader is switched off in the configs below).
  size_t ledgerReads() const {
    return api_.countRequests("GET", "/namespaces/spotfit-system/configmaps/spotfit-cost-ledger");
  }

  // Runs serve with `config` until the ledger has been read `reads` times or `within` has passed.
  size_t readsWithin(const std::string& config, size_t reads, std::chrono::milliseconds within) {
    std::ofstream(dir_ / "spotfit.yaml") << config;
    ServeProcess serve({.config = dir_ / "spotfit.yaml",
                        .certDir = dir_,
                        .log = dir_ / "serve.log",
                        .kubeconfig = (dir_ / "kubeconfig").string()});
    EXPECT_TRUE(serve.waitUntilServing()) << serve.logs();
    auto deadline = std::chrono::steady_clock::now() + within;
    while (ledgerReads() < reads && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(20ms);
    size_t seen = ledgerReads();
    EXPECT_EQ(serve.stop(), 0) << serve.logs();
    return seen;
  }

  FakeApiServer api_;
  fs::path dir_;
};

TEST_F(ServeWebhook, BudgetsRefreshSetsHowOftenTheCostLedgerIsReRead) {
  // Read at start, then every second: three reads well inside 10 s (the default 30 s would give one).
  size_t reads = readsWithin("webhook:\n  budgets:\n    refresh: 1s\nextender:\n  budgets: {enabled: false}\n", 3, 10s);
  EXPECT_GE(reads, 3u);
}

TEST_F(ServeWebhook, DefaultRefreshReadsTheLedgerOnceAtStart) {
  // The workflow profiles (profiles.json of the same ConfigMap) have their own reader: off here.
  size_t reads =
      readsWithin("webhook:\n  rightSizing: {profiles: false}\nextender:\n  budgets: {enabled: false}\n", 2, 1500ms);
  EXPECT_EQ(reads, 1u);
}

TEST_F(ServeWebhook, RightSizingRefreshSetsHowOftenTheProfilesAreReRead) {
  // The ledger once at start (budgets every hour); the profiles at start and then every second.
  size_t reads = readsWithin(
      "webhook:\n  budgets: {refresh: 1h}\n  rightSizing: {refresh: 1s}\nextender:\n  budgets: {enabled: false}\n", 4,
      10s);
  EXPECT_GE(reads, 4u);
  // With the default (30 s), one read each at start.
  const size_t before = ledgerReads();
  EXPECT_EQ(readsWithin("extender:\n  budgets: {enabled: false}\n", before + 3, 1500ms) - before, 2u);
}

TEST_F(ServeWebhook, RefusesABadBudgetsRefresh) {
  std::ofstream(dir_ / "bad.yaml") << "webhook:\n  budgets:\n    refresh: 100ms\n";
  auto r = runSpotfit("serve --config " + (dir_ / "bad.yaml").string() +
                      " --https-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 --tls-cert-file " +
                      (dir_ / "tls.crt").string() + " --tls-key-file " + (dir_ / "tls.key").string());
  EXPECT_EQ(r.exitCode, 1) << r.out;
  EXPECT_NE(r.out.find("webhook.budgets.refresh: must be between 1s and 1h, got '100ms' (line 3)"), std::string::npos)
      << r.out;
}

}  // namespace
}  // namespace spotfit::webhook

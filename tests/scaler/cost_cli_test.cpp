// `spotfit cost` end to end against a fake API server: it reads the ledger ConfigMap through the API with
// the kubeconfig it is given and prints the daily windows as CSV, JSON or a table; bad flags exit 2.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "kube/json.hpp"
#include "scaler/ledger.hpp"
#include "support/fake_apiserver.hpp"
#include "support/spotfit_cli.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using spotfit::testsupport::FakeApiServer;
using spotfit::testsupport::runSpotfit;
using spotfit::testsupport::Streams;

struct CostCli {
  fs::path dir =
      fs::temp_directory_path() / ("spotfit-cost-cli-" + std::to_string(getpid()) + "-" +
                                   std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  FakeApiServer api;
  fs::path kubeconfig = dir / "kubeconfig";
  CostCli() {
    fs::create_directories(dir);
    std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n"
                                 "  cluster:\n    server: "
                              << api.url()
                              << "\ncontexts:\n- name: fake\n  context:\n"
                                 "    cluster: fake\n    user: fake\nusers:\n- name: fake\n  user: {}\n";
  }
  ~CostCli() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void storeLedger(const spotfit::scaler::CostLedger& l) {
    api.upsert("configmaps", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"spotfit-cost-ledger",)"
                             R"("namespace":"spotfit-system"},"data":{"ledger.json":)" +
                                 spotfit::kube::json::quoted(l.toJson()) + "}}");
  }
  spotfit::testsupport::CliRun cost(const std::string& flags) {
    return runSpotfit("cost --kubeconfig " + kubeconfig.string() + " " + flags, Streams::kStdoutOnly);
  }
};

TEST(CostCli, ReadsTheLedgerThroughTheApiAndPrintsEachFormat) {
  CostCli t;
  spotfit::scaler::CostLedger l;
  const auto now = std::chrono::system_clock::now();
  for (int run = 0; run < 3; ++run) {  // three runs of CronJob nightly, 1 USD each, in the last few hours
    const std::string uid = "u" + std::to_string(run);
    l.podRunning(uid, {"data", "nightly-2940000" + std::to_string(run)}, 2.0, 2.0, now - 3h, now - 3h);
    l.podStopped(uid, now - 2h - 30min);
  }
  l.podRunning("x", {"ml", "train"}, 1.0, 1.0, now - 2h, now - 2h);
  l.podStopped("x", now - 1h);
  l.accrue(now - 1h);
  t.storeLedger(l);

  auto csv = t.cost("--by cronjob --window 3d -o csv");
  ASSERT_EQ(csv.exitCode, 0) << csv.out;
  EXPECT_EQ(csv.out.rfind("namespace,owner,", 0), 0u) << csv.out;
  EXPECT_NE(csv.out.find("\ndata,nightly,"), std::string::npos) << csv.out;
  EXPECT_NE(csv.out.find(",3.0000\n"), std::string::npos) << "the three runs are one CronJob row: " << csv.out;
  EXPECT_NE(csv.out.find("\nml,train,"), std::string::npos) << csv.out;

  auto json = t.cost("--output json");
  ASSERT_EQ(json.exitCode, 0) << json.out;
  EXPECT_NE(json.out.find(R"("by":"namespace")"), std::string::npos) << json.out;
  EXPECT_NE(json.out.find(R"("totalUsd":4.0)"), std::string::npos) << json.out;

  auto table = t.cost("");
  ASSERT_EQ(table.exitCode, 0) << table.out;
  EXPECT_EQ(table.out.rfind("NAMESPACE", 0), 0u) << table.out;
  EXPECT_NE(table.out.find("total: $4.0000 over 7 day(s), 2 row(s)"), std::string::npos) << table.out;
  EXPECT_GE(t.api.countRequests("GET", "/api/v1/namespaces/spotfit-system/configmaps/spotfit-cost-ledger"), 3u);
}

TEST(CostCli, NoLedgerYetIsEmptyAndBadFlagsExitTwo) {
  CostCli t;
  auto empty = t.cost("-o csv");
  ASSERT_EQ(empty.exitCode, 0) << empty.out;
  EXPECT_EQ(std::count(empty.out.begin(), empty.out.end(), '\n'), 1) << "the header only: " << empty.out;
  for (const char* bad : {"--window 7", "--window 0d", "--by team", "-o yaml"}) {
    auto r = runSpotfit("cost --kubeconfig " + t.kubeconfig.string() + " " + bad, Streams::kStderrOnly);
    EXPECT_EQ(r.exitCode, 2) << bad << ": " << r.out;
    EXPECT_EQ(r.out.rfind("spotfit cost: ", 0), 0u) << r.out;
  }
  t.api.upsert("configmaps", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"spotfit-cost-ledger",)"
                             R"("namespace":"spotfit-system"},"data":{"ledger.json":"{\"version\":9}"}})");
  auto corrupt = runSpotfit("cost --kubeconfig " + t.kubeconfig.string(), Streams::kStderrOnly);
  EXPECT_EQ(corrupt.exitCode, 1) << corrupt.out;
  EXPECT_NE(corrupt.out.find("cost ledger: unsupported version"), std::string::npos) << corrupt.out;
}

}  // namespace

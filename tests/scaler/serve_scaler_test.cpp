// `spotfit serve --scaler` end to end against the fake API server: the real binary takes the Lease, turns
// an unschedulable Pod into a kwok Node, exports the scale-up in /metrics, writes the cost-ledger ConfigMap
// on SIGTERM, and a second start takes over without creating a second node for the same pending pod.

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <regex>
#include <string>
#include <thread>

#include "kube/json.hpp"
#include "support/fake_apiserver.hpp"
#include "support/serve_process.hpp"
#include "support/spotfit_cli.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using spotfit::testsupport::FakeApiServer;
using spotfit::testsupport::httpGet;
using spotfit::testsupport::ServeOptions;
using spotfit::testsupport::ServeProcess;

struct TempDir {
  fs::path path =
      fs::temp_directory_path() / ("spotfit-serve-scaler-" + std::to_string(getpid()) + "-" +
                                   std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// Polls `done` until it holds or `limit` passes (generous: the machine may be loaded).
bool eventually(const std::function<bool()>& done, std::chrono::seconds limit = 60s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(50ms);
  }
  return done();
}

std::string member(const std::string& json, const char* object, const char* key) {
  spotfit::kube::json::Document d;
  d.Parse(json.c_str());
  if (d.HasParseError() || !d.IsObject() || !d.HasMember(object) || !d[object].IsObject()) return "";
  const auto& o = d[object];
  if (!o.HasMember(key) || !o[key].IsString()) return "";
  return o[key].GetString();
}

std::string leaseHolder(const FakeApiServer& api) {
  auto lease = api.object("leases", "spotfit-system", "spotfit-scaler");
  return lease ? member(*lease, "spec", "holderIdentity") : "";
}

bool nodeReady(const std::string& nodeJson) {
  spotfit::kube::json::Document d;
  d.Parse(nodeJson.c_str());
  if (d.HasParseError() || !d.HasMember("status") || !d["status"].HasMember("conditions")) return false;
  for (const auto& c : d["status"]["conditions"].GetArray()) {
    if (c.HasMember("type") && std::string(c["type"].GetString()) == "Ready" && c.HasMember("status") &&
        std::string(c["status"].GetString()) == "True") {
      return true;
    }
  }
  return false;
}

// The value of the first sample of `name` whose labels contain every `labels` pair, or -1.
double sample(const std::string& metrics, const std::string& name, const std::string& labelsContain) {
  std::regex line("(^|\\n)" + name + "\\{([^}]*)\\} ([0-9.e+-]+)");
  for (std::sregex_iterator it(metrics.begin(), metrics.end(), line), end; it != end; ++it) {
    if ((*it)[2].str().find(labelsContain) != std::string::npos) return std::stod((*it)[3].str());
  }
  return -1;
}

const char* kPendingPod = R"({"apiVersion":"v1","kind":"Pod","metadata":{"name":"job-1","namespace":"team",
    "uid":"u-job-1","ownerReferences":[{"apiVersion":"batch/v1","kind":"Job","name":"job","uid":"j","controller":true}]},
    "spec":{"containers":[{"name":"c","image":"busybox","resources":{"requests":{"cpu":"1","memory":"1Gi"}}}]},
    "status":{"phase":"Pending","conditions":[{"type":"PodScheduled","status":"False","reason":"Unschedulable",
    "message":"0/0 nodes are available"}]}})";

TEST(ServeScaler, ScalesUpSavesTheLedgerOnSigtermAndASecondLeaderDoesNotDuplicate) {
  TempDir d;
  ASSERT_EQ(spotfit::testsupport::runSpotfit("certs --out " + d.path.string() + " --dns localhost").exitCode, 0);
  FakeApiServer api;
  api.upsert("pods", kPendingPod);
  fs::path kubeconfig = d.path / "kubeconfig";
  std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n"
                               "  cluster:\n    server: "
                            << api.url()
                            << "\ncontexts:\n- name: fake\n  context:\n"
                               "    cluster: fake\n    user: fake\nusers:\n- name: fake\n  user: {}\n";
  fs::path cfg = d.path / "spotfit.yaml";
  // A long flush interval: the ConfigMap written after SIGTERM comes from the final save.
  std::ofstream(cfg) << "scaler:\n"
                        "  namespace: spotfit-system\n"
                        "  batchIdle: 200ms\n"
                        "  batchMax: 2s\n"
                        "  ledgerFlushInterval: 1h\n"
                        "  watchNodePoolObjects: false\n"
                        "  nodePools:\n"
                        "    - name: cpu\n"
                        "      capacityTypes: [spot, on-demand]\n"
                        "      instanceTypes:\n"
                        "        - {name: m5.large, cpu: \"2\", memory: 8Gi, maxPods: 29, onDemandPrice: 0.096,"
                        " spotPrice: 0.035}\n"
                        "      provider: {type: kwok, parameters: {readyDelay: 1s}}\n";

  std::string firstLeader, nodeName;
  {
    ServeProcess serve(ServeOptions{cfg, d.path, d.path / "serve-1.log", kubeconfig.string(), {"--scaler"}});
    ASSERT_TRUE(serve.waitUntilServing()) << serve.logs();
    ASSERT_TRUE(eventually([&] { return !leaseHolder(api).empty(); })) << serve.logs();
    firstLeader = leaseHolder(api);
    ASSERT_TRUE(eventually([&] { return api.count("nodes") >= 1; })) << serve.logs();
    auto nodes = api.objects("nodes");
    ASSERT_EQ(nodes.size(), 1u);
    nodeName = member(nodes[0], "metadata", "name");
    EXPECT_EQ(nodeName.rfind("cpu-", 0), 0u) << nodes[0];
    EXPECT_NE(nodes[0].find(R"("spotfit.io/provider":"kwok")"), std::string::npos) << nodes[0];
    EXPECT_NE(nodes[0].find(R"("karpenter.sh/capacity-type":"spot")"), std::string::npos) << nodes[0];
    std::string metrics;
    ASSERT_TRUE(eventually([&] {
      metrics = httpGet(serve.metricsPort(), "/metrics");
      return sample(metrics, "spotfit_scaler_scale_ups_total", "pool=\"cpu\"") == 1;
    })) << metrics;
    EXPECT_EQ(sample(metrics, "spotfit_scaler_scale_ups_total", "capacity_type=\"spot\""), 1) << metrics;
    // kwok turns the node Ready after its delay (the leader's provider polls it).
    ASSERT_TRUE(eventually([&] {
      auto n = api.object("nodes", "", nodeName);
      return n && nodeReady(*n);
    })) << serve.logs();
    // Whatever was saved so far goes; the ConfigMap must come back from the save on SIGTERM.
    api.erase("configmaps", "spotfit-system", "spotfit-cost-ledger");
    EXPECT_EQ(serve.stop(), 0) << serve.logs();
  }
  auto ledger = api.object("configmaps", "spotfit-system", "spotfit-cost-ledger");
  ASSERT_TRUE(ledger) << "the ledger ConfigMap is written on SIGTERM";
  EXPECT_NE(ledger->find("ledger.json"), std::string::npos) << *ledger;
  EXPECT_NE(ledger->find("scaler-state.json"), std::string::npos) << *ledger;
  EXPECT_EQ(leaseHolder(api), "") << "the lease is released on a clean stop";

  // The pod is still pending (nothing schedules it here). A second start takes over and plans it onto
  // the node the first leader created instead of creating another one.
  api.clearRequests();
  ServeProcess second(ServeOptions{cfg, d.path, d.path / "serve-2.log", kubeconfig.string(), {"--scaler"}});
  ASSERT_TRUE(second.waitUntilServing()) << second.logs();
  ASSERT_TRUE(eventually([&] { return !leaseHolder(api).empty(); })) << second.logs();
  EXPECT_NE(leaseHolder(api), firstLeader);
  ASSERT_TRUE(eventually([&] { return second.logs().find("fits node " + nodeName) != std::string::npos; }))
      << second.logs();
  EXPECT_EQ(api.count("nodes"), 1u);
  EXPECT_EQ(api.countRequests("POST", "/api/v1/nodes"), 0u);
  const std::string metrics = httpGet(second.metricsPort(), "/metrics");
  EXPECT_LE(sample(metrics, "spotfit_scaler_scale_ups_total", "pool=\"cpu\""), 0) << metrics;
  EXPECT_EQ(second.stop(), 0) << second.logs();
}

}  // namespace

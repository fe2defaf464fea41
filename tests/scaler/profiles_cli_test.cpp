// `spotfit profiles` end to end against a fake API server: it reads profiles.json of the ledger ConfigMap
// through the API and prints what was learned and what the webhook would request.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "kube/json.hpp"
#include "scaler/profile_store.hpp"
#include "support/fake_apiserver.hpp"
#include "support/spotfit_cli.hpp"

namespace {

namespace fs = std::filesystem;
using spotfit::testsupport::FakeApiServer;
using spotfit::testsupport::runSpotfit;
using spotfit::testsupport::Streams;
namespace profile = spotfit::profile;

constexpr int64_t kMi = int64_t{1} << 20;

struct ProfilesCli {
  fs::path dir =
      fs::temp_directory_path() / ("spotfit-profiles-cli-" + std::to_string(getpid()) + "-" +
                                   std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  FakeApiServer api;
  fs::path kubeconfig = dir / "kubeconfig";
  ProfilesCli() {
    fs::create_directories(dir);
    std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n"
                                 "  cluster:\n    server: "
                              << api.url()
                              << "\ncontexts:\n- name: fake\n  context:\n"
                                 "    cluster: fake\n    user: fake\nusers:\n- name: fake\n  user: {}\n";
  }
  ~ProfilesCli() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void store(const std::string& profilesJson) {
    api.upsert("configmaps", R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"spotfit-cost-ledger",)"
                             R"("namespace":"spotfit-system"},"data":{"profiles.json":)" +
                                 spotfit::kube::json::quoted(profilesJson) + "}}");
  }
  spotfit::testsupport::CliRun run(const std::string& flags) {
    return runSpotfit("profiles --kubeconfig " + kubeconfig.string() + " " + flags, Streams::kStdoutOnly);
  }
};

profile::ProfileBook book(int runs) {
  profile::ProfileBook b;
  for (int i = 0; i < runs; ++i) {
    b.recordPod({"data", "nightly"},
                {profile::ContainerObservation{"main", 500, 1000 * kMi, 2000, 4096 * kMi, false, 0}}, 100 + i);
    b.recordRun({"data", "nightly"}, profile::RunObservation{100 + i * 3600, 700 + i * 3600, 4, 2}, 700 + i * 3600);
  }
  b.recordRun({"ml", "train"}, profile::RunObservation{0, 60, 1, 1}, 60);
  return b;
}

TEST(ProfilesCli, ListsWhatWasLearnedAndWhatItWouldRequest) {
  ProfilesCli t;
  t.store(spotfit::scaler::profilesToJson(book(3)));
  auto r = t.run("");
  ASSERT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("NAMESPACE"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("WOULD-REQUEST"), std::string::npos) << r.out;
  // nightly: 3 runs of 600 s, 4 pods, 2 at once; main used 500m / 1000Mi, asked 2/4Gi, would ask 600m/1200Mi.
  EXPECT_NE(r.out.find("nightly"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("600s"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("2/4Gi"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("600m/1200Mi"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("train"), std::string::npos) << r.out;

  auto only = t.run("--namespace ml --output json");
  ASSERT_EQ(only.exitCode, 0) << only.out;
  EXPECT_EQ(only.out.find("nightly"), std::string::npos) << only.out;
  EXPECT_NE(only.out.find("\"workflow\":\"train\""), std::string::npos) << only.out;

  // With a higher --min-runs the webhook would not size yet.
  auto later = t.run("--min-runs 4 --output json");
  ASSERT_EQ(later.exitCode, 0) << later.out;
  EXPECT_EQ(later.out.find("wouldRequestCpuMilli"), std::string::npos) << later.out;
  auto now = t.run("--output json");
  EXPECT_NE(now.out.find("\"wouldRequestCpuMilli\":600"), std::string::npos) << now.out;
}

TEST(ProfilesCli, NothingStoredIsAnEmptyListAndBadInputIsAClearError) {
  ProfilesCli t;
  auto empty = t.run("--output json");
  ASSERT_EQ(empty.exitCode, 0) << empty.out;
  EXPECT_EQ(empty.out, "{\"profiles\":[]}\n");
  t.store("{\"version\":7}");
  auto bad = runSpotfit("profiles --kubeconfig " + t.kubeconfig.string(), Streams::kBoth);
  EXPECT_NE(bad.exitCode, 0);
  EXPECT_NE(bad.out.find("spotfit profiles: workflow profiles: unsupported version"), std::string::npos) << bad.out;
  auto usage = runSpotfit("profiles --kubeconfig " + t.kubeconfig.string() + " --min-runs zero", Streams::kBoth);
  EXPECT_EQ(usage.exitCode, 2) << usage.out;
  EXPECT_NE(usage.out.find("--min-runs takes an integer"), std::string::npos) << usage.out;
}

}  // namespace

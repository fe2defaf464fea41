// `spotfit simulate` through the real binary: exit codes, one-line errors, outputs.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "support/spotfit_cli.hpp"

namespace {

using spotfit::testsupport::CliRun;
using spotfit::testsupport::runSpotfit;
using spotfit::testsupport::Streams;

class SimulateCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("spotfit-sim-cli-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    write("ok.yaml", R"(horizon: 1h
nodePools:
  - name: p
    instanceTypes:
      - {name: m, cpu: "4", memory: 16Gi, onDemandPrice: 0.2, spotPrice: 0.07}
workflows:
  - name: wf
    arrival: {every: 20m}
    jobs:
      - {name: j, completions: 6, duration: 5m, requests: {cpu: "1", memory: 2Gi}, usage: {cpu: 500m, memory: 1Gi}}
)");
    write("bad.yaml", "horizon: 1h\nnodePools:\n  - name: p\n    instanceType: []\n");
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::filesystem::path dir_;
};

TEST_F(SimulateCli, PrintsTheComparisonTable) {
  CliRun r = runSpotfit("simulate -f " + path("ok.yaml"));
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_NE(r.out.find("baseline"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("spotfit"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("savings vs baseline"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("tasks completed / lost"), std::string::npos) << r.out;
}

TEST_F(SimulateCli, JsonForScripts) {
  CliRun r = runSpotfit("simulate -f " + path("ok.yaml") + " --output json --strategies baseline,spot-only --seed 3");
  EXPECT_EQ(r.exitCode, 0) << r.out;
  EXPECT_EQ(r.out.rfind("{\"source\":", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("\"seed\":3"), std::string::npos);
  EXPECT_NE(r.out.find("\"strategy\":\"spot-only\""), std::string::npos);
  EXPECT_EQ(r.out.back(), '\n');
}

TEST_F(SimulateCli, ReportWritesHtmlJsonAndCsv) {
  CliRun r = runSpotfit("simulate -f " + path("ok.yaml") + " --report " + path("out"));
  EXPECT_EQ(r.exitCode, 0) << r.out;
  std::ifstream html(path("out/index.html"));
  std::stringstream ss;
  ss << html.rdbuf();
  EXPECT_NE(ss.str().find("<svg"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(path("out/summary.json")));
  EXPECT_TRUE(std::filesystem::exists(path("out/timeseries-baseline.csv")));
  EXPECT_TRUE(std::filesystem::exists(path("out/timeseries-spotfit.csv")));
}

TEST_F(SimulateCli, BadFileExits1WithKeyPathAndLine) {
  CliRun r = runSpotfit("simulate -f " + path("bad.yaml"), Streams::kStderrOnly);
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out, "spotfit simulate: " + path("bad.yaml") +
                       ":4: nodePools[0].instanceType: unknown key (expected one of: name, capacityTypes, min, max, "
                       "labels, taints, instanceTypes)\n");
}

TEST_F(SimulateCli, MissingFileExits1) {
  CliRun r = runSpotfit("simulate -f " + path("nope.yaml"), Streams::kStderrOnly);
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out, "spotfit simulate: cannot read " + path("nope.yaml") + "\n");
}

TEST_F(SimulateCli, UsageErrorsExit2) {
  EXPECT_EQ(runSpotfit("simulate").exitCode, 2);
  CliRun r = runSpotfit("simulate -f " + path("ok.yaml") + " --strategies baseline,cheapest");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.out.find("unknown strategy 'cheapest'"), std::string::npos) << r.out;
  EXPECT_EQ(runSpotfit("simulate -f " + path("ok.yaml") + " --output xml").exitCode, 2);
  EXPECT_EQ(runSpotfit("simulate -f " + path("ok.yaml") + " --strategies spotfit,spotfit").exitCode, 2);
  EXPECT_EQ(runSpotfit("simulate -f " + path("ok.yaml") + " --seed -1").exitCode, 2);
}

TEST_F(SimulateCli, ReportDirectoryThatCannotBeCreatedExits1) {
  write("file", "x");
  CliRun r = runSpotfit("simulate -f " + path("ok.yaml") + " --report " + path("file/sub"), Streams::kStderrOnly);
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out.rfind("spotfit simulate: cannot create ", 0), 0u) << r.out;
}

}  // namespace

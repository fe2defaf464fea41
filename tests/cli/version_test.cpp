// `spotfit version` and spotfit_build_info: which commit, when and with what a binary was built.
#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>

#include "kube/json.hpp"
#include "support/serve_process.hpp"
#include "support/spotfit_cli.hpp"
#include "test_paths.hpp"

namespace {

namespace fs = std::filesystem;
using spotfit::testsupport::CliRun;
using spotfit::testsupport::httpGet;
using spotfit::testsupport::runSpotfit;
using spotfit::testsupport::ServeProcess;
using spotfit::testsupport::Streams;

// stdout of a shell command, trailing newline removed; "" when it failed.
std::string shell(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  std::array<char, 256> buf{};
  size_t n = 0;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  if (pclose(p) != 0) return "";
  while (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::string git(const std::string& args) {
  return shell("TZ=UTC git -C '" + spotfit::testpaths::sourceDir() + "' " + args + " 2>/dev/null");
}

struct Version {
  std::string version, gitCommit, gitTreeState, buildDate, compiler, platform;
};

Version versionJson() {
  CliRun r = runSpotfit("version --output json", Streams::kStdoutOnly);
  EXPECT_EQ(r.exitCode, 0) << r.out;
  spotfit::kube::json::Document d;
  d.Parse(r.out.c_str());
  EXPECT_FALSE(d.HasParseError()) << r.out;
  EXPECT_TRUE(d.IsObject()) << r.out;
  Version v;
  if (d.HasParseError() || !d.IsObject()) return v;
  auto get = [&](const char* key) {
    EXPECT_TRUE(d.HasMember(key) && d[key].IsString()) << key << " in " << r.out;
    return d.HasMember(key) && d[key].IsString() ? std::string(d[key].GetString()) : std::string();
  };
  return Version{get("version"),   get("gitCommit"), get("gitTreeState"),
                 get("buildDate"), get("compiler"),  get("platform")};
}

TEST(VersionCommand, NamesTheCommitTheBuildDateAndTheCompiler) {
  Version v = versionJson();
  EXPECT_TRUE(std::regex_match(v.version, std::regex(R"(\d+\.\d+\.\d+)"))) << v.version;
  EXPECT_TRUE(v.compiler.rfind("GCC ", 0) == 0 || v.compiler.rfind("Clang ", 0) == 0) << v.compiler;
  EXPECT_TRUE(std::regex_match(v.platform, std::regex(R"(linux/[a-z0-9]+)"))) << v.platform;
  EXPECT_TRUE(std::regex_match(v.buildDate, std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ)"))) << v.buildDate;
  if (git("rev-parse HEAD").empty()) {  // built from an export without .git
    EXPECT_EQ(v.gitCommit, "unknown");
    return;
  }
  // The commit the binary was built from is in this repository (HEAD may have moved on since the build).
  ASSERT_TRUE(std::regex_match(v.gitCommit, std::regex("[0-9a-f]{40}"))) << v.gitCommit;
  EXPECT_EQ(git("rev-parse --verify --quiet " + v.gitCommit + "^{commit}"), v.gitCommit);
  EXPECT_TRUE(v.gitTreeState == "clean" || v.gitTreeState == "dirty") << v.gitTreeState;
  // Reproducible: the build date is the commit time (or SOURCE_DATE_EPOCH), never the wall clock.
  if (std::getenv("SOURCE_DATE_EPOCH") == nullptr) {
    EXPECT_EQ(v.buildDate, git("show -s --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ " + v.gitCommit))
        << "TZ must not matter";
  }
}

TEST(VersionCommand, TextOutputHasTheSameFields) {
  Version v = versionJson();
  CliRun r = runSpotfit("version", Streams::kStdoutOnly);
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_EQ(r.out, "spotfit " + v.version + "\n  git commit:  " + v.gitCommit + "\n  git tree:    " + v.gitTreeState +
                       "\n  build date:  " + v.buildDate + "\n  compiler:    " + v.compiler +
                       "\n  platform:    " + v.platform + "\n");
  CliRun bad = runSpotfit("version --output yaml");
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_EQ(bad.out, "spotfit version: flag --output takes text or json, got 'yaml'\n");
}

TEST(VersionCommand, MetricsCarrySpotfitBuildInfo) {
  Version v = versionJson();
  fs::path dir = fs::temp_directory_path() / ("spotfit-version-" + std::to_string(getpid()));
  fs::create_directories(dir);
  ASSERT_EQ(runSpotfit("certs --out " + dir.string() + " --dns localhost").exitCode, 0);
  std::ofstream(dir / "spotfit.yaml") << "server:\n  logLevel: warn\n";
  std::string metrics;
  {
    ServeProcess serve({.config = dir / "spotfit.yaml", .certDir = dir, .log = dir / "serve.log"});
    ASSERT_TRUE(serve.waitUntilServing()) << serve.logs();
    metrics = httpGet(serve.metricsPort(), "/metrics");
    EXPECT_EQ(serve.stop(), 0) << serve.logs();
  }
  fs::remove_all(dir);
  std::string line = "spotfit_build_info{build_date=\"" + v.buildDate + "\",compiler=\"" + v.compiler +
                     "\",git_commit=\"" + v.gitCommit + "\",git_tree_state=\"" + v.gitTreeState + "\",platform=\"" +
                     v.platform + "\",version=\"" + v.version + "\"} 1\n";
  EXPECT_NE(metrics.find(line), std::string::npos) << line << " in\n" << metrics;
}

// cmake/BuildInfo.cmake: SOURCE_DATE_EPOCH decides the date (any time zone), and an unchanged stamp is not
// rewritten, so a build of an unchanged commit recompiles nothing.
TEST(BuildStamp, SourceDateEpochSetsTheDateAndAnUnchangedStampIsNotRewritten) {
  fs::path dir = fs::temp_directory_path() / ("spotfit-stamp-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path out = dir / "build_stamp.cpp";
  auto stamp = [&](const std::string& epoch) {
    return shell("SOURCE_DATE_EPOCH=" + epoch + " TZ=Pacific/Auckland '" + std::string(SPOTFIT_CMAKE) +
                 "' -DSOURCE_DIR='" + spotfit::testpaths::sourceDir() + "' -DOUTPUT='" + out.string() + "' -P '" +
                 spotfit::testpaths::sourceDir() + "/cmake/BuildInfo.cmake' && echo ok");
  };
  ASSERT_EQ(stamp("1700000000"), "ok");
  std::string text = spotfit::testsupport::readFile(out);
  EXPECT_NE(text.find("\"2023-11-14T22:13:20Z\", 1700000000}"), std::string::npos) << text;
  fs::file_time_type written = fs::last_write_time(out);
  fs::last_write_time(out, written - std::chrono::hours(1));  // a rewrite would move it to now
  ASSERT_EQ(stamp("1700000000"), "ok");
  EXPECT_EQ(fs::last_write_time(out), written - std::chrono::hours(1));
  ASSERT_EQ(stamp("0"), "ok");
  EXPECT_NE(spotfit::testsupport::readFile(out).find("\"1970-01-01T00:00:00Z\", 0}"), std::string::npos);
  fs::remove_all(dir);
}

}  // namespace

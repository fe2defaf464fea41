// Replays the checked-in fuzz corpus (tests/fuzz/corpus/<target>/*) through the fuzz targets in the
// regular build, so the crashers of issue 15 (45k and 150k nested arrays, duplicate keys, invalid UTF-8,
// unpaired surrogates, billion laughs, amplification) stay covered without clang or libFuzzer.
// A target aborts when an invariant breaks; a crash fails the test binary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "fuzz/targets.hpp"
#include "test_paths.hpp"

namespace spotfit::fuzz {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FuzzCorpus : public ::testing::TestWithParam<const char*> {};

TEST_P(FuzzCorpus, EveryInputIsHandled) {
  const fs::path dir = fs::path(spotfit::testpaths::sourceDir()) / "tests/fuzz/corpus" / GetParam();
  Target target = targetNamed(GetParam());
  ASSERT_NE(target, nullptr);
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int seeds = 0, regressions = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    SCOPED_TRACE(name);
    target(slurp(entry.path()));
    (name.rfind("regress-", 0) == 0 ? regressions : seeds) += 1;
  }
  EXPECT_GT(seeds, 0);
  EXPECT_GT(regressions, 0);
}

INSTANTIATE_TEST_SUITE_P(Targets, FuzzCorpus,
                         ::testing::Values("admission", "extender", "kube", "config", "workload", "mutate"),
                         [](const ::testing::TestParamInfo<const char*>& p) { return std::string(p.param); });

}  // namespace
}  // namespace spotfit::fuzz

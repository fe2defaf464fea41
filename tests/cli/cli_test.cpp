// Runs the real `spotfit` binary: exit codes and messages are part of the public interface.
#include <gtest/gtest.h>

#include <string>

#include "support/spotfit_cli.hpp"

namespace {

using spotfit::testsupport::CliRun;
using spotfit::testsupport::runSpotfit;

TEST(Cli, VersionPrintsVersion) {
  CliRun r = runSpotfit("version");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find("spotfit 0."), std::string::npos) << r.out;
}

TEST(Cli, HelpListsCommands) {
  CliRun r = runSpotfit("--help");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.out.find("version"), std::string::npos) << r.out;
}

TEST(Cli, UnknownCommandExits2) {
  CliRun r = runSpotfit("frobnicate");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.out.find("unknown command 'frobnicate'"), std::string::npos) << r.out;
}

TEST(Cli, UnknownFlagExits2WithOneLine) {
  CliRun r = runSpotfit("version --bogus");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_EQ(r.out, "spotfit version: unknown flag '--bogus' (see --help)\n");
}

TEST(Cli, EverySubcommandHasHelp) {
  CliRun top = runSpotfit("--help");
  size_t pos = top.out.find("Commands:\n");
  ASSERT_NE(pos, std::string::npos);
  size_t end = top.out.find("\n\n", pos);
  std::string block = top.out.substr(pos + 10, end - pos - 10);
  size_t start = 0;
  int seen = 0;
  while (start < block.size()) {
    size_t nl = block.find('\n', start);
    std::string line = block.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
    start = nl == std::string::npos ? block.size() : nl + 1;
    size_t b = line.find_first_not_of(' ');
    if (b == std::string::npos) continue;
    std::string name = line.substr(b, line.find(' ', b) - b);
    CliRun h = runSpotfit(name + " --help");
    EXPECT_EQ(h.exitCode, 0) << name;
    EXPECT_NE(h.out.find("Usage: spotfit " + name), std::string::npos) << name << ": " << h.out;
    ++seen;
  }
  EXPECT_GE(seen, 1);
}

}  // namespace

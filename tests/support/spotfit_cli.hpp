#pragma once
// Runs the built `spotfit` binary (testpaths::spotfitBinary()) the way a user does from a shell and
// captures what it printed and how it exited: exit codes and one-line errors are part of the public interface.
//
// Usage:
//   auto r = spotfit::testsupport::runSpotfit("mutate -f " + path);   // stdout and stderr together
//   EXPECT_EQ(r.exitCode, 0) << r.out;

#include <string>

namespace spotfit::testsupport {

// Which of the child's streams CliRun::out holds; the other one is discarded.
enum class Streams {
  kBoth,        // stderr merged into stdout, in the order written
  kStdoutOnly,  // stderr discarded (e.g. to parse JSON output)
  kStderrOnly,  // stdout discarded (e.g. to check the one-line error alone)
};

struct CliRun {
  int exitCode = -1;  // -1 when the process did not exit normally (killed by a signal)
  std::string out;
};

// `args` are shell words appended to the binary's path (quote paths that could contain spaces).
CliRun runSpotfit(const std::string& args, Streams streams = Streams::kBoth);

}  // namespace spotfit::testsupport

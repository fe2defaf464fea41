#include "support/spotfit_cli.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>

#include "test_paths.hpp"

namespace spotfit::testsupport {

CliRun runSpotfit(const std::string& args, Streams streams) {
  const char* redirect = " 2>&1";
  if (streams == Streams::kStdoutOnly) redirect = " 2>/dev/null";
  if (streams == Streams::kStderrOnly) redirect = " 2>&1 >/dev/null";
  std::string cmd = spotfit::testpaths::spotfitBinary() + " " + args + redirect;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return {-1, "popen failed: " + cmd};
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace spotfit::testsupport

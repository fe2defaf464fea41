#pragma once
// What `spotfit version` prints and `spotfit_build_info` on /metrics carries: the version, the git commit
// the binary was built from, the build date and the compiler, in the spirit of `kubectl version`.

#include <cstdint>
#include <string>

namespace spotfit::cli {

// Stamped at build time by cmake/BuildInfo.cmake (generated/build_stamp.cpp in the build directory).
struct BuildStamp {
  const char* gitCommit;     // 40 hex digits, or "unknown" outside a git checkout
  const char* gitTreeState;  // "clean", "dirty" (uncommitted source changes) or "unknown"
  const char* buildDate;     // RFC 3339 UTC: $SOURCE_DATE_EPOCH, else the commit time (never the wall clock)
  int64_t buildEpoch;        // the same instant in seconds since 1970
};
const BuildStamp& buildStamp();

struct BuildInfo {
  std::string version;  // the project version (CMake project(VERSION))
  std::string gitCommit;
  std::string gitTreeState;
  std::string buildDate;
  std::string compiler;  // e.g. "GCC 12.2.0", "Clang 16.0.6"
  std::string platform;  // os/arch as Go spells it, e.g. "linux/amd64"
};
BuildInfo buildInfo();

// `spotfit version` output: human-readable lines, or one JSON object with the same fields.
std::string formatBuildInfo(const BuildInfo& info);
std::string buildInfoJson(const BuildInfo& info);

}  // namespace spotfit::cli

#include <iostream>

#include "cli/args.hpp"
#include "cli/build_info.hpp"

namespace spotfit::cli {
namespace {

int runVersion(const std::vector<std::string>& args) {
  Flags flags("version", "[--output text|json]",
              "Print spotfit's version, the git commit and tree state it was built from, the build date\n"
              "(SOURCE_DATE_EPOCH or the commit time, so rebuilds of a commit are identical), the compiler and\n"
              "the platform. The same fields are the labels of spotfit_build_info on /metrics.");
  flags.string("output", "FORMAT", "text or json", std::string("text"));
  if (!flags.parse(args)) return kExitOk;
  std::string output = flags.get("output");
  if (output != "text" && output != "json") throw UsageError{"flag --output takes text or json, got '" + output + "'"};
  BuildInfo info = buildInfo();
  std::cout << (output == "json" ? buildInfoJson(info) : formatBuildInfo(info));
  return kExitOk;
}

const Command kVersion("version", "print the version, git commit, build date and compiler", runVersion);

}  // namespace
}  // namespace spotfit::cli

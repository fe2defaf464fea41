#include <iostream>

#include "cli/args.hpp"

namespace spotfit::cli {
namespace {

int runVersion(const std::vector<std::string>& args) {
  Flags flags("version", "", "Print spotfit's version.");
  if (!flags.parse(args)) return kExitOk;
  std::cout << "spotfit " << version() << "\n";
  return kExitOk;
}

const Command kVersion("version", "print the version", runVersion);

}  // namespace
}  // namespace spotfit::cli

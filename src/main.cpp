// spotfit: subcommand dispatch only. Each subcommand registers itself in src/cli/<name>.cpp.

#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "cli/args.hpp"
#include "server/allocator.hpp"

namespace {

void printUsage(std::ostream& o) {
  o << "spotfit " << spotfit::cli::version()
    << " — cheap, robust batch workflows on Kubernetes (webhook, scheduler extender, scaler, simulator)\n\n"
       "Usage: spotfit <command> [flags]\n\nCommands:\n";
  for (const auto& [name, info] : spotfit::cli::commands()) {
    o << "  " << name << std::string(name.size() < 12 ? 12 - name.size() : 1, ' ') << info.summary << "\n";
  }
  o << "\nRun 'spotfit <command> --help' for a command's flags.\n";
}

}  // namespace

int main(int argc, char** argv) {
  spotfit::server::tuneAllocator();  // before any thread or allocation burst: keeps the heap's pages (issue 22)
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    printUsage(std::cout);
    return args.empty() ? spotfit::cli::kExitUsage : spotfit::cli::kExitOk;
  }
  if (args[0] == "--version") args[0] = "version";
  const auto& cmds = spotfit::cli::commands();
  auto it = cmds.find(args[0]);
  if (it == cmds.end()) {
    std::cerr << "spotfit: unknown command '" << args[0] << "' (run 'spotfit --help')\n";
    return spotfit::cli::kExitUsage;
  }
  std::vector<std::string> rest(args.begin() + 1, args.end());
  try {
    return it->second.run(rest);
  } catch (const spotfit::cli::UsageError& e) {
    std::cerr << "spotfit " << args[0] << ": " << e.message << "\n";
    return spotfit::cli::kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << "spotfit " << args[0] << ": " << e.what() << "\n";
    return spotfit::cli::kExitFailure;
  }
}

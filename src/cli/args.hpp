#pragma once
// Subcommand registry and flag parsing shared by every `spotfit` subcommand.
//
// Each subcommand lives in its own src/cli/<name>.cpp and registers itself with a static
// `Command` object, so adding one never touches main.cpp. Flags are declared up front, which gives
// `--help` for free and lets unknown flags and bad values fail with exit code 2 and one line on stderr.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace spotfit::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailure = 1;  // the command ran and failed (bad input file, I/O error, ...)
inline constexpr int kExitUsage = 2;    // unknown flag, missing or malformed value

// Thrown by the parser and caught in main: prints "spotfit <cmd>: <message>" and exits 2.
struct UsageError {
  std::string message;
};

class Flags {
 public:
  Flags(std::string command, std::string usage, std::string description);

  // Declarations. `name` is without dashes ("config"); `valueName` shows in --help ("FILE").
  void string(const std::string& name, const std::string& valueName, const std::string& help,
              std::optional<std::string> def = std::nullopt);
  void strings(const std::string& name, const std::string& valueName, const std::string& help);  // repeatable
  void integer(const std::string& name, const std::string& valueName, const std::string& help,
               std::optional<int64_t> def = std::nullopt, int64_t min = INT64_MIN, int64_t max = INT64_MAX);
  void boolean(const std::string& name, const std::string& help);
  // Positional arguments are refused unless allowed.
  void allowPositional(const std::string& valueName, const std::string& help);

  // Parses argv (without the program and command name). Returns false when --help was asked for (the
  // help text has then been printed to stdout). Throws UsageError on bad input.
  bool parse(const std::vector<std::string>& args);

  bool has(const std::string& name) const;    // given on the command line (or has a default)
  bool given(const std::string& name) const;  // given on the command line
  std::string get(const std::string& name) const;
  std::vector<std::string> getAll(const std::string& name) const;
  int64_t getInt(const std::string& name) const;
  bool getBool(const std::string& name) const;
  const std::vector<std::string>& positional() const { return positional_; }

  std::string help() const;
  // Throws UsageError("missing required flag --name") unless the flag is set.
  void require(const std::string& name) const;

 private:
  enum class Kind { String, Strings, Int, Bool };
  struct Spec {
    Kind kind;
    std::string valueName, help;
    std::optional<std::string> def;
    int64_t min = INT64_MIN, max = INT64_MAX;
  };
  std::string command_, usage_, description_;
  std::vector<std::string> order_;
  std::map<std::string, Spec> specs_;
  std::map<std::string, std::vector<std::string>> values_;
  std::optional<std::pair<std::string, std::string>> positionalSpec_;
  std::vector<std::string> positional_;
};

struct Command {
  using Run = std::function<int(const std::vector<std::string>& args)>;
  Command(std::string name, std::string summary, Run run);  // registers itself
};

struct CommandInfo {
  std::string summary;
  Command::Run run;
};

// Registered subcommands by name (sorted).
const std::map<std::string, CommandInfo>& commands();

// Version string compiled into the binary.
std::string version();

}  // namespace spotfit::cli

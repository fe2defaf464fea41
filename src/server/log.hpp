#pragma once
// Structured JSON logs (one object per line) on top of spdlog.
//
// Every line is `{"ts":"2026-11-22T12:00:00.123Z","level":"info","logger":"server","msg":"...",<fields>}`.
// Loggers are plain `spdlog::logger` objects that are never put in spdlog's global registry, so several
// servers (e.g. in one test binary) never share state. Plain spdlog calls (`logger->info("text")`) also
// produce valid JSON: the payload becomes "msg". `Log` adds typed fields:
//
//   server::Log log(logger);
//   log.info("listening", {{"addr", "0.0.0.0"}, {"port", 8443}});

#include <spdlog/logger.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <type_traits>

#include "base/result.hpp"

namespace spotfit::server {

// One structured field; the value is stored JSON-encoded.
struct Field {
  std::string key;
  std::string json;

  Field(std::string k, std::string_view v);
  Field(std::string k, const char* v) : Field(std::move(k), std::string_view(v)) {}
  Field(std::string k, const std::string& v) : Field(std::move(k), std::string_view(v)) {}
  Field(std::string k, bool v) : key(std::move(k)), json(v ? "true" : "false") {}
  Field(std::string k, double v);
  template <typename I>
  requires(std::is_integral_v<I> && !std::is_same_v<I, bool> && !std::is_same_v<I, char>) Field(std::string k, I v)
      : key(std::move(k)), json(std::to_string(v)) {}
};

// "trace" | "debug" | "info" | "warn" | "error" | "off".
Result<spdlog::level::level_enum> parseLogLevel(std::string_view name);

// A JSON-formatting logger writing to stderr (or to `out` when given, for tests).
std::shared_ptr<spdlog::logger> makeJsonLogger(std::string name, spdlog::level::level_enum level = spdlog::level::info);
std::shared_ptr<spdlog::logger> makeJsonLogger(std::string name, std::ostream& out,
                                               spdlog::level::level_enum level = spdlog::level::info);
std::shared_ptr<spdlog::logger> makeJsonLogger(std::string name, spdlog::sink_ptr sink,
                                               spdlog::level::level_enum level = spdlog::level::info);
// A logger that drops everything (default for embedded servers that were given none).
std::shared_ptr<spdlog::logger> makeNullLogger(std::string name = "null");

// Thin wrapper adding structured fields to a shared spdlog logger.
class Log {
 public:
  Log() : Log(makeNullLogger()) {}
  explicit Log(std::shared_ptr<spdlog::logger> logger) : logger_(std::move(logger)) {}

  void trace(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    write(spdlog::level::trace, msg, fields);
  }
  void debug(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    write(spdlog::level::debug, msg, fields);
  }
  void info(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    write(spdlog::level::info, msg, fields);
  }
  void warn(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    write(spdlog::level::warn, msg, fields);
  }
  void error(std::string_view msg, std::initializer_list<Field> fields = {}) const {
    write(spdlog::level::err, msg, fields);
  }
  void write(spdlog::level::level_enum level, std::string_view msg, std::initializer_list<Field> fields) const;

  bool enabled(spdlog::level::level_enum level) const { return logger_->should_log(level); }
  const std::shared_ptr<spdlog::logger>& logger() const { return logger_; }

 private:
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace spotfit::server

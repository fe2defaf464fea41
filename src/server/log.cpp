#include "server/log.hpp"

#include <spdlog/formatter.h>
#include <spdlog/sinks/null_sink.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include <array>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <vector>

#include "base/json_escape.hpp"

namespace spotfit::server {

namespace {

// Log::write appends its fields to the payload after this separator, already JSON-encoded
// (`,"key":value...`), so they travel with the record through any sink, including buffering ones.
constexpr char kFieldsMark = '\x1e';

class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(128 + msg.payload.size());
    line += "{\"ts\":\"";
    auto tp = std::chrono::time_point_cast<std::chrono::milliseconds>(msg.time);
    std::time_t secs = std::chrono::system_clock::to_time_t(tp);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::array<char, 40> buf{};
    auto ms = static_cast<int>(tp.time_since_epoch().count() % 1000);
    size_t n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &tm);
    line.append(buf.data(), n);
    std::array<char, 8> frac{};
    int fn = std::snprintf(frac.data(), frac.size(), ".%03dZ", ms < 0 ? 0 : ms);
    line.append(frac.data(), static_cast<size_t>(fn));
    line += "\",\"level\":\"";
    auto lv = spdlog::level::to_string_view(msg.level);
    line.append(lv.data(), lv.size());
    line += "\",\"logger\":\"";
    base::appendJsonEscaped(line, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
    line += "\",\"msg\":\"";
    std::string_view payload(msg.payload.data(), msg.payload.size());
    std::string_view fields;
    if (auto mark = payload.find(kFieldsMark); mark != std::string_view::npos) {
      fields = payload.substr(mark + 1);
      payload = payload.substr(0, mark);
    }
    base::appendJsonEscaped(line, payload);
    line += '"';
    line.append(fields.data(), fields.size());
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonFormatter>(); }
};

std::shared_ptr<spdlog::logger> finish(std::shared_ptr<spdlog::logger> logger, spdlog::level::level_enum level) {
  logger->set_formatter(std::make_unique<JsonFormatter>());
  logger->set_level(level);
  logger->flush_on(spdlog::level::trace);
  return logger;
}

}  // namespace

Field::Field(std::string k, std::string_view v) : key(std::move(k)) {
  json.reserve(v.size() + 2);
  json += '"';
  base::appendJsonEscaped(json, v);
  json += '"';
}

Field::Field(std::string k, double v) : key(std::move(k)) {
  if (!std::isfinite(v)) {
    json = "null";
    return;
  }
  std::array<char, 32> buf{};
  int n = std::snprintf(buf.data(), buf.size(), "%.6g", v);
  json.assign(buf.data(), static_cast<size_t>(n));
}

Result<spdlog::level::level_enum> parseLogLevel(std::string_view name) {
  if (name == "trace") return spdlog::level::trace;
  if (name == "debug") return spdlog::level::debug;
  if (name == "info") return spdlog::level::info;
  if (name == "warn" || name == "warning") return spdlog::level::warn;
  if (name == "error") return spdlog::level::err;
  if (name == "off") return spdlog::level::off;
  return makeError("invalid", "unknown log level '" + std::string(name) + "' (trace, debug, info, warn, error, off)");
}

std::shared_ptr<spdlog::logger> makeJsonLogger(std::string name, spdlog::level::level_enum level) {
  return finish(std::make_shared<spdlog::logger>(std::move(name), std::make_shared<spdlog::sinks::stderr_sink_mt>()),
                level);
}

std::shared_ptr<spdlog::logger> makeJsonLogger(std::string name, std::ostream& out, spdlog::level::level_enum level) {
  return finish(
      std::make_shared<spdlog::logger>(std::move(name), std::make_shared<spdlog::sinks::ostream_sink_mt>(out)), level);
}

std::shared_ptr<spdlog::logger> makeJsonLogger(std::string name, spdlog::sink_ptr sink,
                                               spdlog::level::level_enum level) {
  return finish(std::make_shared<spdlog::logger>(std::move(name), std::move(sink)), level);
}

std::shared_ptr<spdlog::logger> makeNullLogger(std::string name) {
  auto l = std::make_shared<spdlog::logger>(std::move(name), std::make_shared<spdlog::sinks::null_sink_mt>());
  l->set_level(spdlog::level::off);
  return l;
}

void Log::write(spdlog::level::level_enum level, std::string_view msg, std::initializer_list<Field> fields) const {
  if (!logger_->should_log(level)) return;
  std::string payload;
  payload.reserve(msg.size() + 32 * fields.size());
  for (char c : msg) payload += c == kFieldsMark ? ' ' : c;
  if (fields.size() > 0) {
    payload += kFieldsMark;
    for (const Field& f : fields) {
      payload += ",\"";
      base::appendJsonEscaped(payload, f.key);
      payload += "\":";
      payload += f.json;
    }
  }
  logger_->log(level, spdlog::string_view_t(payload.data(), payload.size()));
}

}  // namespace spotfit::server

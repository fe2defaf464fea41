// JSON log lines: valid JSON, escaped, with typed fields, level filtering.
#include "server/log.hpp"

#include <gtest/gtest.h>
#include <rapidjson/document.h>

#include <sstream>

#include "kube/json.hpp"

namespace spotfit::server {
namespace {

spotfit::kube::json::Document parseLine(const std::string& line) {
  spotfit::kube::json::Document d;
  d.Parse(line.c_str(), line.size());
  EXPECT_FALSE(d.HasParseError()) << line;
  return d;
}

TEST(Log, WritesOneJsonObjectPerLineWithFields) {
  std::ostringstream out;
  Log log(makeJsonLogger("server", out, spdlog::level::info));
  log.info("listening \"now\"\n", {{"port", 8443}, {"addr", "0.0.0.0"}, {"tls", true}, {"ratio", 0.25}});
  log.debug("hidden");
  log.logger()->warn("plain {} call", 7);
  std::string text = out.str();
  std::istringstream lines(text);
  std::string first, second, third;
  std::getline(lines, first);
  std::getline(lines, second);
  EXPECT_FALSE(std::getline(lines, third)) << "debug must be filtered at info";
  auto a = parseLine(first);
  EXPECT_STREQ(a["level"].GetString(), "info");
  EXPECT_STREQ(a["logger"].GetString(), "server");
  EXPECT_STREQ(a["msg"].GetString(), "listening \"now\"\n");
  EXPECT_EQ(a["port"].GetInt(), 8443);
  EXPECT_STREQ(a["addr"].GetString(), "0.0.0.0");
  EXPECT_TRUE(a["tls"].GetBool());
  EXPECT_DOUBLE_EQ(a["ratio"].GetDouble(), 0.25);
  EXPECT_EQ(std::string(a["ts"].GetString()).size(), 24u);  // 2026-11-22T12:00:00.123Z
  auto b = parseLine(second);
  EXPECT_STREQ(b["msg"].GetString(), "plain 7 call");
  EXPECT_STREQ(b["level"].GetString(), "warning");
  EXPECT_FALSE(b.HasMember("port")) << "fields never leak into the next line";
}

TEST(Log, ParsesLevels) {
  EXPECT_EQ(*parseLogLevel("debug"), spdlog::level::debug);
  EXPECT_EQ(*parseLogLevel("warn"), spdlog::level::warn);
  EXPECT_EQ(*parseLogLevel("off"), spdlog::level::off);
  auto bad = parseLogLevel("verbose");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("unknown log level 'verbose'"), std::string::npos);
}

}  // namespace
}  // namespace spotfit::server

// Strict config reading: errors name the file, line and key path.
#include "server/config.hpp"

#include <gtest/gtest.h>

#include "server/options.hpp"

namespace spotfit::server {
namespace {

using namespace std::chrono_literals;

Status readServer(const std::string& yaml, ServerConfig& cfg) {
  auto doc = config::parseDocument(yaml, "config.yaml");
  if (!doc) return doc.error();
  return readServerConfig(doc->section("server"), cfg);
}

std::string serverError(const std::string& yaml) {
  ServerConfig cfg;
  Status st = readServer(yaml, cfg);
  return st ? "<ok>" : st.error().message;
}

TEST(Config, ReadsTheServerSection) {
  ServerConfig cfg;
  ASSERT_TRUE(readServer(R"(
server:
  httpsAddr: 0.0.0.0:9443
  metricsAddr: "127.0.0.1:9090"
  tlsCertFile: /certs/tls.crt
  tlsKeyFile: /certs/tls.key
  logLevel: debug
  certReloadInterval: 500ms
  limits:
    maxBodyBytes: 1048576
    maxConnections: 10
    maxRejectingConnections: 0
    rejectTimeout: 250ms
    headerTimeout: 2s
    idleTimeout: 1.5m
)",
                         cfg));
  EXPECT_EQ(cfg.httpsAddr, "0.0.0.0:9443");
  EXPECT_EQ(cfg.metricsAddr, "127.0.0.1:9090");
  EXPECT_EQ(cfg.tlsKeyFile, "/certs/tls.key");
  EXPECT_EQ(cfg.logLevel, "debug");
  EXPECT_EQ(cfg.certReloadInterval, 500ms);
  EXPECT_EQ(cfg.limits.maxBodyBytes, 1048576u);
  EXPECT_EQ(cfg.limits.maxConnections, 10u);
  EXPECT_EQ(cfg.limits.maxRejectingConnections, 0u);
  EXPECT_EQ(cfg.limits.rejectTimeout, 250ms);
  EXPECT_EQ(cfg.limits.headerTimeout, 2s);
  EXPECT_EQ(cfg.limits.idleTimeout, 90s);
  EXPECT_EQ(cfg.limits.bodyTimeout, 30s) << "absent keys keep their defaults";
  EXPECT_EQ(cfg.limits.maxHeaderBytes, 16u * 1024);
}

// One grammar in every section: `1h30m` was refused under server: while the scaler took it, and a bare
// number was seconds here while the scaler refused it.
TEST(Config, DurationsUseTheOneGoGrammar) {
  ServerConfig cfg;
  ASSERT_TRUE(readServer("server:\n  limits:\n    idleTimeout: 1h30m\n    bodyTimeout: 1m0.5s\n", cfg));
  EXPECT_EQ(cfg.limits.idleTimeout, 90min);
  EXPECT_EQ(cfg.limits.bodyTimeout, 60500ms);
  EXPECT_EQ(serverError("server:\n  limits:\n    idleTimeout: 10\n"),
            "config.yaml:3: server.limits.idleTimeout: expected a duration like 500ms, 10s, 2m, got '10'");
}

TEST(Config, WrongTypeNamesFileLineAndKeyPath) {
  EXPECT_EQ(serverError("server:\n  limits:\n    maxBodyBytes: lots\n"),
            "config.yaml:3: server.limits.maxBodyBytes: expected an integer, got 'lots'");
  EXPECT_EQ(serverError("server:\n  httpsAddr: [1, 2]\n"),
            "config.yaml:2: server.httpsAddr: expected a string, got a list");
  EXPECT_EQ(serverError("server:\n  limits: 5\n"), "config.yaml:2: server.limits: expected a mapping, got '5'");
  EXPECT_EQ(serverError("server:\n  limits:\n    idleTimeout: soon\n"),
            "config.yaml:3: server.limits.idleTimeout: expected a duration like 500ms, 10s, 2m, got 'soon'");
  EXPECT_EQ(serverError("server:\n  logLevel: loud\n"),
            "config.yaml:2: server.logLevel: expected one of trace, debug, info, warn, error, off, got 'loud'");
  EXPECT_EQ(serverError("server:\n  limits:\n    maxConnections: 0\n"),
            "config.yaml:3: server.limits.maxConnections: must be between 1 and 1000000, got 0");
  EXPECT_EQ(serverError("server:\n  limits:\n    maxRejectingConnections: -1\n"),
            "config.yaml:3: server.limits.maxRejectingConnections: must be between 0 and 10000, got -1");
  EXPECT_EQ(serverError("server:\n  httpsAddr: nohost\n"),
            "config.yaml:2: server.httpsAddr: listen address 'nohost' needs a port (host:port or :port)");
  EXPECT_EQ(serverError("server: [a]\n"), "config.yaml:1: server: expected a mapping, got a list");
}

TEST(Config, ClientAuth) {
  ServerConfig cfg;
  EXPECT_TRUE(cfg.clientAuth.caFile.empty()) << "off unless configured";
  ASSERT_TRUE(readServer("server:\n  clientAuth:\n    caFile: /etc/spotfit/client-ca/ca.crt\n", cfg));
  EXPECT_EQ(cfg.clientAuth.caFile, "/etc/spotfit/client-ca/ca.crt");
  EXPECT_TRUE(cfg.clientAuth.paths.empty());
  ASSERT_TRUE(readServer("server:\n  clientAuth:\n    caFile: ca.crt\n    paths: [/mutate, /extender/filter]\n", cfg));
  EXPECT_EQ(cfg.clientAuth.paths, (std::vector<std::string>{"/mutate", "/extender/filter"}));
  EXPECT_EQ(serverError("server:\n  clientAuth:\n    paths: [/mutate]\n"),
            "config.yaml:3: server.clientAuth.caFile: required but missing");
  EXPECT_EQ(serverError("server:\n  clientAuth:\n    caFile: \"\"\n"),
            "config.yaml:3: server.clientAuth.caFile: must not be empty");
  EXPECT_EQ(
      serverError("server:\n  clientAuth:\n    caFile: ca.crt\n    paths: [mutate]\n"),
      "config.yaml:4: server.clientAuth.paths: 'mutate' is not a path (it must start with '/' and have no query)");
  EXPECT_EQ(serverError("server:\n  clientAuth:\n    caFile: ca.crt\n    cafile: x\n")
                .rfind("config.yaml:4: server.clientAuth.cafile: unknown key", 0),
            0u);
}

TEST(Config, UnknownKeysAreRejected) {
  std::string e = serverError("server:\n  limits:\n    maxBodyBytes: 10\n    maxBodyByte: 10\n");
  EXPECT_EQ(e.rfind("config.yaml:4: server.limits.maxBodyByte: unknown key (known: ", 0), 0u) << e;
  EXPECT_NE(e.find("maxBodyBytes"), std::string::npos) << e;
  EXPECT_EQ(serverError("server:\n  httpAddr: :1\n").rfind("config.yaml:2: server.httpAddr: unknown key", 0), 0u);
}

TEST(Config, UnknownTopLevelSectionsAreRejected) {
  auto doc = config::parseDocument("server: {}\nwebhook:\n  x: 1\nscalar: {}\n", "c.yaml");
  ASSERT_TRUE(doc);
  EXPECT_TRUE(doc->checkSections({"server", "webhook", "scalar"}));
  Status st = doc->checkSections({"server", "webhook", "scaler"});
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "c.yaml:4: scalar: unknown section (known: server, webhook, scaler)");
}

TEST(Config, DocumentErrors) {
  auto bad = config::parseDocument("server:\n  a: [1, 2\n", "x.yaml");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().message.rfind("x.yaml:", 0), 0u) << bad.error().message;
  EXPECT_NE(bad.error().message.find("invalid YAML"), std::string::npos);
  auto list = config::parseDocument("- a\n- b\n", "x.yaml");
  ASSERT_FALSE(list);
  EXPECT_NE(list.error().message.find("expected a mapping of sections"), std::string::npos);
  auto empty = config::parseDocument("", "x.yaml");
  ASSERT_TRUE(empty);
  EXPECT_FALSE(empty->section("server").present());
  auto missing = config::loadDocument("/nonexistent/spotfit.yaml");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "/nonexistent/spotfit.yaml: cannot read config file");
}

// serve --config goes through the bounded YAML loader (yaml/bounded.hpp), as mutate -f and simulate -f do;
// before, YAML::Load expanded aliases without limit and walked any depth yaml-cpp accepts.
TEST(Config, DocumentBounds) {
  auto errorOf = [](const std::string& text) {
    auto doc = config::parseDocument(text, "c.yaml");
    return doc ? std::string() : doc.error().message;
  };
  // The billion laughs, under server: (10 levels of 9 aliases).
  std::string bomb = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int i = 1; i < 10; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int k = 0; k < 9; ++k) bomb += std::string(k ? ", " : "") + "*a" + std::to_string(i - 1);
    bomb += "]\n";
  }
  std::string indented;
  for (size_t at = 0, nl; at < bomb.size(); at = nl + 1) {
    nl = bomb.find('\n', at);
    indented += "  " + bomb.substr(at, nl - at + 1);
  }
  std::string e = errorOf("server:\n" + indented);
  EXPECT_EQ(e.rfind("c.yaml:", 0), 0u) << e;
  EXPECT_NE(e.find("expands (through aliases) beyond 100000 nodes"), std::string::npos) << e;
  // 65 nested mappings under server:, refused at the 65th.
  std::string deep = "server:\n";
  for (int i = 0; i < 64; ++i) deep += std::string(2 * (i + 1), ' ') + "k:\n";
  EXPECT_EQ(errorOf(deep), "c.yaml:65: document nests deeper than 64 levels");
  // The ',' yaml-cpp 0.7.0 loops on, a repeated key, oversized text.
  EXPECT_EQ(errorOf(",2webh1,24\n  od4\n"),
            "c.yaml:1: ',' outside a flow collection ([...] or {...}) cannot start a node");
  EXPECT_EQ(errorOf("server: {}\nserver: {}\n"), "c.yaml:2: duplicate key 'server'");
  e = errorOf("server:\n  x: " + std::string(config::kMaxConfigBytes, 'x') + "\n");
  EXPECT_NE(e.find("exceeds the limit of 1048576"), std::string::npos) << e;
}

TEST(ConfigReader, HelpersForOtherSections) {
  auto doc = config::parseDocument(R"(webhook:
  namespaces: [a, b]
  labels: {team: ml}
  enabled: yes
  ratio: 0.5
  pools:
    - name: spot
      weight: 3
    - name: od
      weight: x
)",
                                   "w.yaml");
  ASSERT_TRUE(doc);
  std::vector<std::string> ns;
  std::map<std::string, std::string> labels;
  bool enabled = false;
  double ratio = 0;
  std::vector<std::pair<std::string, int>> pools;
  config::Reader r(doc->section("webhook"));
  r.strings("namespaces", ns).stringMap("labels", labels).boolean("enabled", enabled).number("ratio", ratio, 0, 1);
  r.list("pools", [&](config::Reader& p, size_t) {
    std::string name;
    int weight = 0;
    p.require("name").string("name", name).integer("weight", weight, 0, 100);
    pools.emplace_back(name, weight);
  });
  Status st = r.finish();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().message, "w.yaml:10: webhook.pools[1].weight: expected an integer, got 'x'");
  EXPECT_EQ(ns, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(labels.at("team"), "ml");
  EXPECT_TRUE(enabled);
  EXPECT_DOUBLE_EQ(ratio, 0.5);
  ASSERT_GE(pools.size(), 1u);
  EXPECT_EQ(pools[0], (std::pair<std::string, int>{"spot", 3}));
}

TEST(ConfigReader, RequireAndCustomValidation) {
  auto doc = config::parseDocument("extender:\n  weight: 5\n", "e.yaml");
  ASSERT_TRUE(doc);
  {
    config::Reader r(doc->section("extender"));
    int64_t w = 0;
    r.integer("weight", w).require("mode");
    EXPECT_EQ(r.finish().error().message, "e.yaml:2: extender.mode: required but missing");
  }
  {
    config::Reader r(doc->section("extender"));
    int64_t w = 0;
    r.integer("weight", w);
    if (w % 2 != 0) r.fail("weight", "must be even");
    EXPECT_EQ(r.finish().error().message, "e.yaml:2: extender.weight: must be even");
  }
  config::Reader absent(doc->section("scaler"));
  std::string s = "default";
  absent.string("x", s);
  EXPECT_TRUE(absent.finish());
  EXPECT_EQ(s, "default");
}

TEST(ListenAddress, Parses) {
  auto a = parseListenAddress(":8443");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->host, "");
  EXPECT_EQ(a->port, 8443);
  auto b = parseListenAddress("[::1]:0");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->host, "::1");
  EXPECT_FALSE(parseListenAddress("x:99999"));
  EXPECT_FALSE(parseListenAddress("x:"));
  EXPECT_FALSE(parseListenAddress("8443"));
}

}  // namespace
}  // namespace spotfit::server

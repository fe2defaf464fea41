// The serve plugin mechanism: registration, section ownership, context contents, hooks, errors.
//
// serve_plugins.cpp is part of the `spotfit` executable, not of a library, so it is compiled into this
// test binary directly.
#include "cli/serve_plugins.cpp"  // NOLINT(bugprone-suspicious-include)

#include <gtest/gtest.h>

#include <stdexcept>

namespace spotfit::cli {
namespace {

const ServePlugin kRegisteredB("zz-test-b", "", [](ServeContext&) { return Status{}; });
const ServePlugin kRegisteredA("zz-test-a", "testsection", [](ServeContext&) { return Status{}; });

TEST(ServePlugins, StaticRegistrationIsSortedByName) {
  auto all = servePlugins();
  std::vector<std::string> names;
  for (const auto& p : all) names.push_back(p.name);
  auto a = std::find(names.begin(), names.end(), "zz-test-a");
  auto b = std::find(names.begin(), names.end(), "zz-test-b");
  ASSERT_NE(a, names.end());
  ASSERT_NE(b, names.end());
  EXPECT_LT(a, b);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  auto known = knownSections(all);
  EXPECT_EQ(known.front(), "server");
  EXPECT_NE(std::find(known.begin(), known.end(), "testsection"), known.end());
}

TEST(ServePlugins, ConfigureGetsItsSectionEnvironmentAndRegistersRoutesAndHooks) {
  auto doc = server::config::parseDocument("server: {}\nwebhook:\n  dryRun: true\n", "c.yaml");
  ASSERT_TRUE(doc);
  server::Server srv(server::ServerConfig{});
  std::vector<std::string> events;
  bool dryRun = false;
  std::vector<ServePluginInfo> plugins{
      {"webhook", "webhook",
       [&](ServeContext& ctx) -> Status {
         server::config::Reader r(ctx.section);
         r.boolean("dryRun", dryRun);
         if (Status st = r.finish(); !st) return st;
         EXPECT_TRUE(ctx.scaler);
         EXPECT_EQ(ctx.kubeconfig, "/k/config");
         EXPECT_TRUE(ctx.kubernetesConfigured());
         ctx.router.add("POST", "/mutate", [](const server::Request&) { return server::Response::json(200, "{}"); });
         ctx.readiness.setFeature("webhook", true);
         ctx.onStart([&] {
           events.push_back("start webhook");
           return Status{};
         });
         ctx.onStop([&] { events.push_back("stop webhook"); });
         return {};
       }},
      {"extender", "extender", [&](ServeContext& ctx) -> Status {
         EXPECT_FALSE(ctx.section.present()) << "no extender: section in the file";
         ctx.onStop([&] { events.push_back("stop extender"); });
         return {};
       }}};
  auto hooks =
      configurePlugins(plugins, srv, *doc, ServeEnvironment{true, "/k/config", false}, server::makeNullLogger());
  ASSERT_TRUE(hooks) << hooks.error().message;
  EXPECT_TRUE(dryRun);
  EXPECT_NE(srv.router().find("POST", "/mutate").handler, nullptr);
  EXPECT_NE(srv.readiness().evaluate().body.find("webhook: on"), std::string::npos);
  ASSERT_EQ(hooks->start.size(), 1u);
  ASSERT_EQ(hooks->stop.size(), 2u);
  EXPECT_TRUE(hooks->start[0]());
  for (auto it = hooks->stop.rbegin(); it != hooks->stop.rend(); ++it) (*it)();
  EXPECT_EQ(events, (std::vector<std::string>{"start webhook", "stop extender", "stop webhook"}));
}

TEST(ServePlugins, ConfigErrorsAndExceptionsStopConfiguration) {
  auto doc = server::config::parseDocument("scaler:\n  maxNodes: many\n", "s.yaml");
  ASSERT_TRUE(doc);
  server::Server srv(server::ServerConfig{});
  bool laterRan = false;
  std::vector<ServePluginInfo> plugins{{"scaler", "scaler",
                                        [](ServeContext& ctx) -> Status {
                                          int64_t n = 0;
                                          server::config::Reader r(ctx.section);
                                          r.integer("maxNodes", n, 0);
                                          return r.finish();
                                        }},
                                       {"z", "", [&](ServeContext&) -> Status {
                                          laterRan = true;
                                          return {};
                                        }}};
  auto r = configurePlugins(plugins, srv, *doc, {}, server::makeNullLogger());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().message, "s.yaml:2: scaler.maxNodes: expected an integer, got 'many'");
  EXPECT_FALSE(laterRan);

  std::vector<ServePluginInfo> throwing{{"boom", "", [](ServeContext&) -> Status { throw std::runtime_error("bad"); }}};
  auto t = configurePlugins(throwing, srv, *doc, {}, server::makeNullLogger());
  ASSERT_FALSE(t);
  EXPECT_EQ(t.error().message, "boom plugin: bad");
}

}  // namespace
}  // namespace spotfit::cli

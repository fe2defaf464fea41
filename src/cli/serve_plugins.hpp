#pragma once
// Plugins of `spotfit serve`: how the webhook, the extender and the scaler join the server without
// editing serve.cpp.
//
// A plugin is a static `ServePlugin` object in its own src/cli/serve_<name>.cpp (picked up by the CLI
// glob, like `cli::Command`). `spotfit serve` loads the config file, then calls every plugin's
// `configure` in name order with a `ServeContext`, starts the listeners, runs the `onStart` hooks, and on
// SIGTERM/SIGINT runs the `onStop` hooks (reverse order) before draining HTTP.
//
//   // src/cli/serve_webhook.cpp
//   #include "cli/serve_plugins.hpp"
//   namespace spotfit::cli {
//   namespace {
//   Status configureWebhook(ServeContext& ctx) {
//     WebhookConfig cfg;                                   // defaults
//     server::config::Reader r(ctx.section);               // the `webhook:` section, strict
//     r.string("namespace", cfg.ns).boolean("dryRun", cfg.dryRun);
//     if (Status st = r.finish(); !st) return st;          // "config.yaml:7: webhook.dryRun: expected true or false,
//     got 'x'" auto policy = std::make_shared<webhook::Policy>(cfg, ctx.metrics); ctx.router.add("POST", "/mutate",
//     [policy](const server::Request& q) { return policy->serve(q); }); ctx.readiness.addCheck("webhook", [policy] {
//     return server::CheckResult::pass(); }); return {};
//   }
//   const ServePlugin kWebhook("webhook", "webhook", configureWebhook);
//   }  // namespace
//   }  // namespace spotfit::cli
//
// Rules: `configure` must not block or start threads (do that in onStart); return an error Status for
// bad config (serve then exits 1 with the message); report what is disabled with
// `ctx.readiness.setFeature("name", false, "why")` instead of failing when there is no cluster.

#include <prometheus/registry.h>
#include <spdlog/logger.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "server/config.hpp"
#include "server/http.hpp"
#include "server/log.hpp"
#include "server/options.hpp"
#include "server/readiness.hpp"
#include "server/server.hpp"

namespace spotfit::cli {

// Start/stop hooks collected from all plugins while they are configured.
struct ServeHooks {
  std::vector<std::function<Status()>> start;
  std::vector<std::function<void()>> stop;
};

// Everything a plugin may use, valid from `configure` until the process exits (the objects live in
// runServe's frame, which outlives every hook).
struct ServeContext {
  server::Router& router;                    // HTTPS routes: POST /mutate, /extender/filter, ...
  server::Router& plainRouter;               // extra plain-HTTP routes (next to /metrics /healthz /readyz)
  prometheus::Registry& metrics;             // served at /metrics; register families here
  server::Readiness& readiness;              // addCheck(): gates /readyz; setFeature(): "name: on|off (why)"
  std::shared_ptr<spdlog::logger> logger;    // JSON logger; wrap in server::Log for structured fields
  server::config::Section section;           // this plugin's top-level section; present() is false if absent
  const server::config::Document& document;  // the whole config file (read-only)
  const server::ServerConfig& serverConfig;  // effective `server:` settings after flags
  bool scaler = false;                       // --scaler was given
  std::string kubeconfig;                    // --kubeconfig, else server.kubeconfig, else $KUBECONFIG; "" = none
  bool inCluster = false;                    // in a pod: KUBERNETES_SERVICE_HOST and the service-account token exist
  ServeHooks* hooks = nullptr;

  // True when some way to reach an API server exists (kubeconfig path given or in-cluster).
  bool kubernetesConfigured() const { return inCluster || !kubeconfig.empty(); }
  // Runs after the listeners are up; an error stops serve (exit 1).
  void onStart(std::function<Status()> fn) const { hooks->start.push_back(std::move(fn)); }
  // Runs on SIGTERM/SIGINT before HTTP drains; stop loops, release leases. Reverse registration order.
  void onStop(std::function<void()> fn) const { hooks->stop.push_back(std::move(fn)); }
  server::Log log() const { return server::Log(logger); }
};

struct ServePlugin {
  using Configure = std::function<Status(ServeContext&)>;
  // `name`: unique, orders plugins and labels their logs. `section`: the top-level config key this
  // plugin reads ("" for none); sections no plugin claims are config errors.
  ServePlugin(std::string name, std::string section, Configure configure);  // registers itself
};

struct ServePluginInfo {
  std::string name;
  std::string section;
  ServePlugin::Configure configure;
};

// Registered plugins, sorted by name.
std::vector<ServePluginInfo> servePlugins();

// What serve found out about its surroundings; copied into every ServeContext.
struct ServeEnvironment {
  bool scaler = false;
  std::string kubeconfig;
  bool inCluster = false;
};

// Top-level config sections serve accepts: "server" and every section a plugin claimed.
std::vector<std::string> knownSections(const std::vector<ServePluginInfo>& plugins);

// Calls each plugin's `configure` in order with its own section of `document`. Returns the collected
// hooks, or the first error (an exception escaping a plugin becomes an error naming the plugin).
Result<ServeHooks> configurePlugins(const std::vector<ServePluginInfo>& plugins, server::Server& server,
                                    const server::config::Document& document, const ServeEnvironment& env,
                                    const std::shared_ptr<spdlog::logger>& logger);

}  // namespace spotfit::cli

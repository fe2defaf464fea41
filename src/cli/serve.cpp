// `spotfit serve`: the HTTPS webhook/extender server, the metrics listener and (with --scaler) the scaler.
// The roles join through serve plugins (serve_plugins.hpp); this file only wires config, flags, logs,
// signals and the serving shell together.

#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cli/args.hpp"
#include "cli/build_info.hpp"
#include "cli/serve_plugins.hpp"
#include "server/config.hpp"
#include "server/log.hpp"
#include "server/options.hpp"
#include "server/server.hpp"

namespace spotfit::cli {
namespace {

constexpr const char* kServiceAccountToken = "/var/run/secrets/kubernetes.io/serviceaccount/token";

const char* signalName(int sig) {
  return sig == SIGTERM ? "SIGTERM" : "SIGINT";
}

int fail(const std::string& message) {
  std::cerr << "spotfit serve: " << message << "\n";
  return kExitFailure;
}

int runServe(const std::vector<std::string>& args) {
  Flags flags("serve", "[--config FILE] [flags]",
              "Serve the mutating webhook and scheduler extender over HTTPS and /metrics, /healthz, /readyz over\n"
              "plain HTTP; with --scaler also run the leader-elected scaler. Flags override the config file.\n"
              "Runs without a cluster: what needs the API server is reported as off in the log and /readyz.");
  flags.string("config", "FILE", "YAML config file with sections server:, webhook:, extender:, scaler:");
  flags.string("https-addr", "ADDR",
               "HTTPS listen address, host:port or :port (config server.httpsAddr; default :8443)");
  flags.string("metrics-addr", "ADDR", "plain-HTTP listen address for /metrics /healthz /readyz (default :8080)");
  flags.string("tls-cert-file", "FILE", "serving certificate chain, PEM (reloaded when it changes)");
  flags.string("tls-key-file", "FILE", "serving private key, PEM");
  flags.string("client-ca-file", "FILE",
               "mTLS: require client certificates signed by this CA bundle (server.clientAuth.caFile)");
  flags.string("kubeconfig", "FILE", "kubeconfig for the API server (default: in-cluster when in a pod, else none)");
  flags.string("log-level", "LEVEL", "trace, debug, info, warn, error or off (default info)");
  flags.boolean("scaler", "also run the leader-elected scaler");
  flags.boolean("scaler-only",
                "run the scaler alone: no webhook or extender routes, informers or API rights (its own Deployment)");
  if (!flags.parse(args)) return kExitOk;

  server::config::Document doc;
  if (flags.given("config")) {
    auto loaded = server::config::loadDocument(flags.get("config"));
    if (!loaded) return fail(loaded.error().message);
    doc = std::move(*loaded);
  }
  server::ServerConfig cfg;
  if (Status st = server::readServerConfig(doc.section("server"), cfg); !st) return fail(st.error().message);

  std::vector<ServePluginInfo> plugins = servePlugins();
  if (Status st = doc.checkSections(knownSections(plugins)); !st) return fail(st.error().message);
  // The scaler's Deployment shares the config file with the webhook/extender one, so their sections stay
  // valid (checked above) but their plugins are not configured: nothing they would call the API for runs
  // under the scaler's ServiceAccount, and the webhook's account needs none of the scaler's rights.
  const bool scalerOnly = flags.getBool("scaler-only");
  const bool runScaler = flags.getBool("scaler") || scalerOnly;
  if (scalerOnly) std::erase_if(plugins, [](const ServePluginInfo& p) { return p.name != "scaler"; });

  for (const char* name : {"https-addr", "metrics-addr"}) {
    if (!flags.given(name)) continue;
    if (auto a = server::parseListenAddress(flags.get(name)); !a)
      throw UsageError{"flag --" + std::string(name) + ": " + a.error().message};
    (std::string(name) == "https-addr" ? cfg.httpsAddr : cfg.metricsAddr) = flags.get(name);
  }
  if (flags.given("tls-cert-file")) cfg.tlsCertFile = flags.get("tls-cert-file");
  if (flags.given("tls-key-file")) cfg.tlsKeyFile = flags.get("tls-key-file");
  if (flags.given("client-ca-file")) {
    if (flags.get("client-ca-file").empty()) throw UsageError{"flag --client-ca-file: must not be empty"};
    cfg.clientAuth.caFile = flags.get("client-ca-file");
  }
  if (flags.given("kubeconfig")) cfg.kubeconfig = flags.get("kubeconfig");
  if (flags.given("log-level")) {
    if (auto lv = server::parseLogLevel(flags.get("log-level")); !lv)
      throw UsageError{"flag --log-level: " + lv.error().message};
    cfg.logLevel = flags.get("log-level");
  }
  if (cfg.tlsCertFile.empty() || cfg.tlsKeyFile.empty()) {
    throw UsageError{
        "--tls-cert-file and --tls-key-file (or server.tlsCertFile/tlsKeyFile in --config) are required; "
        "'spotfit certs --out DIR --dns localhost' makes a development pair"};
  }
  auto logger = server::makeJsonLogger("spotfit", *server::parseLogLevel(cfg.logLevel));
  server::Log log(logger);

  std::string kubeconfig = cfg.kubeconfig;
  std::string kubeconfigSource = "--kubeconfig/server.kubeconfig";
  if (kubeconfig.empty()) {
    if (const char* env = std::getenv("KUBECONFIG"); env && *env) {
      kubeconfig = env;
      kubeconfigSource = "$KUBECONFIG";
    }
  }
  if (!kubeconfig.empty() && !std::filesystem::exists(kubeconfig)) {
    return fail("kubeconfig " + kubeconfig + " (from " + kubeconfigSource + ") does not exist");
  }
  const char* serviceHost = std::getenv("KUBERNETES_SERVICE_HOST");
  bool inCluster = serviceHost && *serviceHost && std::filesystem::exists(kServiceAccountToken);

  auto registry = std::make_shared<prometheus::Registry>();
  BuildInfo build = buildInfo();
  prometheus::BuildGauge()
      .Name("spotfit_build_info")
      .Help("Always 1; the labels say which build is running (as `spotfit version` prints it)")
      .Register(*registry)
      .Add({{"version", build.version},
            {"git_commit", build.gitCommit},
            {"git_tree_state", build.gitTreeState},
            {"build_date", build.buildDate},
            {"compiler", build.compiler},
            {"platform", build.platform}})
      .Set(1);
  server::Server srv(cfg, logger, registry);
  if (!kubeconfig.empty()) {
    srv.readiness().setFeature("kubernetes", true, "kubeconfig " + kubeconfig);
  } else if (inCluster) {
    srv.readiness().setFeature("kubernetes", true, "in-cluster service account");
  } else {
    srv.readiness().setFeature("kubernetes", false, "no kubeconfig, not in a pod");
    log.warn("no Kubernetes API configured: running without a cluster; features that need the API are off",
             {{"feature", "kubernetes"}});
  }
  srv.readiness().setFeature("scaler", false,
                             runScaler ? "requested, but no scaler plugin is built in" : "--scaler not given");

  auto configured = configurePlugins(plugins, srv, doc, ServeEnvironment{runScaler, kubeconfig, inCluster}, logger);
  if (!configured) return fail(configured.error().message);
  ServeHooks hooks = std::move(*configured);

  // Block the stop signals before any thread starts, so every thread inherits the mask and the main
  // thread alone receives them through sigwait.
  sigset_t stopSignals;
  sigemptyset(&stopSignals);
  sigaddset(&stopSignals, SIGTERM);
  sigaddset(&stopSignals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stopSignals, nullptr);

  if (Status st = srv.start(); !st) {
    log.error("server failed to start", {{"error", st.error().message}});
    return fail(st.error().message);
  }
  for (auto& start : hooks.start) {
    if (Status st = start(); !st) {
      log.error("serve plugin failed to start", {{"error", st.error().message}});
      for (auto it = hooks.stop.rbegin(); it != hooks.stop.rend(); ++it) (*it)();
      srv.shutdown();
      return fail(st.error().message);
    }
  }
  std::string routes;
  for (const auto& p : srv.router().paths()) {
    if (!routes.empty()) routes += ' ';
    routes += p;
  }
  log.info("serving", {{"httpsPort", srv.httpsPort()},
                       {"metricsPort", srv.plainPort()},
                       {"routes", routes},
                       {"plugins", static_cast<int64_t>(plugins.size())},
                       {"pid", static_cast<int64_t>(getpid())}});

  int sig = 0;
  sigwait(&stopSignals, &sig);
  log.info("stop signal received", {{"signal", signalName(sig)}});
  // A second stop signal during the drain ends the process at once (Ctrl-C twice; kubelet would send
  // SIGKILL after the grace period anyway). The watcher polls so that it can be joined after a normal drain.
  std::atomic<bool> drained{false};
  std::thread secondSignal([&stopSignals, &drained, &log] {
    const timespec tick{0, 100'000'000};
    while (!drained.load()) {
      int again = sigtimedwait(&stopSignals, nullptr, &tick);
      if (again == SIGTERM || again == SIGINT) {
        log.warn("second signal: exiting now", {{"signal", signalName(again)}, {"code", kExitFailure}});
        std::_Exit(kExitFailure);  // no destructors: threads may still be draining
      }
    }
  });
  for (auto it = hooks.stop.rbegin(); it != hooks.stop.rend(); ++it) (*it)();
  srv.shutdown();
  drained = true;
  secondSignal.join();
  log.info("exiting", {{"code", 0}});
  return kExitOk;
}

const Command kServe("serve", "run the webhook, extender and metrics server (and --scaler)", runServe);

}  // namespace
}  // namespace spotfit::cli

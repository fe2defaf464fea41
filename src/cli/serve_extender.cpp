// `spotfit serve` plugin: the scheduler extender (POST <pathPrefix>/filter and /prioritize on the HTTPS
// listener, see docs/extender.md). Config section `extender:`, every key optional:
//
//   extender:
//     enabled: true          # false: no routes; /readyz notes "extender: off (disabled in config)"
//     pathPrefix: /extender
//     assume: true           # record prioritized pods in the assumed-pod ledger
//     assumeTtl: 30s         # kube-scheduler's own assume timeout
//     scoreWeights: {cpu: 1, memory: 1, gpu: 1, binPacking: 4, gpuBestFit: 3, scarceAvoidance: 3,
//                    price: 2, capacityPreference: 1}
//     budgets:               # spend for `budget-action: spot-only`, from the scaler's cost ledger ConfigMap
//       enabled: true
//       ledgerNamespace: spotfit-system
//       ledgerConfigMap: spotfit-cost-ledger
//       refresh: 30s         # the scaler flushes the ledger every 30 s

#include <atomic>
#include <chrono>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <stop_token>
#include <string>
#include <thread>

#include "cli/serve_plugins.hpp"
#include "extender/cache.hpp"
#include "extender/extender.hpp"
#include "extender/informer_feed.hpp"
#include "extender/metrics.hpp"
#include "kube/clock.hpp"
#include "kube/config.hpp"
#include "kube/informer.hpp"
#include "kube/periodic_refresh.hpp"
#include "kube/rest_client.hpp"
#include "scaler/kube_actions.hpp"
#include "scaler/ledger.hpp"
#include "scaler/ledger_spend.hpp"

namespace spotfit::cli {
namespace {

struct ExtenderConfig {
  bool enabled = true;
  std::string pathPrefix = "/extender";
  bool assume = true;
  std::chrono::milliseconds assumeTtl{std::chrono::seconds(30)};
  placement::ScoreWeights weights;
  bool budgets = true;
  std::string ledgerNamespace = "spotfit-system";
  std::string ledgerConfigMap = "spotfit-cost-ledger";
  std::chrono::milliseconds ledgerRefresh{std::chrono::seconds(30)};
};

Status readExtenderConfig(const server::config::Section& section, ExtenderConfig& c) {
  if (!section.present()) return {};
  server::config::Reader r(section);
  r.boolean("enabled", c.enabled).string("pathPrefix", c.pathPrefix).boolean("assume", c.assume);
  r.duration("assumeTtl", c.assumeTtl, std::chrono::seconds(1));
  r.map("scoreWeights", [&](server::config::Reader& w) {
    w.number("cpu", c.weights.cpu, 0).number("memory", c.weights.memory, 0).number("gpu", c.weights.gpu, 0);
    w.number("binPacking", c.weights.binPacking, 0).number("gpuBestFit", c.weights.gpuBestFit, 0);
    w.number("scarceAvoidance", c.weights.scarceAvoidance, 0).number("price", c.weights.price, 0);
    w.number("capacityPreference", c.weights.capacityPreference, 0);
  });
  r.map("budgets", [&](server::config::Reader& b) {
    b.boolean("enabled", c.budgets).string("ledgerNamespace", c.ledgerNamespace);
    b.string("ledgerConfigMap", c.ledgerConfigMap).duration("refresh", c.ledgerRefresh, std::chrono::seconds(1));
  });
  if (r.ok() && (c.pathPrefix.empty() || c.pathPrefix.front() != '/')) {
    r.fail("pathPrefix", "must start with '/', got '" + c.pathPrefix + "'");
  }
  return r.finish();
}

// What the plugin keeps alive for the life of the process.
struct ExtenderRuntime {
  kube::SystemClock clock;
  std::unique_ptr<extender::ClusterCache> cache;
  std::unique_ptr<extender::ExtenderMetrics> metrics;
  std::unique_ptr<extender::Extender> handler;
  // Forwards to the ledger once it is loaded (the handler exists before the API client does).
  struct Budget final : extender::BudgetStatus {
    std::atomic<const scaler::LedgerSpend*> live{nullptr};
    std::optional<double> spendUsd(std::string_view ns, std::string_view workflow) const override {
      const scaler::LedgerSpend* s = live.load();
      return s != nullptr ? s->spendUsd(ns, workflow) : std::nullopt;
    }
  } budget;
  // Node and pod informers feeding the cache (names mode). Declared after the cache so they stop first.
  std::unique_ptr<kube::RestClient> client;
  std::unique_ptr<kube::Informer<kube::Node>> nodes;
  std::unique_ptr<kube::Informer<kube::Pod>> pods;
  std::jthread syncWatcher;
  // Workflow spend for the budget policy: the scaler's cost ledger, re-read from its ConfigMap (the same
  // spend source as the webhook's). Every replica can answer (the scaler itself runs on the leader only).
  std::unique_ptr<scaler::ConfigMapLedgerStore> ledgerStore;
  std::unique_ptr<scaler::LedgerSpend> spend;
  std::unique_ptr<kube::PeriodicRefresh> ledgerRefresh;  // reads `spend`: stops first

  void stop() {
    if (ledgerRefresh) ledgerRefresh->stop();
    syncWatcher = {};  // requests stop and joins
    if (pods) pods->stop();
    if (nodes) nodes->stop();
  }
  ~ExtenderRuntime() { stop(); }
};

Status configureExtender(ServeContext& ctx) {
  ExtenderConfig cfg;
  if (Status st = readExtenderConfig(ctx.section, cfg); !st) return st;
  if (!cfg.enabled) {
    ctx.readiness.setFeature("extender", false, "disabled in config");
    return {};
  }
  auto rt = std::make_shared<ExtenderRuntime>();
  rt->cache = std::make_unique<extender::ClusterCache>(rt->clock, cfg.assumeTtl);
  rt->metrics = std::make_unique<extender::ExtenderMetrics>(ctx.metrics);
  extender::ExtenderOptions options;
  options.assumeOnPrioritize = cfg.assume;
  options.score.weights = cfg.weights;
  rt->handler = std::make_unique<extender::Extender>(*rt->cache, rt->metrics.get(), &rt->budget, options);
  extender::registerRoutes(ctx.router, *rt->handler, cfg.pathPrefix);
  // The routes hold references into the runtime: the stop hook keeps it alive until the process ends.
  ctx.onStop([rt] { rt->stop(); });
  const std::string routes = cfg.pathPrefix + "/filter, " + cfg.pathPrefix + "/prioritize";
  if (!ctx.kubernetesConfigured()) {
    ctx.readiness.setFeature("extender", true,
                             routes + "; no Kubernetes API: full-Node mode only, names mode answers not synced");
    return {};
  }
  ctx.readiness.setFeature("extender", true, routes + "; node cache fed by Node and Pod informers");
  ctx.readiness.addCheck("extender-cache", [rt] {
    return rt->cache->isSynced() ? server::CheckResult::pass("nodes and pods synced")
                                 : server::CheckResult::fail("node and pod informers not synced yet");
  });
  const std::string kubeconfig = ctx.kubeconfig;
  const bool budgets = cfg.budgets;
  const std::string ledgerNamespace = cfg.ledgerNamespace, ledgerConfigMap = cfg.ledgerConfigMap;
  const std::chrono::milliseconds ledgerRefresh = cfg.ledgerRefresh;
  if (budgets) {
    ctx.readiness.addCheck("extender-budgets", [rt] {
      // Informational: never blocks readiness; without the ledger no workflow counts as over budget.
      return server::CheckResult::pass(rt->budget.live.load() != nullptr ? "cost ledger loaded"
                                                                         : "cost ledger not loaded yet");
    });
  } else {
    ctx.readiness.setFeature("extender-budgets", false, "disabled in config");
  }
  ctx.onStart([rt, kubeconfig, budgets, ledgerNamespace, ledgerConfigMap, ledgerRefresh, log = ctx.log()]() -> Status {
    auto config = kube::loadDefaultConfig(kubeconfig);
    if (!config.ok()) return makeError(config.error().code, "extender: " + config.error().message);
    auto client = kube::RestClient::create(*config);
    if (!client.ok()) return makeError(client.error().code, "extender: " + client.error().message);
    rt->client = std::move(*client);
    rt->nodes = kube::makeNodeInformer(*rt->client);
    rt->pods = kube::makePodInformer(*rt->client);
    extender::connectInformers(*rt->cache, *rt->nodes, *rt->pods);
    rt->nodes->start();
    rt->pods->start();
    rt->syncWatcher = std::jthread([rt = rt.get()](std::stop_token stop) {
      extender::waitAndMarkSynced(*rt->cache, *rt->nodes, *rt->pods, stop);
    });
    if (budgets) {
      rt->ledgerStore = std::make_unique<scaler::ConfigMapLedgerStore>(*rt->client, ledgerNamespace, ledgerConfigMap);
      rt->spend = std::make_unique<scaler::LedgerSpend>(*rt->ledgerStore, rt->clock);
      ExtenderRuntime* runtime = rt.get();  // not the shared_ptr: rt owns ledgerRefresh
      rt->ledgerRefresh = std::make_unique<kube::PeriodicRefresh>(
          rt->clock, ledgerRefresh,
          [runtime]() -> Status {
            if (Status st = runtime->spend->refresh(); !st) return st;
            runtime->budget.live.store(runtime->spend.get());
            return {};
          },
          [log](const Error& e) {
            log.warn("extender: cost ledger not readable, budgets use the last snapshot", {{"error", e.message}});
          });
      rt->ledgerRefresh->start();
    }
    return {};
  });
  return {};
}

const ServePlugin kExtender("extender", "extender", configureExtender);

}  // namespace
}  // namespace spotfit::cli

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

#include <chrono>
#include <memory>
#include <string>

#include "cli/serve_plugins.hpp"
#include "extender/cache.hpp"
#include "extender/clock.hpp"
#include "extender/extender.hpp"
#include "extender/metrics.hpp"

namespace spotfit::cli {
namespace {

struct ExtenderConfig {
  bool enabled = true;
  std::string pathPrefix = "/extender";
  bool assume = true;
  std::chrono::milliseconds assumeTtl{std::chrono::seconds(30)};
  placement::ScoreWeights weights;
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
  if (r.ok() && (c.pathPrefix.empty() || c.pathPrefix.front() != '/')) {
    r.fail("pathPrefix", "must start with '/', got '" + c.pathPrefix + "'");
  }
  return r.finish();
}

// What the plugin keeps alive for the life of the process.
struct ExtenderRuntime {
  extender::SteadyClock clock;
  std::unique_ptr<extender::ClusterCache> cache;
  std::unique_ptr<extender::ExtenderMetrics> metrics;
  std::unique_ptr<extender::Extender> handler;
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
  rt->handler = std::make_unique<extender::Extender>(*rt->cache, rt->metrics.get(), nullptr, options);
  extender::registerRoutes(ctx.router, *rt->handler, cfg.pathPrefix);
  // The routes hold references into the runtime: keep it until the process ends.
  ctx.onStop([rt] {});
  ctx.readiness.setFeature("extender", true,
                           cfg.pathPrefix + "/filter, " + cfg.pathPrefix +
                               "/prioritize; node cache fed by informers: no (full-Node mode only)");
  return {};
}

const ServePlugin kExtender("extender", "extender", configureExtender);

}  // namespace
}  // namespace spotfit::cli

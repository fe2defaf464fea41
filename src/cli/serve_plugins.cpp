#include "cli/serve_plugins.hpp"

#include <algorithm>
#include <exception>
#include <map>

namespace spotfit::cli {

namespace {
std::map<std::string, ServePluginInfo>& pluginRegistry() {
  static std::map<std::string, ServePluginInfo> r;
  return r;
}
}  // namespace

ServePlugin::ServePlugin(std::string name, std::string section, Configure configure) {
  std::string key = name;
  pluginRegistry()[key] = ServePluginInfo{std::move(name), std::move(section), std::move(configure)};
}

std::vector<ServePluginInfo> servePlugins() {
  std::vector<ServePluginInfo> out;
  for (const auto& [_, info] : pluginRegistry()) out.push_back(info);
  return out;
}

std::vector<std::string> knownSections(const std::vector<ServePluginInfo>& plugins) {
  std::vector<std::string> known{"server"};
  for (const auto& p : plugins) {
    if (!p.section.empty() && std::find(known.begin(), known.end(), p.section) == known.end()) {
      known.push_back(p.section);
    }
  }
  return known;
}

Result<ServeHooks> configurePlugins(const std::vector<ServePluginInfo>& plugins, server::Server& server,
                                    const server::config::Document& document, const ServeEnvironment& env,
                                    const std::shared_ptr<spdlog::logger>& logger) {
  ServeHooks hooks;
  server::Log log(logger);
  for (const auto& p : plugins) {
    ServeContext ctx{server.router(),
                     server.plainRouter(),
                     server.registry(),
                     server.readiness(),
                     logger,
                     p.section.empty() ? server::config::Section{} : document.section(p.section),
                     document,
                     server.config(),
                     env.scaler,
                     env.kubeconfig,
                     env.inCluster,
                     &hooks};
    Status st;
    try {
      st = p.configure(ctx);
    } catch (const std::exception& e) {
      st = makeError("internal", p.name + " plugin: " + e.what());
    }
    if (!st) {
      log.error("serve plugin failed to configure", {{"plugin", p.name}, {"error", st.error().message}});
      return st.error();
    }
    log.debug("serve plugin configured", {{"plugin", p.name}, {"section", p.section}});
  }
  return hooks;
}

}  // namespace spotfit::cli

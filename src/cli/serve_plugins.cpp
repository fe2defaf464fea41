#include "cli/serve_plugins.hpp"

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

}  // namespace spotfit::cli

#include "server/options.hpp"

#include <charconv>

namespace spotfit::server {

Status readServerConfig(const config::Section& section, ServerConfig& cfg) {
  config::Reader r(section);
  r.string("httpsAddr", cfg.httpsAddr)
      .string("metricsAddr", cfg.metricsAddr)
      .string("tlsCertFile", cfg.tlsCertFile)
      .string("tlsKeyFile", cfg.tlsKeyFile)
      .string("kubeconfig", cfg.kubeconfig)
      .oneOf("logLevel", cfg.logLevel, {"trace", "debug", "info", "warn", "error", "off"})
      .duration("certReloadInterval", cfg.certReloadInterval, milliseconds(10))
      .integer("threads", cfg.threads, 0, 256)
      .integer("handlerThreads", cfg.handlerThreads, 0, 256);
  r.map("clientAuth", [&](config::Reader& a) {
    a.require("caFile").string("caFile", cfg.clientAuth.caFile).strings("paths", cfg.clientAuth.paths);
    if (a.ok() && a.has("caFile") && cfg.clientAuth.caFile.empty()) a.fail("caFile", "must not be empty");
    for (const std::string& p : cfg.clientAuth.paths) {
      if (a.ok() && (p.empty() || p.front() != '/' || p.find('?') != std::string::npos))
        a.fail("paths", "'" + p + "' is not a path (it must start with '/' and have no query)");
    }
  });
  r.map("limits", [&](config::Reader& l) {
    Limits& lim = cfg.limits;
    l.integer("maxBodyBytes", lim.maxBodyBytes, 1, int64_t{1} << 34)
        .integer("maxHeaderBytes", lim.maxHeaderBytes, 1024, 1024 * 1024)
        .integer("maxConnections", lim.maxConnections, 1, 1'000'000)
        .integer("maxPlainConnections", lim.maxPlainConnections, 1, 1'000'000)
        .integer("maxConnectionsPerPeer", lim.maxConnectionsPerPeer, 1, 1'000'000)
        .integer("maxPlainConnectionsPerPeer", lim.maxPlainConnectionsPerPeer, 1, 1'000'000)
        .integer("maxRejectingConnections", lim.maxRejectingConnections, 0, 10'000)
        .duration("rejectTimeout", lim.rejectTimeout, milliseconds(1))
        .duration("handshakeTimeout", lim.handshakeTimeout, milliseconds(1))
        .duration("headerTimeout", lim.headerTimeout, milliseconds(1))
        .duration("bodyTimeout", lim.bodyTimeout, milliseconds(1))
        .duration("writeTimeout", lim.writeTimeout, milliseconds(1))
        .duration("idleTimeout", lim.idleTimeout, milliseconds(1))
        .duration("shutdownTimeout", lim.shutdownTimeout, milliseconds(0))
        .duration("handlerQueueTimeout", lim.handlerQueueTimeout, milliseconds(1));
  });
  for (const char* key : {"httpsAddr", "metricsAddr"}) {
    const std::string& v = std::string(key) == "httpsAddr" ? cfg.httpsAddr : cfg.metricsAddr;
    if (r.ok() && r.has(key)) {
      auto a = parseListenAddress(v);
      if (!a) r.fail(key, a.error().message);
    }
  }
  return r.finish();
}

Result<ListenAddress> parseListenAddress(const std::string& text) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos)
    return makeError("invalid", "listen address '" + text + "' needs a port (host:port or :port)");
  ListenAddress a;
  a.host = text.substr(0, colon);
  if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
  std::string port = text.substr(colon + 1);
  unsigned p = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  if (port.empty() || ec != std::errc() || ptr != port.data() + port.size() || p > 65535)
    return makeError("invalid", "listen address '" + text + "' has a bad port '" + port + "'");
  a.port = static_cast<uint16_t>(p);
  return a;
}

}  // namespace spotfit::server

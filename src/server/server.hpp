#pragma once
// The serving shell: HTTPS (webhook, extender) and plain HTTP (/metrics, /healthz, /readyz) listeners.
//
// Embeddable: no global state, every instance owns its io threads, listeners, certificate store and
// metrics. Bind port 0 and read httpsPort()/plainPort() in tests. Lifecycle:
//
//   server::Server srv(cfg, logger, registry);
//   srv.router().add("POST", "/mutate", handler);   // before start()
//   if (Status st = srv.start(); !st) ...          // binds, loads the TLS pair, starts the io threads
//   srv.shutdown();                                 // graceful: see below; the destructor does it too
//
// shutdown(): /readyz turns 503, the HTTPS listener stops accepting, idle keep-alive connections are
// closed (a request whose bytes already arrived on one is answered first), requests in flight finish
// (their responses say `Connection: close`) within limits.shutdownTimeout; then everything is closed and
// the io threads and handler threads joined.
//
// HTTPS handlers run on their own threads (ServerConfig::handlerThreads), plain-listener handlers on the
// io threads: register only cheap routes on plainRouter().

#include <cstddef>
#include <cstdint>
#include <memory>

#include "base/result.hpp"
#include "server/http.hpp"
#include "server/log.hpp"
#include "server/options.hpp"
#include "server/readiness.hpp"

namespace prometheus {
class Registry;
}

namespace spotfit::server {

class Server {
 public:
  // `logger` null: logs are dropped. `registry` null: the server makes its own.
  explicit Server(ServerConfig config, std::shared_ptr<spdlog::logger> logger = {},
                  std::shared_ptr<prometheus::Registry> registry = {});
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  Router& router();       // HTTPS routes; register before start()
  Router& plainRouter();  // plain-HTTP routes besides /metrics /healthz /readyz; before start()
  Readiness& readiness();
  prometheus::Registry& registry();
  std::shared_ptr<prometheus::Registry> registryPtr() const;
  const ServerConfig& config() const;

  Status start();
  void shutdown();
  void stop() { shutdown(); }

  bool running() const;
  bool draining() const;
  uint16_t httpsPort() const;  // bound port (valid after start())
  uint16_t plainPort() const;
  size_t activeConnections() const;  // HTTPS + plain

  // Checks the certificate files now instead of waiting for the next poll (the poll keeps running).
  enum class CertReload { Unchanged, Reloaded, Rejected };
  CertReload reloadCertificates();

  struct Impl;  // opaque: keeps Beast and OpenSSL out of this header

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace spotfit::server

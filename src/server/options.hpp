#pragma once
// Settings of the serving shell: the `server:` section of the config file, overridable by flags.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"
#include "server/config.hpp"

namespace spotfit::server {

using std::chrono::milliseconds;

struct Limits {
  size_t maxBodyBytes = 8 * 1024 * 1024;  // larger bodies get 413
  size_t maxHeaderBytes = 16 * 1024;      // larger request headers get 431
  size_t maxConnections = 1024;           // concurrent HTTPS connections; more get 503 (see below)
  size_t maxPlainConnections = 64;        // concurrent connections on the plain-HTTP (metrics) listener
  // Connections from one client address (IP, port ignored). A connection over a cap (the listener's or
  // its peer's) first evicts the longest-waiting idle connection it competes with (nothing received
  // yet, or a keep-alive connection between requests); only when none is idle is it refused as below.
  size_t maxConnectionsPerPeer = 256;      // HTTPS
  size_t maxPlainConnectionsPerPeer = 16;  // plain HTTP
  // Connections over a listener's cap are answered `503` + `Retry-After: 1` by at most this many
  // "reject slots" per listener at a time (on HTTPS each costs a TLS handshake); beyond that they are
  // closed at accept. 0: always close at accept.
  size_t maxRejectingConnections = 32;
  milliseconds rejectTimeout{1'000};     // one over-cap connection: accept -> handshake, 503 sent, closed
  milliseconds handshakeTimeout{5'000};  // TCP accept -> TLS handshake done
  milliseconds headerTimeout{10'000};    // first byte of a request -> end of its headers
  milliseconds bodyTimeout{30'000};      // end of headers -> end of body
  milliseconds writeTimeout{30'000};     // writing one response
  milliseconds idleTimeout{90'000};      // keep-alive connection waiting for its next request
  milliseconds shutdownTimeout{25'000};  // SIGTERM -> in-flight requests must be done
  // An HTTPS request waits at most this long for a free handler thread; then it is answered 503 with
  // Retry-After: 1 without running (its caller has likely given up: kube-apiserver's webhook default is 10 s).
  milliseconds handlerQueueTimeout{5'000};
};

// Client authentication (mTLS) on the HTTPS listener: who may call the webhook and the extender.
struct ClientAuth {
  // PEM bundle of the CA(s) whose client certificates are accepted; reloaded with the serving pair.
  // Empty: no client certificate is asked for and every HTTPS path is open to any TLS client.
  std::string caFile;
  // HTTPS paths that need a verified client certificate. Empty: all of them, enforced in the TLS
  // handshake (a client without a certificate never gets to send a request). Otherwise a certificate is
  // asked for but optional in the handshake, and a request to a listed path without one gets 403.
  // Either way a certificate that does not verify against caFile fails the handshake.
  std::vector<std::string> paths;
};

struct ServerConfig {
  std::string httpsAddr = ":8443";    // host:port, ":port" means all interfaces; port 0 picks a free one
  std::string metricsAddr = ":8080";  // plain HTTP: /metrics /healthz /readyz
  std::string tlsCertFile;            // PEM chain (leaf first)
  std::string tlsKeyFile;             // PEM private key
  std::string kubeconfig;             // empty: in-cluster config when in a pod, else no cluster
  std::string logLevel = "info";
  ClientAuth clientAuth;
  milliseconds certReloadInterval{2'000};  // how often the cert/key (and client CA) files are checked
  unsigned threads = 0;                    // io threads; 0 = number of cores
  // Threads running the HTTPS handlers (webhook, extender), apart from the io threads, so a slow request
  // never holds up reads, writes, accepts or the plain listener (/healthz, /readyz, /metrics are answered
  // on the io threads). 0 = as many as io threads.
  unsigned handlerThreads = 0;
  Limits limits;
};

// Reads the `server:` section strictly into `cfg` (absent keys keep their values).
Status readServerConfig(const config::Section& section, ServerConfig& cfg);

// "host:port", ":port", "[v6]:port" -> host ("" = any) and port.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};
Result<ListenAddress> parseListenAddress(const std::string& text);

}  // namespace spotfit::server

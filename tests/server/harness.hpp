#pragma once
// An embedded Server on 127.0.0.1 port 0 with fresh certificates, short deadlines and captured logs.

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <spdlog/sinks/ringbuffer_sink.h>

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "server/server.hpp"
#include "test_client.hpp"

namespace spotfit::testing {

struct Harness {
  TempDir dir;
  server::CertBundle certs;
  server::ServerConfig cfg;
  std::shared_ptr<spdlog::sinks::ringbuffer_sink_mt> logSink =
      std::make_shared<spdlog::sinks::ringbuffer_sink_mt>(2000);
  std::unique_ptr<server::Server> server;

  explicit Harness(const std::function<void(server::ServerConfig&)>& tweak = {}, const std::string& cn = "first.test") {
    certs = makeCerts(cn);
    writeFile(dir.file("tls.crt"), certs.certPem);
    writeFile(dir.file("tls.key"), certs.keyPem);
    cfg.httpsAddr = "127.0.0.1:0";
    cfg.metricsAddr = "127.0.0.1:0";
    cfg.tlsCertFile = dir.file("tls.crt");
    cfg.tlsKeyFile = dir.file("tls.key");
    cfg.threads = 4;
    cfg.certReloadInterval = std::chrono::milliseconds(50);
    cfg.limits.shutdownTimeout = std::chrono::seconds(5);
    if (tweak) tweak(cfg);
    server = std::make_unique<server::Server>(cfg, server::makeJsonLogger("test", logSink, spdlog::level::debug));
  }

  void start() {
    auto st = server->start();
    if (!st) throw std::runtime_error(st.error().message);
  }

  TestClient::Options tlsOptions() const {
    TestClient::Options o;
    o.caPem = certs.caCertPem;
    return o;
  }
  TestClient https() const { return TestClient(server->httpsPort(), tlsOptions()); }
  TestClient plain() const {
    TestClient::Options o;
    o.tls = false;
    return TestClient(server->plainPort(), o);
  }

  std::string metrics() const { return prometheus::TextSerializer().Serialize(server->registry().Collect()); }
  std::string logs() const {
    std::string out;
    for (const auto& l : logSink->last_formatted()) out += l;
    return out;
  }
};

// A gate a handler waits on until the test opens it (or 10 s pass, so a failing test cannot hang).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool open = false;
  int waiting = 0;

  void wait() {
    std::unique_lock lock(mu);
    ++waiting;
    cv.notify_all();
    cv.wait_for(lock, std::chrono::seconds(10), [this] { return open; });
  }
  void release() {
    {
      std::lock_guard lock(mu);
      open = true;
    }
    cv.notify_all();
  }
  bool waitForWaiters(int n) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] { return waiting >= n; });
  }
};

// Value of one sample line in Prometheus text format ("name{labels}"), or -1 when absent.
inline double sample(const std::string& text, const std::string& series) {
  size_t pos = 0;
  while ((pos = text.find(series + " ", pos)) != std::string::npos) {
    if (pos == 0 || text[pos - 1] == '\n') return std::stod(text.substr(pos + series.size() + 1));
    pos += series.size();
  }
  return -1;
}

// The server updates some counters just after closing a socket (a deadline closes first, then reports),
// so a client that saw the close may look a moment early. Returns the last value seen within 5 s.
inline double eventually(const Harness& h, const std::string& series, double atLeast) {
  double v = -1;
  for (int i = 0; i < 500; ++i) {
    v = sample(h.metrics(), series);
    if (v >= atLeast) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return v;
}

}  // namespace spotfit::testing

#include "server/server.hpp"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <future>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include "base/time.hpp"
#include "server/tls.hpp"

namespace spotfit::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kReadChunk = 8 * 1024;

const prometheus::Histogram::BucketBoundaries& latencyBuckets() {
  static const prometheus::Histogram::BucketBoundaries b{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                         0.1,    0.25,  0.5,    1,     2.5,  5,     10};
  return b;
}

// The `method` label of spotfit_http_requests_total: the methods HTTP defines, anything else "other".
// Never the client's own spelling: every distinct label value is a series kept (and scraped) forever.
std::string methodLabel(std::string_view method) {
  static constexpr std::array<std::string_view, 9> kKnown{"GET",   "HEAD",    "POST",    "PUT",  "DELETE",
                                                          "PATCH", "OPTIONS", "CONNECT", "TRACE"};
  for (std::string_view k : kKnown) {
    if (method == k) return std::string(k);
  }
  return "other";
}

bool isDisconnect(const boost::system::error_code& ec) {
  return ec == asio::error::eof || ec == http::error::end_of_stream || ec == asio::ssl::error::stream_truncated ||
         ec == asio::error::connection_reset || ec == asio::error::operation_aborted ||
         ec == asio::error::broken_pipe || ec == asio::error::not_connected;
}

}  // namespace

enum class Listener { Https, Plain };

struct SessionBase {
  virtual ~SessionBase() = default;
  virtual void run() = 0;
  // Close when waiting for a request with none of it received (a request whose bytes are already here
  // is answered first, with `Connection: close`); otherwise close after the current response.
  virtual void drain() = 0;
  virtual void forceClose() = 0;  // close now

  // Steady-clock nanoseconds since the connection began waiting for a request (TLS handshake included),
  // 0 while a request is being read, handled or answered. Read by the acceptor to pick eviction victims.
  std::atomic<int64_t> idleSinceNs{0};
};

int64_t steadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

struct Server::Impl {
  ServerConfig cfg;
  Log log;
  std::shared_ptr<prometheus::Registry> registry;
  Router router;
  Router plain;
  Readiness readiness;
  std::unique_ptr<CertificateStore> certs;

  prometheus::Family<prometheus::Counter>* requests = nullptr;
  prometheus::Family<prometheus::Histogram>* latency = nullptr;
  prometheus::Family<prometheus::Counter>* timeouts = nullptr;
  prometheus::Family<prometheus::Counter>* certReloads = nullptr;
  prometheus::Gauge* httpsConnGauge = nullptr;
  prometheus::Gauge* plainConnGauge = nullptr;
  prometheus::Counter* httpsRejected503 = nullptr;  // answered 503 by a reject slot
  prometheus::Counter* plainRejected503 = nullptr;
  prometheus::Counter* httpsRejectedClosed = nullptr;  // closed at accept: no reject slot free
  prometheus::Counter* plainRejectedClosed = nullptr;
  prometheus::Counter* handshakeFailures = nullptr;
  prometheus::Gauge* certExpiry = nullptr;
  prometheus::Counter* httpsEvicted = nullptr;  // idle connections closed to make room for a new one
  prometheus::Counter* plainEvicted = nullptr;
  prometheus::Gauge* handlerQueue = nullptr;  // HTTPS requests waiting for a handler thread
  prometheus::Counter* handlerQueueTimeouts = nullptr;

  std::atomic<size_t> httpsConns{0};
  std::atomic<size_t> plainConns{0};
  std::atomic<size_t> httpsRejecting{0};  // reject slots in use
  std::atomic<size_t> plainRejecting{0};
  std::mutex rejectLogMu;  // the rate-limited "connection cap reached" warning
  Clock::time_point nextRejectLog{};
  uint64_t rejectedSinceLog = 0;
  std::atomic<bool> draining{false};
  std::atomic<bool> running{false};
  std::mutex lifecycleMu;  // start/shutdown
  std::mutex mu;           // sessions, cv
  std::condition_variable cv;
  struct SessionEntry {
    Listener listener;
    std::weak_ptr<SessionBase> session;
    SessionBase* raw;  // alive while in the map: ~Session removes it (under mu) before anything is freed
    std::string peer;  // client address without the port
  };
  std::unordered_map<uint64_t, SessionEntry> sessions;
  std::unordered_map<std::string, size_t> httpsPeers;  // connections by client address
  std::unordered_map<std::string, size_t> plainPeers;
  uint64_t nextId = 0;
  uint16_t httpsPort = 0;
  uint16_t plainPort = 0;

  // Declared after everything sessions touch: destroyed first.
  std::unique_ptr<asio::io_context> ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<tcp::acceptor> httpsAcceptor;
  std::unique_ptr<tcp::acceptor> plainAcceptor;
  std::unique_ptr<asio::steady_timer> reloadTimer;
  std::vector<std::thread> threads;
  std::unique_ptr<asio::thread_pool> handlerPool;  // HTTPS handlers; joined before ioc is destroyed

  Impl(ServerConfig c, std::shared_ptr<spdlog::logger> logger, std::shared_ptr<prometheus::Registry> reg)
      : cfg(std::move(c)),
        log(logger ? std::move(logger) : makeNullLogger("server")),
        registry(reg ? std::move(reg) : std::make_shared<prometheus::Registry>()) {
    auto handlerError = [this](const Request& req, std::string_view what) {
      log.error("handler failed",
                {{"method", req.method}, {"path", req.path}, {"remote", req.remote}, {"error", what}});
    };
    router.setErrorLog(handlerError);
    plain.setErrorLog(handlerError);
    requests = &prometheus::BuildCounter()
                    .Name("spotfit_http_requests_total")
                    .Help("HTTP requests answered, by listener, route, method and status code")
                    .Register(*registry);
    latency = &prometheus::BuildHistogram()
                   .Name("spotfit_http_request_duration_seconds")
                   .Help("Time from a request's complete read to its handler's response, by listener and route")
                   .Register(*registry);
    timeouts = &prometheus::BuildCounter()
                    .Name("spotfit_http_timeouts_total")
                    .Help("Connections closed because a deadline passed, by phase")
                    .Register(*registry);
    certReloads = &prometheus::BuildCounter()
                       .Name("spotfit_tls_certificate_reloads_total")
                       .Help("Certificate/key pair changes seen on disk, by result (loaded or refused)")
                       .Register(*registry);
    auto& conns = prometheus::BuildGauge()
                      .Name("spotfit_http_connections")
                      .Help("Open connections by listener")
                      .Register(*registry);
    httpsConnGauge = &conns.Add({{"listener", "https"}});
    plainConnGauge = &conns.Add({{"listener", "http"}});
    auto& rejected = prometheus::BuildCounter()
                         .Name("spotfit_http_connections_rejected_total")
                         .Help(
                             "Connections over the listener's connection cap, by what they got: a 503 "
                             "(action=\"503\") or a close at accept when no reject slot was free (action=\"closed\")")
                         .Register(*registry);
    httpsRejected503 = &rejected.Add({{"listener", "https"}, {"action", "503"}});
    plainRejected503 = &rejected.Add({{"listener", "http"}, {"action", "503"}});
    httpsRejectedClosed = &rejected.Add({{"listener", "https"}, {"action", "closed"}});
    plainRejectedClosed = &rejected.Add({{"listener", "http"}, {"action", "closed"}});
    handshakeFailures = &prometheus::BuildCounter()
                             .Name("spotfit_tls_handshake_failures_total")
                             .Help("TLS handshakes that failed (bad client, old protocol, timeout)")
                             .Register(*registry)
                             .Add({});
    certExpiry = &prometheus::BuildGauge()
                      .Name("spotfit_tls_certificate_expiry_timestamp_seconds")
                      .Help("notAfter of the serving certificate in use, Unix seconds")
                      .Register(*registry)
                      .Add({});
    auto& evicted = prometheus::BuildCounter()
                        .Name("spotfit_http_connections_evicted_total")
                        .Help(
                            "Idle connections closed to make room for a new one at the listener's or the "
                            "peer's connection cap")
                        .Register(*registry);
    httpsEvicted = &evicted.Add({{"listener", "https"}});
    plainEvicted = &evicted.Add({{"listener", "http"}});
    handlerQueue = &prometheus::BuildGauge()
                        .Name("spotfit_http_handler_queue")
                        .Help("HTTPS requests read and waiting for a handler thread")
                        .Register(*registry)
                        .Add({});
    handlerQueueTimeouts = &prometheus::BuildCounter()
                                .Name("spotfit_http_handler_queue_timeouts_total")
                                .Help(
                                    "HTTPS requests answered 503 because no handler thread took them within "
                                    "limits.handlerQueueTimeout")
                                .Register(*registry)
                                .Add({});
  }

  static const char* listenerName(Listener l) { return l == Listener::Https ? "https" : "http"; }

  // True when a request to this HTTPS path needs a verified client certificate (server.clientAuth).
  bool clientCertRequired(std::string_view path) const {
    const ClientAuth& a = cfg.clientAuth;
    if (a.caFile.empty()) return false;
    return a.paths.empty() || std::find(a.paths.begin(), a.paths.end(), path) != a.paths.end();
  }

  void observe(Listener l, const std::string& route, const std::string& method, int status, double seconds) {
    requests
        ->Add({{"listener", listenerName(l)},
               {"route", route},
               {"method", methodLabel(method)},
               {"code", std::to_string(status)}})
        .Increment();
    latency->Add({{"listener", listenerName(l)}, {"route", route}}, latencyBuckets()).Observe(seconds);
  }

  void countTimeout(const char* phase) { timeouts->Add({{"phase", phase}}).Increment(); }

  void connectionClosed(Listener l, uint64_t id) {
    {
      std::lock_guard lock(mu);
      auto it = sessions.find(id);
      if (it != sessions.end()) {
        auto& peers = l == Listener::Https ? httpsPeers : plainPeers;
        auto p = peers.find(it->second.peer);
        if (p != peers.end() && --p->second == 0) peers.erase(p);
        sessions.erase(it);
      }
      if (l == Listener::Https) {
        --httpsConns;
        httpsConnGauge->Decrement();
      } else {
        --plainConns;
        plainConnGauge->Decrement();
      }
    }
    cv.notify_all();
  }

  std::vector<std::shared_ptr<SessionBase>> liveSessions(std::optional<Listener> only) {
    std::vector<std::shared_ptr<SessionBase>> out;
    std::lock_guard lock(mu);
    for (auto& [id, entry] : sessions) {
      if (only && entry.listener != *only) continue;
      if (auto s = entry.session.lock()) out.push_back(std::move(s));
    }
    return out;
  }

  // The connection of listener `l` (and of `peer`, when given) that has waited longest for a request,
  // claimed (its idle mark cleared so no other accept picks it too); empty when none is waiting. Under mu.
  std::weak_ptr<SessionBase> claimIdleLocked(Listener l, const std::string* peer) {
    SessionEntry* best = nullptr;
    int64_t bestSince = 0;
    for (auto& [id, entry] : sessions) {
      if (entry.listener != l || (peer && entry.peer != *peer)) continue;
      int64_t since = entry.raw->idleSinceNs.load();
      if (since != 0 && (best == nullptr || since < bestSince)) {
        best = &entry;
        bestSince = since;
      }
    }
    if (best == nullptr) return {};
    best->raw->idleSinceNs.store(0);
    return best->session;
  }

  CertReload reloadCertificates() {
    std::string err;
    switch (certs->poll(&err)) {
      case CertificateStore::PollResult::Unchanged:
        return CertReload::Unchanged;
      case CertificateStore::PollResult::Reloaded: {
        CertificateInfo info = certs->info();
        certReloads->Add({{"result", "loaded"}}).Increment();
        certExpiry->Set(static_cast<double>(std::chrono::system_clock::to_time_t(info.notAfter)));
        log.info("tls certificate reloaded", {{"subject", info.subject},
                                              {"notAfter", base::formatTime(info.notAfter)},
                                              {"certFile", certs->certFile()}});
        return CertReload::Reloaded;
      }
      case CertificateStore::PollResult::Rejected:
        certReloads->Add({{"result", "refused"}}).Increment();
        log.error("tls certificate change refused; the current certificate keeps serving",
                  {{"error", err},
                   {"certFile", certs->certFile()},
                   {"keyFile", certs->keyFile()},
                   {"clientCaFile", certs->clientCaFile()}});
        return CertReload::Rejected;
    }
    return CertReload::Unchanged;
  }

  void scheduleReload() {
    reloadTimer->expires_after(cfg.certReloadInterval);
    reloadTimer->async_wait([this](boost::system::error_code ec) {
      if (ec || draining) return;
      reloadCertificates();
      scheduleReload();
    });
  }

  // At most one warning per kRejectLogInterval, with the count since the last one: a flood of
  // over-cap connections must not become a flood of log lines.
  void noteRejected(Listener l, bool answered, size_t cap) {
    (l == Listener::Https ? (answered ? httpsRejected503 : httpsRejectedClosed)
                          : (answered ? plainRejected503 : plainRejectedClosed))
        ->Increment();
    uint64_t count = 0;
    {
      std::lock_guard lock(rejectLogMu);
      ++rejectedSinceLog;
      Clock::time_point now = Clock::now();
      if (now < nextRejectLog) return;
      nextRejectLog = now + kRejectLogInterval;
      count = rejectedSinceLog;
      rejectedSinceLog = 0;
    }
    log.warn(
        "connection cap reached: new connections get 503 with Retry-After, or are closed when no reject "
        "slot is free",
        {{"listener", listenerName(l)},
         {"cap", cap},
         {"rejectSlots", cfg.limits.maxRejectingConnections},
         {"action", answered ? "503" : "closed"},
         {"rejectedSinceLastWarning", count}});
  }

  static constexpr std::chrono::seconds kRejectLogInterval{10};

  void accept(Listener l);
  void onAccept(Listener l, boost::system::error_code ec, tcp::socket socket);
};

// The stream a session reads and writes: TLS over TCP on the HTTPS listener, plain TCP otherwise.
template <bool Tls>
using ServerStream = std::conditional_t<Tls, beast::ssl_stream<beast::tcp_stream>, beast::tcp_stream>;

template <bool Tls>
ServerStream<Tls> makeStream(tcp::socket&& socket, const std::shared_ptr<asio::ssl::context>& ctx) {
  if constexpr (Tls) {
    return ServerStream<Tls>(std::move(socket), *ctx);
  } else {
    return ServerStream<Tls>(std::move(socket));
  }
}

// One connection. `Tls` selects the HTTPS (TLS over TCP) or plain-HTTP stream; everything else is shared.
template <bool Tls>
class Session final : public SessionBase, public std::enable_shared_from_this<Session<Tls>> {
  using Stream = ServerStream<Tls>;
  enum class State { Handshake, Idle, Reading, Handling, Writing, Closing };

 public:
  Session(Server::Impl& impl, tcp::socket&& socket, std::shared_ptr<asio::ssl::context> ctx, uint64_t id,
          std::string remote)
      : impl_(impl),
        ctx_(std::move(ctx)),
        stream_(makeStream<Tls>(std::move(socket), ctx_)),
        id_(id),
        remote_(std::move(remote)) {}

  ~Session() override { impl_.connectionClosed(kListener, id_); }

  void run() override {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->begin(); });
  }

  void drain() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (self->state_ == State::Handshake) {
        self->closeSocket();
      } else if (self->state_ == State::Idle) {
        // Wake the pending read instead of closing under it: bytes of a request may have arrived that
        // it has not picked up yet, and those are answered (onFirstBytes).
        self->closeAfter_ = true;
        self->waking_ = true;
        self->lowest().cancel();
      } else {
        self->closeAfter_ = true;
      }
    });
  }

  void forceClose() override {
    asio::post(stream_.get_executor(), [self = this->shared_from_this()] { self->closeSocket(); });
  }

 private:
  static constexpr Listener kListener = Tls ? Listener::Https : Listener::Plain;

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  const Limits& limits() const { return impl_.cfg.limits; }

  void begin() {
    idleSinceNs.store(steadyNowNs());
    if constexpr (Tls) {
      state_ = State::Handshake;
      lowest().expires_after(limits().handshakeTimeout);
      stream_.async_handshake(
          asio::ssl::stream_base::server,
          [self = this->shared_from_this()](boost::system::error_code ec) { self->onHandshake(ec); });
    } else {
      awaitRequest();
    }
  }

  void onHandshake(boost::system::error_code ec) {
    if (ec) {
      impl_.handshakeFailures->Increment();
      if (ec == beast::error::timeout) impl_.countTimeout("handshake");
      impl_.log.debug("tls handshake failed", {{"remote", remote_}, {"error", ec.message()}});
      return;
    }
    if constexpr (Tls) {
      // With a client CA configured the handshake only succeeds when a presented certificate verified, so
      // "a certificate was presented" means "a verified one was"; the result is checked anyway.
      SSL* ssl = stream_.native_handle();
      clientVerified_ = SSL_get0_peer_certificate(ssl) != nullptr && SSL_get_verify_result(ssl) == X509_V_OK;
    }
    awaitRequest();
  }

  // Waits for the first byte of the next request under the idle deadline (the header deadline for a
  // connection's first request), so a slow header is told apart from a quiet keep-alive connection.
  void awaitRequest() {
    if (closeAfter_ || (Tls && impl_.draining)) {
      gracefulClose();
      return;
    }
    state_ = State::Idle;
    if (buffer_.size() > 0) {
      readHeader();
      return;
    }
    if (idleSinceNs.load() == 0) idleSinceNs.store(steadyNowNs());
    readFirstBytes(first_ ? limits().headerTimeout : limits().idleTimeout);
  }

  void readFirstBytes(std::chrono::milliseconds deadline) {
    lowest().expires_after(deadline);
    stream_.async_read_some(
        buffer_.prepare(kReadChunk),
        [self = this->shared_from_this()](boost::system::error_code ec, size_t n) { self->onFirstBytes(ec, n); });
  }

  void onFirstBytes(boost::system::error_code ec, size_t n) {
    if (ec && waking_ && ec == asio::error::operation_aborted) {
      // drain() woke this idle connection to close it. A request whose bytes are already here was sent
      // before the client could know: read and answer it (with `Connection: close`), then close.
      waking_ = false;
      boost::system::error_code availErr;
      size_t pending = lowest().socket().available(availErr);
      if (!availErr && pending > 0) {
        readFirstBytes(limits().headerTimeout);
      } else {
        closeSocket();  // at once: a TLS shutdown would hold the slot waiting for the client's close_notify
      }
      return;
    }
    waking_ = false;
    if (ec) {
      if (ec == beast::error::timeout) impl_.countTimeout(first_ ? "header" : "idle");
      return;
    }
    buffer_.commit(n);
    readHeader();
  }

  void readHeader() {
    state_ = State::Reading;
    idleSinceNs.store(0);
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(std::min<size_t>(limits().maxHeaderBytes, UINT32_MAX)));
    parser_->body_limit(limits().maxBodyBytes);
    lowest().expires_after(limits().headerTimeout);
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](boost::system::error_code ec, size_t) { self->onHeader(ec); });
  }

  bool readFailed(boost::system::error_code ec, const char* phase) {
    if (!ec) return false;
    if (ec == http::error::header_limit) {
      sendError(431, "request headers exceed " + std::to_string(limits().maxHeaderBytes) + " bytes\n");
    } else if (ec == http::error::body_limit) {
      sendError(413, "request body exceeds " + std::to_string(limits().maxBodyBytes) + " bytes\n");
    } else if (ec == beast::error::timeout) {
      impl_.countTimeout(phase);
      impl_.log.debug("request read deadline passed; closing", {{"remote", remote_}, {"phase", phase}});
    } else if (!isDisconnect(ec) && ec.category() == http::make_error_code(http::error::bad_target).category()) {
      sendError(400, "bad request: " + ec.message() + "\n");
    }
    return true;
  }

  void onHeader(boost::system::error_code ec) {
    if (readFailed(ec, "header")) return;
    if constexpr (Tls) {
      std::string_view target = parser_->get().target();
      if (!clientVerified_ && impl_.clientCertRequired(target.substr(0, target.find('?')))) {
        // Refused before its body is read: an unauthenticated client costs no more than its headers.
        sendError(403, "a client certificate signed by the configured client CA is required for this path\n");
        return;
      }
    }
    if (parser_->is_done()) {
      handle();
      return;
    }
    // A client that asks first (curl does for large bodies) gets the go-ahead; the body limit was
    // already checked against Content-Length, so an oversized body has been refused by now.
    if (beast::iequals(parser_->get()[http::field::expect], "100-continue")) {
      continue_.emplace(http::status::continue_, 11);
      lowest().expires_after(limits().writeTimeout);
      http::async_write(stream_, *continue_, [self = this->shared_from_this()](boost::system::error_code e, size_t) {
        self->continue_.reset();
        if (!e) self->readBody();
      });
      return;
    }
    readBody();
  }

  void readBody() {
    lowest().expires_after(limits().bodyTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](boost::system::error_code e, size_t) { self->onBody(e); });
  }

  void onBody(boost::system::error_code ec) {
    if (readFailed(ec, "body")) return;
    handle();
  }

  std::string routeLabel(const Router& r, const std::string& method, const std::string& path) const {
    Router::Match m = r.find(method, path);
    return m.handler ? m.route : "unmatched";
  }

  void handle() {
    state_ = State::Handling;
    auto& msg = parser_->get();
    Request req;
    req.method = std::string(msg.method_string());
    std::string_view target = msg.target();
    auto q = target.find('?');
    req.path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req.query = std::string(target.substr(q + 1));
    req.contentType = std::string(msg[http::field::content_type]);
    req.body = std::move(msg.body());
    req.remote = remote_;
    bool keepAlive = msg.keep_alive();

    const Router& router = Tls ? impl_.router : impl_.plain;
    std::string route = routeLabel(router, req.method, req.path);
    parser_.reset();
    if constexpr (!Tls) {
      // Plain listener (/healthz, /readyz, /metrics): cheap, answered here so probes never queue behind
      // the webhook or extender.
      dispatchAndSend(router, std::move(req), std::move(route), keepAlive);
    } else {
      // HTTPS handlers run on the handler pool: a slow one never holds up this io thread. The answer
      // comes back to this connection's strand.
      impl_.handlerQueue->Increment();
      asio::post(*impl_.handlerPool, [self = this->shared_from_this(), req = std::move(req), route = std::move(route),
                                      keepAlive, queued = Clock::now()]() mutable {
        self->impl_.handlerQueue->Decrement();
        if (Clock::now() - queued > self->limits().handlerQueueTimeout) {
          self->impl_.handlerQueueTimeouts->Increment();
          Response busy =
              Response::text(503, "server busy: no handler free within " +
                                      std::to_string(self->limits().handlerQueueTimeout.count()) + " ms; retry\n");
          busy.headers.emplace_back("Retry-After", "1");
          self->impl_.observe(kListener, route, req.method, busy.status, 0);
          asio::post(self->stream_.get_executor(),
                     [self, busy = std::move(busy), keepAlive]() mutable { self->send(std::move(busy), keepAlive); });
          return;
        }
        self->dispatchAndSend(self->impl_.router, std::move(req), std::move(route), keepAlive);
      });
    }
  }

  // Runs the handler and sends its response on this connection's strand (it may run on the handler pool).
  void dispatchAndSend(const Router& router, Request req, std::string route, bool keepAlive) {
    auto t0 = Clock::now();
    Response resp = router.dispatch(req);
    double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    impl_.observe(kListener, route, req.method, resp.status, secs);
    if (resp.status >= 500) {
      impl_.log.warn("request failed", {{"method", req.method},
                                        {"path", req.path},
                                        {"status", resp.status},
                                        {"remote", remote_},
                                        {"body", resp.body.substr(0, 200)}});
    } else if (impl_.log.enabled(spdlog::level::debug)) {
      impl_.log.debug("request", {{"method", req.method},
                                  {"path", req.path},
                                  {"status", resp.status},
                                  {"seconds", secs},
                                  {"remote", remote_}});
    }
    if constexpr (Tls) {
      asio::post(stream_.get_executor(), [self = this->shared_from_this(), resp = std::move(resp),
                                          keepAlive]() mutable { self->send(std::move(resp), keepAlive); });
    } else {
      send(std::move(resp), keepAlive);
    }
  }

  void sendError(int status, std::string message) {
    std::string route = "unmatched";
    std::string method = "?";
    if (parser_ && parser_->is_header_done()) {
      method = std::string(parser_->get().method_string());
      std::string_view target = parser_->get().target();
      route = routeLabel(Tls ? impl_.router : impl_.plain, method, std::string(target.substr(0, target.find('?'))));
    }
    impl_.observe(kListener, route, method, status, 0);
    impl_.log.info("request refused",
                   {{"status", status}, {"reason", message.substr(0, message.size() - 1)}, {"remote", remote_}});
    closeAfter_ = true;
    parser_.reset();
    buffer_.consume(buffer_.size());
    send(Response::text(status, std::move(message)), false);
  }

  void send(Response r, bool keepAlive) {
    res_.emplace();
    res_->version(11);
    // Beast refuses codes outside 100..999; a handler returning one is a bug reported as a 500.
    if (r.status < 100 || r.status > 999) {
      impl_.log.error("handler returned an invalid HTTP status", {{"status", r.status}});
      r = Response::text(500, "internal error: invalid status\n");
    }
    res_->result(static_cast<unsigned>(r.status));
    res_->set(http::field::content_type, r.contentType);
    for (auto& [k, v] : r.headers) res_->set(k, v);
    bool ka = keepAlive && !closeAfter_ && !(Tls && impl_.draining);
    res_->keep_alive(ka);
    res_->body() = std::move(r.body);
    res_->prepare_payload();
    state_ = State::Writing;
    lowest().expires_after(limits().writeTimeout);
    http::async_write(stream_, *res_, [self = this->shared_from_this(), ka](boost::system::error_code ec, size_t) {
      self->onWrite(ec, ka);
    });
  }

  void onWrite(boost::system::error_code ec, bool keepAlive) {
    res_.reset();
    if (ec) {
      if (ec == beast::error::timeout) impl_.countTimeout("write");
      return;
    }
    if (!keepAlive) {
      gracefulClose();
      return;
    }
    first_ = false;
    awaitRequest();
  }

  void gracefulClose() {
    state_ = State::Closing;
    idleSinceNs.store(0);
    if constexpr (Tls) {
      lowest().expires_after(std::min<std::chrono::milliseconds>(limits().writeTimeout, std::chrono::seconds(2)));
      stream_.async_shutdown([self = this->shared_from_this()](boost::system::error_code) { self->closeSocket(); });
    } else {
      boost::system::error_code ec;
      lowest().socket().shutdown(tcp::socket::shutdown_send, ec);
      closeSocket();
    }
  }

  void closeSocket() {
    state_ = State::Closing;
    idleSinceNs.store(0);
    boost::system::error_code ec;
    lowest().socket().close(ec);
  }

  Server::Impl& impl_;
  std::shared_ptr<asio::ssl::context> ctx_;  // keeps the context of this connection's handshake alive
  Stream stream_;
  uint64_t id_;
  std::string remote_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<http::response<http::string_body>> res_;
  std::optional<http::response<http::empty_body>> continue_;
  State state_ = State::Handshake;
  bool first_ = true;
  bool closeAfter_ = false;
  bool clientVerified_ = false;  // the client presented a certificate that verified against clientAuth.caFile
  bool waking_ = false;          // drain() cancelled the idle read; onFirstBytes decides between answer and close
};

// An over-cap connection: answered `503 Service Unavailable` + `Retry-After: 1` + `Connection: close`
// (through TLS on the HTTPS listener) without reading the request, then closed. One deadline
// (limits.rejectTimeout) covers everything from accept to close, and the reads after the answer (so the
// close does not reset the connection before the client has read it) stop after kLingerBytes: a reject
// slot costs one handshake, one small write and at most rejectTimeout.
template <bool Tls>
class RejectSession final : public std::enable_shared_from_this<RejectSession<Tls>> {
  using Stream = ServerStream<Tls>;

 public:
  RejectSession(Server::Impl& impl, tcp::socket&& socket, std::shared_ptr<asio::ssl::context> ctx, size_t cap)
      : impl_(impl), ctx_(std::move(ctx)), stream_(makeStream<Tls>(std::move(socket), ctx_)) {
    std::string body = "too many connections (cap " + std::to_string(cap) + "); retry\n";
    reply_ =
        "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nConnection: close\r\n"
        "Content-Type: text/plain; charset=utf-8\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  ~RejectSession() { --(Tls ? impl_.httpsRejecting : impl_.plainRejecting); }

  void run() {
    asio::dispatch(stream_.get_executor(), [self = this->shared_from_this()] {
      self->lowest().expires_after(self->impl_.cfg.limits.rejectTimeout);
      if constexpr (Tls) {
        self->stream_.async_handshake(asio::ssl::stream_base::server, [self](boost::system::error_code ec) {
          if (ec) {
            if (ec == beast::error::timeout) self->impl_.countTimeout("reject");
            return;
          }
          self->answer();
        });
      } else {
        self->readRequestLine();
      }
    });
  }

 private:
  static constexpr size_t kLingerBytes = 64 * 1024;
  static constexpr size_t kRequestLineBytes = 256;

  // Plain listener: the request line first. A kubelet probe (GET /healthz or GET /readyz) gets its real
  // answer even over the cap, so busy connections filling the metrics listener never fail liveness or
  // readiness; anything else gets the 503. Bounded like the rest: kRequestLineBytes, rejectTimeout.
  void readRequestLine() {
    lowest().async_read_some(asio::buffer(scratch_.data() + got_, kRequestLineBytes - got_),
                             [self = this->shared_from_this()](boost::system::error_code ec, size_t n) {
                               if (ec) {
                                 if (ec == beast::error::timeout) self->impl_.countTimeout("reject");
                                 return;
                               }
                               self->got_ += n;
                               std::string_view seen(self->scratch_.data(), self->got_);
                               size_t eol = seen.find("\r\n");
                               if (eol == std::string_view::npos && self->got_ < kRequestLineBytes) {
                                 self->readRequestLine();
                                 return;
                               }
                               self->answerProbe(seen.substr(0, eol));
                               self->answer();
                             });
  }

  void answerProbe(std::string_view requestLine) {
    std::string_view path;
    for (std::string_view p : {"/healthz", "/readyz"}) {
      for (std::string_view version : {" HTTP/1.1", " HTTP/1.0"}) {
        if (requestLine == "GET " + std::string(p) + std::string(version)) path = p;
      }
    }
    if (path.empty()) return;
    int status = 200;
    std::string body = "ok\n";
    if (path == "/readyz") {
      Readiness::Report r = impl_.readiness.evaluate();
      status = r.ready ? 200 : 503;
      body = r.body;
    }
    impl_.observe(Listener::Plain, std::string(path), "GET", status, 0);
    reply_ = std::string("HTTP/1.1 ") + (status == 200 ? "200 OK" : "503 Service Unavailable") +
             "\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
  }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }

  void answer() {
    asio::async_write(stream_, asio::buffer(reply_),
                      [self = this->shared_from_this()](boost::system::error_code ec, size_t) {
                        if (ec) {
                          if (ec == beast::error::timeout) self->impl_.countTimeout("reject");
                          return;
                        }
                        if constexpr (Tls) {
                          self->stream_.async_shutdown([self](boost::system::error_code) { self->close(); });
                        } else {
                          boost::system::error_code ignored;
                          self->lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
                          self->linger();
                        }
                      });
  }

  // Reads and drops what the client still sends until it closes, kLingerBytes or the deadline.
  void linger() {
    lowest().async_read_some(asio::buffer(scratch_),
                             [self = this->shared_from_this()](boost::system::error_code ec, size_t n) {
                               self->lingered_ += n;
                               if (ec || self->lingered_ >= kLingerBytes) {
                                 self->close();
                                 return;
                               }
                               self->linger();
                             });
  }

  void close() {
    boost::system::error_code ignored;
    lowest().socket().close(ignored);
  }

  Server::Impl& impl_;
  std::shared_ptr<asio::ssl::context> ctx_;
  Stream stream_;
  std::string reply_;
  std::array<char, 4096> scratch_{};
  size_t lingered_ = 0;
  size_t got_ = 0;  // bytes of the request line in scratch_ (plain listener)
};

void Server::Impl::accept(Listener l) {
  tcp::acceptor& acc = l == Listener::Https ? *httpsAcceptor : *plainAcceptor;
  acc.async_accept(asio::make_strand(*ioc),
                   [this, l](boost::system::error_code ec, tcp::socket socket) { onAccept(l, ec, std::move(socket)); });
}

void Server::Impl::onAccept(Listener l, boost::system::error_code ec, tcp::socket socket) {
  tcp::acceptor& acc = l == Listener::Https ? *httpsAcceptor : *plainAcceptor;
  if (ec == asio::error::operation_aborted || !acc.is_open()) return;
  if (ec) {
    // Out of descriptors or similar: back off briefly instead of spinning on accept.
    log.warn("accept failed", {{"listener", listenerName(l)}, {"error", ec.message()}});
    auto timer = std::make_shared<asio::steady_timer>(acc.get_executor(), std::chrono::milliseconds(50));
    timer->async_wait([this, l, timer](boost::system::error_code e) {
      if (!e) accept(l);
    });
    return;
  }
  std::atomic<size_t>& count = l == Listener::Https ? httpsConns : plainConns;
  const bool https = l == Listener::Https;
  const size_t cap = https ? cfg.limits.maxConnections : cfg.limits.maxPlainConnections;
  const size_t peerCap = https ? cfg.limits.maxConnectionsPerPeer : cfg.limits.maxPlainConnectionsPerPeer;
  boost::system::error_code epErr;
  auto ep = socket.remote_endpoint(epErr);
  std::string peer = epErr ? "?" : ep.address().to_string();
  std::string remote = epErr ? "?" : peer + ":" + std::to_string(ep.port());
  // Nagle off: a response larger than one TLS record (16 KiB) leaves as several writes, and with Nagle on
  // each write after the first waits for the ACK of the previous one, which a request/response client
  // (Go's net/http, kube-scheduler, the apiserver) delays by up to 40 ms. Every reply is written whole,
  // so there is nothing for Nagle to coalesce.
  boost::system::error_code noDelayErr;
  socket.set_option(tcp::no_delay(true), noDelayErr);
  if (noDelayErr) log.debug("TCP_NODELAY refused", {{"listener", listenerName(l)}, {"error", noDelayErr.message()}});
  // Over the peer's or the listener's cap, the longest-waiting idle connection it competes with makes
  // room (so idle keep-alive connections can never lock new callers, probes included, out); only when
  // none is idle is the new connection refused.
  std::weak_ptr<SessionBase> victim;
  std::shared_ptr<SessionBase> session;
  size_t refusedBy = 0;  // the cap that refused it, 0 when admitted
  {
    std::lock_guard lock(mu);
    auto& peers = https ? httpsPeers : plainPeers;
    auto known = peers.find(peer);
    const size_t fromPeer = known == peers.end() ? 0 : known->second;
    if (fromPeer >= peerCap) {
      victim = claimIdleLocked(l, &peer);
      if (victim.expired()) refusedBy = peerCap;
    } else if (count.load() >= cap) {
      victim = claimIdleLocked(l, nullptr);
      if (victim.expired()) refusedBy = cap;
    }
    if (refusedBy == 0) {
      uint64_t id = ++nextId;
      ++count;
      ++peers[peer];
      (https ? httpsConnGauge : plainConnGauge)->Increment();
      if (https) {
        auto s = std::make_shared<Session<true>>(*this, std::move(socket), certs->current(), id, std::move(remote));
        sessions[id] = SessionEntry{l, s, s.get(), peer};
        session = s;
      } else {
        auto s = std::make_shared<Session<false>>(*this, std::move(socket), nullptr, id, std::move(remote));
        sessions[id] = SessionEntry{l, s, s.get(), peer};
        session = s;
      }
    }
  }
  if (auto v = victim.lock()) {
    (https ? httpsEvicted : plainEvicted)->Increment();
    v->drain();
  }
  if (refusedBy != 0) {
    std::atomic<size_t>& rejecting = https ? httpsRejecting : plainRejecting;
    bool answered = rejecting.load() < cfg.limits.maxRejectingConnections;
    noteRejected(l, answered, refusedBy);
    if (answered) {
      ++rejecting;  // the session gives the slot back when it is destroyed
      if (https) {
        std::make_shared<RejectSession<true>>(*this, std::move(socket), certs->current(), refusedBy)->run();
      } else {
        std::make_shared<RejectSession<false>>(*this, std::move(socket), nullptr, refusedBy)->run();
      }
    } else {
      boost::system::error_code ignored;
      socket.close(ignored);
    }
    accept(l);
    return;
  }
  session->run();
  accept(l);
}

namespace {

Result<std::unique_ptr<tcp::acceptor>> listenOn(asio::io_context& ioc, const std::string& what,
                                                const std::string& addr) {
  auto parsed = parseListenAddress(addr);
  if (!parsed) return makeError("invalid", what + ": " + parsed.error().message);
  std::vector<tcp::endpoint> candidates;
  boost::system::error_code ec;
  if (parsed->host.empty()) {
    candidates.emplace_back(tcp::v6(), parsed->port);
    candidates.emplace_back(tcp::v4(), parsed->port);
  } else {
    auto ip = asio::ip::make_address(parsed->host, ec);
    if (!ec) {
      candidates.emplace_back(ip, parsed->port);
    } else {
      tcp::resolver resolver(ioc);
      auto results = resolver.resolve(parsed->host, std::to_string(parsed->port), ec);
      if (ec) return makeError("invalid", what + ": cannot resolve '" + parsed->host + "': " + ec.message());
      for (const auto& r : results) candidates.push_back(r.endpoint());
    }
  }
  std::string lastError = "no address";
  for (const auto& ep : candidates) {
    auto acc = std::make_unique<tcp::acceptor>(asio::make_strand(ioc));
    acc->open(ep.protocol(), ec);
    if (!ec && ep.address().is_v6() && ep.address().is_unspecified()) acc->set_option(asio::ip::v6_only(false), ec);
    if (!ec) acc->set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acc->bind(ep, ec);
    if (!ec) acc->listen(asio::socket_base::max_listen_connections, ec);
    if (!ec) return acc;
    lastError = ec.message();
  }
  return makeError("io", what + ": cannot listen on " + addr + ": " + lastError);
}

}  // namespace

Server::Server(ServerConfig config, std::shared_ptr<spdlog::logger> logger,
               std::shared_ptr<prometheus::Registry> registry)
    : impl_(std::make_shared<Impl>(std::move(config), std::move(logger), std::move(registry))) {}

Server::~Server() {
  shutdown();
}

Router& Server::router() {
  return impl_->router;
}
Router& Server::plainRouter() {
  return impl_->plain;
}
Readiness& Server::readiness() {
  return impl_->readiness;
}
prometheus::Registry& Server::registry() {
  return *impl_->registry;
}
std::shared_ptr<prometheus::Registry> Server::registryPtr() const {
  return impl_->registry;
}
const ServerConfig& Server::config() const {
  return impl_->cfg;
}
bool Server::running() const {
  return impl_->running;
}
bool Server::draining() const {
  return impl_->draining;
}
uint16_t Server::httpsPort() const {
  return impl_->httpsPort;
}
uint16_t Server::plainPort() const {
  return impl_->plainPort;
}
size_t Server::activeConnections() const {
  return impl_->httpsConns + impl_->plainConns;
}

Server::CertReload Server::reloadCertificates() {
  if (!impl_->certs) return CertReload::Unchanged;
  return impl_->reloadCertificates();
}

Status Server::start() {
  Impl& I = *impl_;
  std::lock_guard lifecycle(I.lifecycleMu);
  if (I.running || I.ioc) return makeError("invalid", "server already started");
  if (I.cfg.tlsCertFile.empty() || I.cfg.tlsKeyFile.empty()) {
    return makeError(
        "invalid",
        "a TLS certificate and key are required (--tls-cert-file and --tls-key-file, or server.tlsCertFile "
        "and server.tlsKeyFile; 'spotfit certs' makes a development pair)");
  }
  I.certs = std::make_unique<CertificateStore>(I.cfg.tlsCertFile, I.cfg.tlsKeyFile, I.cfg.clientAuth.caFile,
                                               I.cfg.clientAuth.paths.empty());
  if (Status st = I.certs->load(); !st) return st;
  CertificateInfo info = I.certs->info();
  I.certExpiry->Set(static_cast<double>(std::chrono::system_clock::to_time_t(info.notAfter)));

  unsigned n = I.cfg.threads ? I.cfg.threads : std::max(1u, std::thread::hardware_concurrency());
  auto ioc = std::make_unique<asio::io_context>(static_cast<int>(n));
  auto https = listenOn(*ioc, "https listener", I.cfg.httpsAddr);
  if (!https) return https.error();
  auto plain = listenOn(*ioc, "metrics listener", I.cfg.metricsAddr);
  if (!plain) return plain.error();
  I.ioc = std::move(ioc);
  I.httpsAcceptor = std::move(*https);
  I.plainAcceptor = std::move(*plain);
  I.httpsPort = I.httpsAcceptor->local_endpoint().port();
  I.plainPort = I.plainAcceptor->local_endpoint().port();
  I.reloadTimer = std::make_unique<asio::steady_timer>(asio::make_strand(*I.ioc));

  Impl* impl = impl_.get();
  I.plain.add("GET", "/healthz", [](const Request&) { return Response::text(200, "ok\n"); });
  I.plain.add("GET", "/readyz", [impl](const Request&) {
    Readiness::Report r = impl->readiness.evaluate();
    return Response::text(r.ready ? 200 : 503, r.body);
  });
  I.plain.add("GET", "/metrics", [impl](const Request&) {
    Response r;
    r.contentType = "text/plain; version=0.0.4; charset=utf-8";
    r.body = prometheus::TextSerializer().Serialize(impl->registry->Collect());
    return r;
  });
  I.readiness.addCheck("tls", [impl] {
    CertificateInfo ci = impl->certs->info();
    std::string detail = ci.subject + ", expires " + base::formatTime(ci.notAfter);
    if (ci.notAfter <= std::chrono::system_clock::now()) return CheckResult::fail("certificate expired: " + detail);
    return CheckResult::pass(detail);
  });

  I.draining = false;
  unsigned handlerThreads = I.cfg.handlerThreads ? I.cfg.handlerThreads : n;
  I.handlerPool = std::make_unique<asio::thread_pool>(handlerThreads);
  I.work.emplace(asio::make_work_guard(*I.ioc));
  I.accept(Listener::Https);
  I.accept(Listener::Plain);
  asio::post(I.reloadTimer->get_executor(), [impl] { impl->scheduleReload(); });
  for (unsigned i = 0; i < n; ++i) {
    I.threads.emplace_back([impl] {
      for (;;) {
        try {
          impl->ioc->run();
          return;
        } catch (const std::exception& e) {
          impl->log.error("io thread caught an exception; continuing", {{"error", e.what()}});
        }
      }
    });
  }
  I.running = true;
  I.log.info("listening", {{"listener", "https"},
                           {"addr", I.cfg.httpsAddr},
                           {"port", I.httpsPort},
                           {"certSubject", info.subject},
                           {"certNotAfter", base::formatTime(info.notAfter)}});
  if (!I.cfg.clientAuth.caFile.empty()) {
    std::string paths;
    for (const auto& p : I.cfg.clientAuth.paths) paths += (paths.empty() ? "" : " ") + p;
    I.log.info("client certificates required", {{"listener", "https"},
                                                {"clientCaFile", I.cfg.clientAuth.caFile},
                                                {"paths", paths.empty() ? "all (in the TLS handshake)" : paths}});
  }
  I.log.info("listening", {{"listener", "http"},
                           {"addr", I.cfg.metricsAddr},
                           {"port", I.plainPort},
                           {"paths", "/metrics /healthz /readyz"}});
  I.log.info("server started", {{"threads", n},
                                {"handlerThreads", handlerThreads},
                                {"maxConnections", I.cfg.limits.maxConnections},
                                {"maxBodyBytes", I.cfg.limits.maxBodyBytes}});
  return {};
}

void Server::shutdown() {
  Impl& I = *impl_;
  std::lock_guard lifecycle(I.lifecycleMu);
  if (!I.ioc) return;
  I.draining = true;
  I.readiness.setDraining();

  auto closeAcceptor = [](tcp::acceptor& acc) {
    auto done = std::make_shared<std::promise<void>>();
    asio::post(acc.get_executor(), [&acc, done] {
      boost::system::error_code ec;
      acc.close(ec);
      done->set_value();
    });
    return done->get_future();
  };
  // The acceptor closes and the connections are told to drain at once (neither waits for the io threads
  // to pick up the other). A connection accepted meanwhile sees `draining` before its first request.
  std::future<void> httpsClosed;
  if (I.running) httpsClosed = closeAcceptor(*I.httpsAcceptor);
  for (auto& s : I.liveSessions(Listener::Https)) s->drain();
  size_t inFlight = I.httpsConns;
  I.log.info("shutting down: not ready, no new connections, finishing requests in flight",
             {{"connections", inFlight}, {"deadlineMs", I.cfg.limits.shutdownTimeout.count()}});
  if (httpsClosed.valid()) httpsClosed.wait();

  auto deadline = Clock::now() + I.cfg.limits.shutdownTimeout;
  bool drained = false;
  {
    std::unique_lock lock(I.mu);
    drained = I.cv.wait_until(lock, deadline, [&I] { return I.httpsConns.load() == 0; });
  }
  if (!drained) {
    I.log.warn("shutdown deadline passed; closing remaining connections", {{"connections", I.httpsConns.load()}});
  }
  if (I.running) closeAcceptor(*I.plainAcceptor).wait();
  asio::post(I.reloadTimer->get_executor(), [impl = impl_.get()] { impl->reloadTimer->cancel(); });
  for (auto& s : I.liveSessions(std::nullopt)) s->forceClose();
  {
    std::unique_lock lock(I.mu);
    I.cv.wait_for(lock, std::chrono::seconds(2), [&I] { return I.httpsConns.load() + I.plainConns.load() == 0; });
  }
  I.work.reset();
  I.ioc->stop();
  for (auto& t : I.threads) t.join();
  I.threads.clear();
  // Handlers still running finish (they are synchronous); queued ones are dropped with their
  // connections. Their answers were posted to the stopped io_context and go with it below.
  I.handlerPool->stop();
  I.handlerPool->join();
  I.handlerPool.reset();
  I.httpsAcceptor.reset();
  I.plainAcceptor.reset();
  I.reloadTimer.reset();
  I.ioc.reset();  // destroys handlers still queued, and with them the last sessions
  I.running = false;
  I.log.info("stopped", {{"drained", drained}});
}

}  // namespace spotfit::server

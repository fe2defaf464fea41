// Boost.Asio internals inlined at -O2/-O3 trip GCC 12's -Wnull-dereference (false positives in its headers).
#pragma GCC diagnostic ignored "-Wnull-dereference"

#include "kube/transport.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <filesystem>

#include "base/base64.hpp"

namespace spotfit::kube {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using std::chrono::nanoseconds;

namespace {

Error ioError(const std::string& what, const beast::error_code& ec) {
  if (ec == beast::error::timeout) return makeError("deadline", what + ": timed out");
  if (ec == asio::error::operation_aborted) return makeError("cancelled", what + ": cancelled");
  if (ec.category() == asio::error::get_ssl_category() || ec == asio::ssl::error::stream_truncated) {
    return makeError("tls", what + ": " + ec.message());
  }
  if (ec.category() == http::make_error_code(http::error::end_of_stream).category()) {
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) {
      return makeError("io", what + ": connection closed by the server");
    }
    return makeError("invalid", what + ": malformed HTTP: " + ec.message());
  }
  return makeError("io", what + ": " + ec.message());
}

struct Endpoint {
  bool tls = true;
  std::string host;
  std::string port;
  std::string prefix;  // path prefix from the server URL, without a trailing slash
};

Result<Endpoint> parseServer(const std::string& server) {
  Endpoint e;
  std::string_view s = server;
  if (s.starts_with("https://")) {
    s.remove_prefix(8);
  } else if (s.starts_with("http://")) {
    e.tls = false;
    s.remove_prefix(7);
  } else {
    return makeError("invalid", "server URL must start with https:// or http://: \"" + server + "\"");
  }
  size_t slash = s.find('/');
  std::string_view hostport = s.substr(0, slash);
  if (slash != std::string_view::npos) {
    e.prefix = std::string(s.substr(slash));
    while (!e.prefix.empty() && e.prefix.back() == '/') e.prefix.pop_back();
  }
  if (!hostport.empty() && hostport.front() == '[') {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos)
      return makeError("invalid", "bad IPv6 address in server URL \"" + server + "\"");
    e.host = std::string(hostport.substr(1, close - 1));
    if (close + 1 < hostport.size() && hostport[close + 1] == ':') e.port = std::string(hostport.substr(close + 2));
  } else {
    size_t colon = hostport.rfind(':');
    e.host = std::string(hostport.substr(0, colon));
    if (colon != std::string_view::npos) e.port = std::string(hostport.substr(colon + 1));
  }
  if (e.host.empty()) return makeError("invalid", "server URL has no host: \"" + server + "\"");
  if (e.port.empty()) e.port = e.tls ? "443" : "80";
  return e;
}

bool isIpAddress(const std::string& host) {
  beast::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

struct Transport::Impl {
  ClusterConfig config;
  TransportOptions options;
  Endpoint endpoint;
  std::optional<ssl::context> tlsContext;
  Transport* owner = nullptr;
  std::atomic<uint64_t> opened{0};

  std::mutex mu;
  std::vector<std::unique_ptr<struct Connection>> idle;

  std::mutex tokenMu;
  std::string token;
  std::filesystem::file_time_type tokenMtime{};
  bool tokenValid = false;

  std::unique_ptr<Connection> checkout(bool& reused);
  void checkin(std::unique_ptr<Connection> c);
};

struct Connection {
  explicit Connection(Transport::Impl& impl) : impl_(impl) {}
  ~Connection() { close(); }

  Transport::Impl& impl_;
  asio::io_context ioc_{1};
  std::unique_ptr<beast::tcp_stream> tcp_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> tls_;
  beast::flat_buffer buffer_;
  std::atomic<bool> cancelled_{false};

  beast::tcp_stream& lowest() { return tls_ ? tls_->next_layer() : *tcp_; }

  // Runs one asynchronous operation to completion or until `timeout` (the stream's own timer closes the
  // socket, so the handler always runs).
  template <typename Start>
  beast::error_code run(nanoseconds timeout, Start&& start) {
    if (cancelled_.load()) return asio::error::operation_aborted;
    if (timeout <= nanoseconds::zero()) return beast::error::timeout;
    lowest().expires_after(timeout);
    beast::error_code result = asio::error::would_block;
    start([&result](beast::error_code ec, auto&&...) { result = ec; });
    ioc_.restart();
    ioc_.run();
    if (cancelled_.load() && result) return asio::error::operation_aborted;
    return result;
  }

  Status connect(nanoseconds timeout) {
    const Endpoint& ep = impl_.endpoint;
    auto start = std::chrono::steady_clock::now();
    tcp::resolver resolver(ioc_);
    beast::error_code rec = asio::error::would_block;
    tcp::resolver::results_type results;
    resolver.async_resolve(ep.host, ep.port, [&](beast::error_code ec, tcp::resolver::results_type r) {
      rec = ec;
      results = std::move(r);
    });
    ioc_.restart();
    ioc_.run_for(timeout);
    if (rec == asio::error::would_block) {
      resolver.cancel();
      ioc_.restart();
      ioc_.run();
      return makeError("deadline", "resolving " + ep.host + ": timed out");
    }
    if (rec) return ioError("resolving " + ep.host, rec);
    timeout -= std::chrono::steady_clock::now() - start;
    if (impl_.tlsContext) {
      tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, *impl_.tlsContext);
    } else {
      tcp_ = std::make_unique<beast::tcp_stream>(ioc_);
    }
    std::string what = "connecting to " + ep.host + ":" + ep.port;
    auto ec = run(timeout, [&](auto handler) { lowest().async_connect(results, std::move(handler)); });
    if (ec) return ioError(what, ec);
    lowest().socket().set_option(tcp::no_delay(true), ec);
    if (tls_) {
      const std::string& name = impl_.config.tlsServerName.empty() ? ep.host : impl_.config.tlsServerName;
      if (!isIpAddress(name)) {
        SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(name.c_str()));
      }
      if (!impl_.config.insecureSkipTlsVerify) {
        tls_->set_verify_mode(ssl::verify_peer);
        tls_->set_verify_callback(ssl::host_name_verification(name));
      } else {
        tls_->set_verify_mode(ssl::verify_none);
      }
      timeout -= std::chrono::steady_clock::now() - start;
      ec = run(timeout, [&](auto handler) { tls_->async_handshake(ssl::stream_base::client, std::move(handler)); });
      if (ec) {
        if (ec == beast::error::timeout) return ioError("TLS handshake with " + ep.host, ec);
        return makeError("tls", "TLS handshake with " + ep.host + ": " + ec.message());
      }
    }
    impl_.opened.fetch_add(1);
    return {};
  }

  // Calls fn with the active stream, TLS or plain TCP: the one place that branches on the kind.
  template <typename Fn>
  void withStream(Fn&& fn) {
    if (tls_) {
      fn(*tls_);
    } else {
      fn(*tcp_);
    }
  }

  // run() for an HTTP operation `op(stream, handler)` on the active stream.
  template <typename Op>
  beast::error_code runOnStream(nanoseconds timeout, Op&& op) {
    return run(timeout, [&](auto handler) { withStream([&](auto& stream) { op(stream, std::move(handler)); }); });
  }

  template <typename Req>
  beast::error_code write(Req& req, nanoseconds timeout) {
    return runOnStream(timeout, [&](auto& s, auto handler) { http::async_write(s, req, std::move(handler)); });
  }

  template <typename Parser>
  beast::error_code readHeader(Parser& p, nanoseconds timeout) {
    return runOnStream(timeout,
                       [&](auto& s, auto handler) { http::async_read_header(s, buffer_, p, std::move(handler)); });
  }

  template <typename Parser>
  beast::error_code read(Parser& p, nanoseconds timeout) {
    return runOnStream(timeout, [&](auto& s, auto handler) { http::async_read(s, buffer_, p, std::move(handler)); });
  }

  template <typename Parser>
  beast::error_code readSome(Parser& p, nanoseconds timeout) {
    return runOnStream(timeout,
                       [&](auto& s, auto handler) { http::async_read_some(s, buffer_, p, std::move(handler)); });
  }

  // Thread-safe: closes the socket from the connection's own executor.
  void cancel() {
    cancelled_.store(true);
    asio::post(ioc_, [this] {
      beast::error_code ec;
      if (tcp_ || tls_) lowest().socket().close(ec);
    });
  }

  void close() {
    beast::error_code ec;
    if (tcp_ || tls_) lowest().socket().close(ec);
  }
};

std::unique_ptr<Connection> Transport::Impl::checkout(bool& reused) {
  {
    std::lock_guard lock(mu);
    if (!idle.empty()) {
      auto c = std::move(idle.back());
      idle.pop_back();
      reused = true;
      return c;
    }
  }
  reused = false;
  return std::make_unique<Connection>(*this);
}

void Transport::Impl::checkin(std::unique_ptr<Connection> c) {
  std::lock_guard lock(mu);
  if (idle.size() < options.maxIdleConnections) idle.push_back(std::move(c));
}

Transport::Transport(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {
  impl_->owner = this;
}
Transport::~Transport() = default;

Result<std::shared_ptr<Transport>> Transport::create(const ClusterConfig& config, TransportOptions options) {
  auto ep = parseServer(config.server);
  if (!ep.ok()) return ep.error();
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->options = std::move(options);
  impl->endpoint = *ep;
  if (ep->tls) {
    impl->tlsContext.emplace(ssl::context::tls_client);
    auto& ctx = *impl->tlsContext;
    beast::error_code ec;
    ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    if (!config.caPem.empty()) {
      ctx.add_certificate_authority(asio::buffer(config.caPem), ec);
      if (ec) return makeError("tls", "cannot load the cluster CA certificate: " + ec.message());
    } else {
      ctx.set_default_verify_paths(ec);
    }
    if (!config.clientCertPem.empty()) {
      ctx.use_certificate_chain(asio::buffer(config.clientCertPem), ec);
      if (ec) return makeError("tls", "cannot load the client certificate: " + ec.message());
      ctx.use_private_key(asio::buffer(config.clientKeyPem), ssl::context::pem, ec);
      if (ec) return makeError("tls", "cannot load the client key: " + ec.message());
    }
  } else if (!config.clientCertPem.empty()) {
    return makeError("invalid", "a client certificate needs an https:// server URL");
  }
  if (!config.tokenFile.empty()) {
    auto t = readFile(config.tokenFile, 1024 * 1024);
    if (!t.ok()) return makeError("unavailable", "cannot read the token file " + config.tokenFile);
  }
  return std::shared_ptr<Transport>(new Transport(std::move(impl)));
}

std::string Transport::authorization() {
  const ClusterConfig& c = impl_->config;
  if (!c.bearerToken.empty()) return "Bearer " + c.bearerToken;
  if (!c.tokenFile.empty()) {
    std::lock_guard lock(impl_->tokenMu);
    std::error_code ec;
    auto mtime = std::filesystem::last_write_time(c.tokenFile, ec);
    if (!impl_->tokenValid || (!ec && mtime != impl_->tokenMtime)) {
      if (auto t = readFile(c.tokenFile, 1024 * 1024); t.ok()) {
        std::string tok = *t;
        while (!tok.empty() && (tok.back() == '\n' || tok.back() == '\r' || tok.back() == ' ')) tok.pop_back();
        impl_->token = tok;
        impl_->tokenMtime = mtime;
        impl_->tokenValid = true;
      }
    }
    return impl_->token.empty() ? std::string() : "Bearer " + impl_->token;
  }
  if (!c.username.empty()) return "Basic " + base::base64Encode(c.username + ":" + c.password);
  return {};
}

void Transport::invalidateToken() {
  std::lock_guard lock(impl_->tokenMu);
  impl_->tokenValid = false;
}

uint64_t Transport::connectionsOpened() const {
  return impl_->opened.load();
}

size_t Transport::idleConnections() const {
  std::lock_guard lock(impl_->mu);
  return impl_->idle.size();
}

namespace {

http::request<http::string_body> buildRequest(Transport::Impl& impl, Transport& t, const HttpRequest& r) {
  http::request<http::string_body> req;
  req.method_string(r.method);
  req.target(impl.endpoint.prefix + r.target);
  req.version(11);
  req.set(http::field::host, impl.endpoint.host);
  req.set(http::field::user_agent, impl.options.userAgent);
  req.set(http::field::accept, r.accept);
  std::string auth = t.authorization();
  if (!auth.empty()) req.set(http::field::authorization, auth);
  if (!r.body.empty() || r.method == "POST" || r.method == "PUT" || r.method == "PATCH") {
    req.set(http::field::content_type, r.contentType.empty() ? "application/json" : r.contentType);
    req.body() = r.body;
  }
  req.keep_alive(true);
  req.prepare_payload();
  return req;
}

// One attempt: a pooled connection when one is idle (`reused`), else a freshly connected one, with
// `req` written on it (`ec` is the write's outcome: a pooled connection may turn out to be stale).
struct Sent {
  std::unique_ptr<Connection> conn;
  bool reused = false;
  beast::error_code ec;
};

Result<Sent> send(Transport::Impl& impl, http::request<http::string_body>& req,
                  std::chrono::steady_clock::time_point deadline) {
  Sent s;
  s.conn = impl.checkout(s.reused);
  if (!s.reused) {
    auto st = s.conn->connect(deadline - std::chrono::steady_clock::now());
    if (!st.ok()) return st.error();
  }
  s.ec = s.conn->write(req, deadline - std::chrono::steady_clock::now());
  return s;
}

class StreamImpl final : public HttpStream {
 public:
  StreamImpl(std::unique_ptr<Connection> conn, std::unique_ptr<http::response_parser<http::buffer_body>> parser,
             size_t maxLine)
      : conn_(std::move(conn)), parser_(std::move(parser)), maxLine_(maxLine) {}

  int status() const override { return parser_->get().result_int(); }

  Result<std::optional<std::string>> readLine(nanoseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      size_t nl = pending_.find('\n', scanned_);
      if (nl != std::string::npos) {
        std::string line = pending_.substr(0, nl);
        pending_.erase(0, nl + 1);
        scanned_ = 0;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;  // blank keep-alive lines
        return std::optional<std::string>(std::move(line));
      }
      scanned_ = pending_.size();
      if (parser_->is_done()) {
        if (pending_.empty()) return std::optional<std::string>{};
        std::string line = std::move(pending_);
        pending_.clear();
        scanned_ = 0;
        return std::optional<std::string>(std::move(line));
      }
      if (pending_.size() > maxLine_)
        return makeError("invalid", "watch frame larger than " + std::to_string(maxLine_) + " bytes");
      auto ec = fill(deadline - std::chrono::steady_clock::now());
      if (ec) return ioError("reading the watch stream", ec);
    }
  }

  Result<std::string> readAll(nanoseconds timeout) override {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!parser_->is_done()) {
      if (pending_.size() > 1024 * 1024) break;
      auto ec = fill(deadline - std::chrono::steady_clock::now());
      if (ec) return ioError("reading the response", ec);
    }
    std::string out = std::move(pending_);
    pending_.clear();
    return out;
  }

  void cancel() override { conn_->cancel(); }

 private:
  beast::error_code fill(nanoseconds timeout) {
    char buf[64 * 1024];
    auto& body = parser_->get().body();
    body.data = buf;
    body.size = sizeof buf;
    auto ec = conn_->readSome(*parser_, timeout);
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return ec;
    pending_.append(buf, sizeof buf - body.size);
    return {};
  }

  std::unique_ptr<Connection> conn_;
  std::unique_ptr<http::response_parser<http::buffer_body>> parser_;
  std::string pending_;
  size_t scanned_ = 0;
  size_t maxLine_;
};

}  // namespace

Result<HttpResponse> Transport::roundTrip(const HttpRequest& r, nanoseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto req = buildRequest(*impl_, *this, r);
  for (int attempt = 0;; ++attempt) {
    auto sent = send(*impl_, req, deadline);
    if (!sent.ok()) return sent.error();
    auto& [conn, reused, ec] = *sent;
    http::response_parser<http::string_body> parser;
    parser.body_limit(impl_->options.maxBodyBytes);
    if (!ec) ec = conn->read(parser, deadline - std::chrono::steady_clock::now());
    if (ec) {
      // A pooled connection the server closed while idle fails at once: retry on a fresh one.
      bool stale = reused && ec != beast::error::timeout && parser.get().result_int() == 0 && attempt == 0;
      if (stale) continue;
      return ioError(r.method + " " + r.target, ec);
    }
    auto& res = parser.get();
    HttpResponse out;
    out.status = res.result_int();
    out.contentType = std::string(res[http::field::content_type]);
    out.retryAfter = std::string(res[http::field::retry_after]);
    bool keep = res.keep_alive();
    out.body = std::move(res.body());
    if (keep) impl_->checkin(std::move(conn));
    return out;
  }
}

Result<std::unique_ptr<HttpStream>> Transport::openStream(const HttpRequest& r, nanoseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto req = buildRequest(*impl_, *this, r);
  for (int attempt = 0;; ++attempt) {
    auto sent = send(*impl_, req, deadline);
    if (!sent.ok()) return sent.error();
    auto& [conn, reused, ec] = *sent;
    auto parser = std::make_unique<http::response_parser<http::buffer_body>>();
    parser->body_limit(boost::none);
    if (!ec) ec = conn->readHeader(*parser, deadline - std::chrono::steady_clock::now());
    if (ec) {
      if (reused && ec != beast::error::timeout && attempt == 0) continue;
      return ioError(r.method + " " + r.target, ec);
    }
    return std::unique_ptr<HttpStream>(
        std::make_unique<StreamImpl>(std::move(conn), std::move(parser), impl_->options.maxLineBytes));
  }
}

}  // namespace spotfit::kube

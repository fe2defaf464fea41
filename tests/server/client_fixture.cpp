#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <fstream>
#include <random>
#include <sstream>

#include "test_client.hpp"

namespace spotfit::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  std::random_device rd;
  path_ = std::filesystem::temp_directory_path() /
          ("spotfit-test-" + std::to_string(getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

void writeFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

server::CertBundle makeCerts(const std::string& dnsName) {
  server::CertOptions o;
  o.dnsNames = {dnsName, "localhost"};
  o.caCommonName = "test CA for " + dnsName;
  auto b = server::generateCertificates(o);
  if (!b) throw std::runtime_error(b.error().message);
  return *b;
}

TestClient::TestClient(uint16_t port, Options options) : port_(port), opt_(std::move(options)) {
  if (opt_.tls) {
    ctx_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    SSL_CTX* c = ctx_->native_handle();
    if (opt_.allowLegacy) {
      SSL_CTX_set_security_level(c, 0);
      SSL_CTX_set_cipher_list(c, "ALL:@SECLEVEL=0");
    }
    if (opt_.minVersion) SSL_CTX_set_min_proto_version(c, opt_.minVersion);
    if (opt_.maxVersion) SSL_CTX_set_max_proto_version(c, opt_.maxVersion);
    if (!opt_.caPem.empty()) {
      ctx_->add_certificate_authority(asio::buffer(opt_.caPem));
      ctx_->set_verify_mode(asio::ssl::verify_peer);
    } else {
      ctx_->set_verify_mode(asio::ssl::verify_none);
    }
    if (!opt_.clientCertPem.empty()) {
      ctx_->use_certificate_chain(asio::buffer(opt_.clientCertPem));
      ctx_->use_private_key(asio::buffer(opt_.clientKeyPem), asio::ssl::context::pem);
    }
  }
}

TestClient::~TestClient() = default;

template <typename Op>
boost::system::error_code TestClient::run(std::chrono::milliseconds timeout, Op&& op) {
  boost::system::error_code result = asio::error::would_block;
  beast::tcp_stream& low = tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
  low.expires_after(timeout);
  op([&result](boost::system::error_code ec, auto&&...) { result = ec; });
  ioc_.restart();
  ioc_.run();
  return result;
}

boost::system::error_code TestClient::connect() {
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port_);
  if (opt_.tls) {
    tls_ = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc_, *ctx_);
    SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
             const_cast<char*>(opt_.host.c_str()));
    if (!opt_.caPem.empty()) tls_->set_verify_callback(asio::ssl::host_name_verification(opt_.host));
  } else {
    plain_ = std::make_unique<beast::tcp_stream>(ioc_);
  }
  buffer_.clear();
  beast::tcp_stream& low = tls_ ? beast::get_lowest_layer(*tls_) : *plain_;
  return run(opt_.timeout, [&](auto h) { low.async_connect(ep, h); });
}

boost::system::error_code TestClient::handshake() {
  if (!tls_) return {};
  return run(opt_.timeout, [&](auto h) { tls_->async_handshake(asio::ssl::stream_base::client, h); });
}

boost::system::error_code TestClient::open() {
  if (auto ec = connect()) return ec;
  return handshake();
}

boost::system::error_code TestClient::writeRaw(const std::string& bytes) {
  auto buf = std::make_shared<std::string>(bytes);
  if (tls_) return run(opt_.timeout, [&](auto h) { asio::async_write(*tls_, asio::buffer(*buf), h); });
  return run(opt_.timeout, [&](auto h) { asio::async_write(*plain_, asio::buffer(*buf), h); });
}

HttpResult TestClient::request(const std::string& method, const std::string& target, const std::string& body,
                               const std::vector<std::pair<std::string, std::string>>& headers) {
  http::request<http::string_body> req(http::string_to_verb(method), target, 11);
  req.set(http::field::host, opt_.host);
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  req.keep_alive(true);
  boost::system::error_code ec;
  if (tls_) {
    ec = run(opt_.timeout, [&](auto h) { http::async_write(*tls_, req, h); });
  } else {
    ec = run(opt_.timeout, [&](auto h) { http::async_write(*plain_, req, h); });
  }
  if (ec) {
    HttpResult r;
    r.ec = ec;
    return r;
  }
  return readResponse();
}

HttpResult TestClient::readResponse() {
  HttpResult r;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (tls_) {
    r.ec = run(opt_.timeout, [&](auto h) { http::async_read(*tls_, buffer_, parser, h); });
  } else {
    r.ec = run(opt_.timeout, [&](auto h) { http::async_read(*plain_, buffer_, parser, h); });
  }
  if (r.ec) return r;
  auto& res = parser.get();
  r.status = static_cast<int>(res.result_int());
  r.body = res.body();
  r.keepAlive = res.keep_alive();
  for (const auto& f : res) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers[name] = std::string(f.value());
  }
  return r;
}

bool TestClient::closedByPeer(std::chrono::milliseconds within) {
  std::array<char, 512> buf{};
  for (;;) {
    boost::system::error_code ec;
    if (tls_) {
      ec = run(within, [&](auto h) { tls_->async_read_some(asio::buffer(buf), h); });
    } else {
      ec = run(within, [&](auto h) { plain_->async_read_some(asio::buffer(buf), h); });
    }
    if (!ec) continue;  // data (e.g. an error response) before the close
    return ec != beast::error::timeout;
  }
}

std::string TestClient::tlsVersion() const {
  return tls_ ? SSL_get_version(tls_->native_handle()) : "";
}

std::string TestClient::peerCommonName() const {
  if (!tls_) return {};
  X509* cert = SSL_get1_peer_certificate(tls_->native_handle());
  if (!cert) return {};
  char cn[256] = {};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn);
  X509_free(cert);
  return cn;
}

bool TestClient::isOpen() const {
  if (tls_) return beast::get_lowest_layer(*tls_).socket().is_open();
  return plain_ && plain_->socket().is_open();
}

}  // namespace spotfit::testing

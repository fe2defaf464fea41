#pragma once
// Test helpers for the serving shell: temp dirs, certificate files, and a blocking HTTP(S) client built
// on Beast's async API with per-operation deadlines (so a misbehaving server fails a test, never hangs it).

#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "server/certgen.hpp"

namespace spotfit::testing {

class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

void writeFile(const std::string& path, const std::string& data);
std::string readFile(const std::string& path);

// A fresh CA + serving certificate for localhost/127.0.0.1 with the given common name.
server::CertBundle makeCerts(const std::string& dnsName = "localhost");

struct HttpResult {
  boost::system::error_code ec;
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  // lower-case names
  bool keepAlive = false;
};

class TestClient {
 public:
  struct Options {
    bool tls = true;
    std::string caPem;   // trust anchor; empty = no verification
    int minVersion = 0;  // e.g. TLS1_1_VERSION
    int maxVersion = 0;
    bool allowLegacy = false;  // security level 0 so the client may offer TLS 1.0/1.1
    std::chrono::milliseconds timeout{5000};
    std::string host = "localhost";
    std::string clientCertPem;  // presented when the server asks for a client certificate (mTLS)
    std::string clientKeyPem;
  };

  TestClient(uint16_t port, Options options);
  explicit TestClient(uint16_t port) : TestClient(port, Options{}) {}
  ~TestClient();

  boost::system::error_code connect();    // TCP only
  boost::system::error_code handshake();  // TLS handshake (no-op for plain)
  boost::system::error_code open();       // connect + handshake

  boost::system::error_code writeRaw(const std::string& bytes);
  HttpResult request(const std::string& method, const std::string& target, const std::string& body = {},
                     const std::vector<std::pair<std::string, std::string>>& headers = {});
  HttpResult readResponse();
  // Waits up to `within` for the server to close the connection (EOF or reset): true if it did.
  bool closedByPeer(std::chrono::milliseconds within);

  std::string tlsVersion() const;      // "TLSv1.3"
  std::string peerCommonName() const;  // CN of the server's leaf certificate
  bool isOpen() const;

 private:
  template <typename Op>
  boost::system::error_code run(std::chrono::milliseconds timeout, Op&& op);

  uint16_t port_;
  Options opt_;
  boost::asio::io_context ioc_;
  std::unique_ptr<boost::asio::ssl::context> ctx_;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls_;
  std::unique_ptr<boost::beast::tcp_stream> plain_;
  boost::beast::flat_buffer buffer_;
};

}  // namespace spotfit::testing

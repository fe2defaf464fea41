// Who can reach what, as a user runs it: `spotfit certs --client` and `spotfit serve --client-ca-file`
// (mTLS with the real binary and real sockets), and `serve --scaler-only` (the scaler's own Deployment
// serves no webhook or extender route).
#include <gtest/gtest.h>
#include <openssl/x509.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <filesystem>
#include <fstream>
#include <string>

#include "server/cert_checks.hpp"
#include "support/serve_process.hpp"
#include "support/spotfit_cli.hpp"

namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
using spotfit::testsupport::CliRun;
using spotfit::testsupport::httpGet;
using spotfit::testsupport::readFile;
using spotfit::testsupport::runSpotfit;
using spotfit::testsupport::ServeProcess;

struct Dir {
  fs::path path =
      fs::temp_directory_path() / ("spotfit-access-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
  Dir() { fs::create_directories(path); }
  ~Dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static int& counter() {
    static int c = 0;
    return c;
  }
};

TEST(CertsCommand, ClientCertificatesAreSignedByTheCaInTheDirectory) {
  Dir d;
  fs::path out = d.path / "out";
  CliRun first = runSpotfit("certs --out " + out.string() + " --dns localhost --client kube-apiserver");
  ASSERT_EQ(first.exitCode, 0) << first.out;
  EXPECT_NE(first.out.find("client-kube-apiserver.crt"), std::string::npos) << first.out;
  const std::string ca = readFile(out / "ca.crt");
  // A later run with --client alone signs with the same CA and leaves it (and the serving pair) alone.
  const std::string serving = readFile(out / "tls.crt");
  CliRun second = runSpotfit("certs --out " + out.string() + " --client kube-scheduler --client-org spotfit:callers");
  ASSERT_EQ(second.exitCode, 0) << second.out;
  EXPECT_EQ(readFile(out / "ca.crt"), ca);
  EXPECT_EQ(readFile(out / "tls.crt"), serving);
  for (const char* name : {"kube-apiserver", "kube-scheduler"}) {
    fs::path crt = out / ("client-" + std::string(name) + ".crt"), key = out / ("client-" + std::string(name) + ".key");
    auto f = spotfit::testing::inspect(ca, readFile(crt), readFile(key), X509_PURPOSE_SSL_CLIENT);
    EXPECT_TRUE(f.chainVerifies) << name << ": " << f.verifyError;
    EXPECT_TRUE(f.keyMatchesCert) << name;
    EXPECT_FALSE(f.serverAuth) << name;
    EXPECT_EQ(fs::status(key).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  }

  CliRun noCa = runSpotfit("certs --out " + (d.path / "empty").string() + " --client kube-apiserver");
  EXPECT_EQ(noCa.exitCode, 1);
  EXPECT_NE(noCa.out.find("--client without --dns signs with DIR/ca.crt and DIR/ca.key: cannot read"),
            std::string::npos)
      << noCa.out;
  CliRun badName = runSpotfit("certs --out " + out.string() + " --client ../ca");
  EXPECT_EQ(badName.exitCode, 2);
  EXPECT_NE(badName.out.find("client name '../ca' must be"), std::string::npos) << badName.out;
  EXPECT_EQ(readFile(out / "ca.crt"), ca);
}

// One HTTPS request on a fresh connection: the status line, or "" when the TLS connection failed.
std::string postMutate(int port, const fs::path& caFile, const fs::path& certDir = {}, const std::string& name = {}) {
  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.load_verify_file(caFile.string());
  ctx.set_verify_mode(asio::ssl::verify_peer);
  if (!name.empty()) {
    ctx.use_certificate_chain_file((certDir / ("client-" + name + ".crt")).string());
    ctx.use_private_key_file((certDir / ("client-" + name + ".key")).string(), asio::ssl::context::pem);
  }
  asio::ssl::stream<asio::ip::tcp::socket> tls(ioc, ctx);
  boost::system::error_code ec;
  tls.next_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)}, ec);
  if (ec) return "";
  timeval tv{5, 0};  // a server that never answers fails the test instead of hanging it
  setsockopt(tls.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  tls.handshake(asio::ssl::stream_base::client, ec);
  if (ec) return "";
  const std::string req =
      "POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 2\r\n"
      "Connection: close\r\n\r\n{}";
  asio::write(tls, asio::buffer(req), ec);
  if (ec) return "";
  std::string resp;
  asio::read(tls, asio::dynamic_buffer(resp), ec);  // until close
  return resp.substr(0, resp.find("\r\n"));
}

TEST(ServeCommand, ClientCaFileRequiresAClientCertificateSignedByIt) {
  Dir d;
  ASSERT_EQ(runSpotfit("certs --out " + d.path.string() + " --dns localhost --client kube-apiserver").exitCode, 0);
  Dir other;
  ASSERT_EQ(runSpotfit("certs --out " + other.path.string() + " --dns localhost --client kube-apiserver").exitCode, 0);
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "server:\n  limits:\n    shutdownTimeout: 5s\n";
  ServeProcess serve({.config = cfg,
                      .certDir = d.path,
                      .log = d.path / "serve.log",
                      .extraArgs = {"--client-ca-file", (d.path / "ca.crt").string()}});
  ASSERT_TRUE(serve.waitUntilServing()) << serve.logs();
  const fs::path ca = d.path / "ca.crt";
  EXPECT_EQ(postMutate(serve.httpsPort(), ca), "") << "no client certificate";
  EXPECT_EQ(postMutate(serve.httpsPort(), ca, other.path, "kube-apiserver"), "") << "another CA's client";
  // The webhook answers (400: "{}" is no AdmissionReview): the request got through authentication.
  EXPECT_EQ(postMutate(serve.httpsPort(), ca, d.path, "kube-apiserver"), "HTTP/1.1 400 Bad Request");
  EXPECT_NE(serve.logs().find("client certificates required"), std::string::npos) << serve.logs();
  EXPECT_EQ(serve.stop(), 0) << serve.logs();
}

TEST(ServeCommand, ScalerOnlyServesNoWebhookOrExtenderRoute) {
  Dir d;
  ASSERT_EQ(runSpotfit("certs --out " + d.path.string() + " --dns localhost").exitCode, 0);
  fs::path cfg = d.path / "spotfit.yaml";
  // The config file is shared with the webhook/extender Deployment: their sections are accepted here
  // (by name; that Deployment reads and checks their keys) and not acted on.
  std::ofstream(cfg) << "server:\n  limits:\n    shutdownTimeout: 5s\nwebhook: {}\nextender:\n  enabled: true\n";
  ServeProcess serve({.config = cfg, .certDir = d.path, .log = d.path / "serve.log", .extraArgs = {"--scaler-only"}});
  ASSERT_TRUE(serve.waitUntilServing()) << serve.logs();
  EXPECT_EQ(postMutate(serve.httpsPort(), d.path / "ca.crt"), "HTTP/1.1 404 Not Found");
  EXPECT_NE(serve.logs().find("\"routes\":\"\""), std::string::npos) << serve.logs();
  std::string ready = httpGet(serve.metricsPort(), "/readyz?verbose");
  EXPECT_EQ(ready.find("extender"), std::string::npos) << ready;
  EXPECT_NE(ready.find("scaler: off"), std::string::npos) << ready;
  EXPECT_EQ(serve.stop(), 0) << serve.logs();
}

}  // namespace

// `spotfit serve` and `spotfit certs` as a user runs them: real binary, real files, real signals.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "server/cert_checks.hpp"
#include "support/serve_process.hpp"
#include "support/spotfit_cli.hpp"

namespace {

namespace fs = std::filesystem;
using spotfit::testsupport::CliRun;
using spotfit::testsupport::httpGet;
using spotfit::testsupport::readFile;
using spotfit::testsupport::runSpotfit;
using spotfit::testsupport::ServeProcess;

struct Dir {
  fs::path path =
      fs::temp_directory_path() / ("spotfit-cli-" + std::to_string(getpid()) + "-" + std::to_string(counter()++));
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

TEST(CertsCommand, WritesAVerifiableCaAndServingCertificate) {
  Dir d;
  CliRun r = runSpotfit("certs --out " + (d.path / "out").string() +
                        " --dns spotfit.spotfit-system.svc --dns spotfit.spotfit-system.svc.cluster.local --days 10");
  ASSERT_EQ(r.exitCode, 0) << r.out;
  fs::path out = d.path / "out";
  spotfit::testing::CertFacts f =
      spotfit::testing::inspect(readFile(out / "ca.crt"), readFile(out / "tls.crt"), readFile(out / "tls.key"));
  EXPECT_TRUE(f.chainVerifies) << f.verifyError;
  EXPECT_EQ(f.dnsSans,
            (std::vector<std::string>{"spotfit.spotfit-system.svc", "spotfit.spotfit-system.svc.cluster.local"}));
  EXPECT_EQ(f.ipSans, std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(f.leafIsP256);
  EXPECT_TRUE(f.keyMatchesCert);
  EXPECT_TRUE(f.caIsCa);
  EXPECT_FALSE(f.leafIsCa);
  // ca-bundle.b64 is the base64 of ca.crt on one line (what caBundle / caData take).
  std::string b64 = readFile(out / "ca-bundle.b64");
  ASSERT_FALSE(b64.empty());
  EXPECT_EQ(b64.back(), '\n');
  EXPECT_EQ(b64.find('\n'), b64.size() - 1);
  std::string cmd = "base64 -d < " + (out / "ca-bundle.b64").string() + " | cmp -s - " + (out / "ca.crt").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(CertsCommand, BadUsageExits2WithOneLine) {
  Dir d;
  CliRun noDns = runSpotfit("certs --out " + d.path.string());
  EXPECT_EQ(noDns.exitCode, 2);
  EXPECT_EQ(noDns.out,
            "spotfit certs: at least one --dns NAME is required (see --help), or --client NAME to sign with "
            "DIR/ca.crt\n");
  CliRun badName = runSpotfit("certs --out " + d.path.string() + " --dns 'bad name'");
  EXPECT_EQ(badName.exitCode, 2);
  EXPECT_EQ(badName.out, "spotfit certs: 'bad name' is not a valid DNS name\n");
  CliRun badDays = runSpotfit("certs --out " + d.path.string() + " --dns a --days 0");
  EXPECT_EQ(badDays.exitCode, 2);
}

TEST(ServeCommand, ConfigErrorsNameTheFileLineAndKey) {
  Dir d;
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "server:\n  httpsAddr: 127.0.0.1:0\n  limits:\n    maxBodyBytes: lots\n";
  CliRun r = runSpotfit("serve --config " + cfg.string());
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out,
            "spotfit serve: " + cfg.string() + ":4: server.limits.maxBodyBytes: expected an integer, got 'lots'\n");

  std::ofstream(cfg, std::ios::trunc) << "server:\n  httpsAddr: 127.0.0.1:0\nsheduler:\n  x: 1\n";
  CliRun unknown = runSpotfit("serve --config " + cfg.string());
  EXPECT_EQ(unknown.exitCode, 1);
  EXPECT_NE(unknown.out.find(cfg.string() + ":3: sheduler: unknown section (known: server"), std::string::npos)
      << unknown.out;

  CliRun missing = runSpotfit("serve --config " + (d.path / "nope.yaml").string());
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.out.find("cannot read config file"), std::string::npos);
}

TEST(ServeCommand, BadFlagsExit2) {
  CliRun noCert = runSpotfit("serve --https-addr 127.0.0.1:0");
  EXPECT_EQ(noCert.exitCode, 2);
  EXPECT_NE(noCert.out.find("--tls-cert-file and --tls-key-file"), std::string::npos) << noCert.out;
  CliRun badAddr = runSpotfit("serve --https-addr nonsense --tls-cert-file a --tls-key-file b");
  EXPECT_EQ(badAddr.exitCode, 2);
  EXPECT_NE(badAddr.out.find("flag --https-addr: listen address 'nonsense' needs a port"), std::string::npos)
      << badAddr.out;
  CliRun badLevel = runSpotfit("serve --log-level loud --tls-cert-file a --tls-key-file b");
  EXPECT_EQ(badLevel.exitCode, 2);
  EXPECT_NE(badLevel.out.find("unknown log level 'loud'"), std::string::npos);
}

void runServeAndStop(int stopSignal, const std::string& signalName) {
  Dir d;
  ASSERT_EQ(runSpotfit("certs --out " + d.path.string() + " --dns localhost").exitCode, 0);
  fs::path cfg = d.path / "spotfit.yaml";
  // The file says one thing, the flags override it.
  std::ofstream(cfg) << "server:\n  httpsAddr: 127.0.0.1:1\n  logLevel: warn\n  limits:\n    shutdownTimeout: 5s\n";
  ServeProcess serve({.config = cfg, .certDir = d.path, .log = d.path / "serve.log"});
  ASSERT_TRUE(serve.started());
  ASSERT_TRUE(serve.waitUntilServing()) << serve.logs();
  int metricsPort = serve.metricsPort();
  ASSERT_NE(metricsPort, 0) << serve.logs();
  std::string logs = serve.logs();
  EXPECT_NE(logs.find("\"level\":\"info\""), std::string::npos) << "--log-level info overrides the file's warn";
  EXPECT_NE(logs.find("no Kubernetes API configured"), std::string::npos) << logs;
  std::string ready = httpGet(metricsPort, "/readyz");
  EXPECT_NE(ready.find("HTTP/1.1 200"), std::string::npos) << ready;
  EXPECT_NE(ready.find("kubernetes: off (no kubeconfig, not in a pod)"), std::string::npos) << ready;
  EXPECT_NE(httpGet(metricsPort, "/metrics").find("spotfit_http_requests_total"), std::string::npos);

  EXPECT_EQ(serve.stop(stopSignal), 0) << serve.logs();
  logs = serve.logs();
  EXPECT_NE(logs.find("\"signal\":\"" + signalName + "\""), std::string::npos) << logs;
  EXPECT_NE(logs.find("\"msg\":\"stopped\",\"drained\":true"), std::string::npos) << logs;
}

TEST(ServeCommand, RunsWithoutAClusterAndExitsZeroOnSigterm) {
  runServeAndStop(SIGTERM, "SIGTERM");
}

TEST(ServeCommand, ExitsZeroOnSigint) {
  runServeAndStop(SIGINT, "SIGINT");
}

// A request in flight keeps the drain going (here: headers read, body still missing, for up to the 30 s
// shutdownTimeout); a second stop signal ends the process at once with a non-zero code.
TEST(ServeCommand, SecondSignalDuringDrainExitsAtOnce) {
  namespace asio = boost::asio;
  Dir d;
  ASSERT_EQ(runSpotfit("certs --out " + d.path.string() + " --dns localhost").exitCode, 0);
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "server:\n  limits:\n    shutdownTimeout: 30s\n    bodyTimeout: 60s\n";
  ServeProcess serve({.config = cfg, .certDir = d.path, .log = d.path / "serve.log"});
  ASSERT_TRUE(serve.waitUntilServing()) << serve.logs();

  asio::io_context ioc;
  asio::ssl::context ctx(asio::ssl::context::tls_client);
  ctx.set_verify_mode(asio::ssl::verify_none);
  asio::ssl::stream<asio::ip::tcp::socket> tls(ioc, ctx);
  tls.next_layer().connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(serve.httpsPort())});
  tls.handshake(asio::ssl::stream_base::client);
  const std::string head =
      "POST /mutate HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
      "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n";
  asio::write(tls, asio::buffer(head));
  // "100 Continue" says the server has the headers and now waits for the body: the request is in flight.
  std::string interim;
  asio::read_until(tls, asio::dynamic_buffer(interim), "\r\n\r\n");
  ASSERT_EQ(interim.rfind("HTTP/1.1 100", 0), 0u) << interim;

  ASSERT_EQ(::kill(serve.pid(), SIGTERM), 0);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (serve.logs().find("shutting down") == std::string::npos && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_NE(serve.logs().find("shutting down"), std::string::npos) << serve.logs();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  ASSERT_EQ(serve.logs().find("\"msg\":\"stopped\""), std::string::npos) << "the drain must still be waiting";

  auto t0 = std::chrono::steady_clock::now();
  int code = serve.stop(SIGINT);
  auto took = std::chrono::steady_clock::now() - t0;
  EXPECT_EQ(code, 1) << serve.logs();  // exited by itself, non-zero (-1: killed after the wait)
  EXPECT_LT(took, std::chrono::seconds(3));
  std::string logs = serve.logs();
  EXPECT_NE(logs.find("\"msg\":\"second signal: exiting now\",\"signal\":\"SIGINT\""), std::string::npos) << logs;
  EXPECT_EQ(logs.find("\"msg\":\"stopped\""), std::string::npos) << logs;
}

}  // namespace

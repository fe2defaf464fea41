// Certificate hot reload: new handshakes get the new pair, open connections stay, bad pairs are refused.
#include "server/tls.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "harness.hpp"

namespace spotfit::testing {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Lays files out like a Kubernetes Secret volume: tls.crt -> ..data/tls.crt, ..data -> ..<version>/.
class SecretVolume {
 public:
  explicit SecretVolume(const fs::path& dir) : dir_(dir) {}
  void publish(const std::string& cert, const std::string& key) {
    std::string version = "..v" + std::to_string(++n_);
    fs::create_directories(dir_ / version);
    writeFile((dir_ / version / "tls.crt").string(), cert);
    writeFile((dir_ / version / "tls.key").string(), key);
    fs::create_symlink(version, dir_ / "..data_tmp");
    fs::rename(dir_ / "..data_tmp", dir_ / "..data");  // the atomic swap the kubelet does
    if (!fs::exists(fs::symlink_status(dir_ / "tls.crt"))) {
      fs::create_symlink("..data/tls.crt", dir_ / "tls.crt");
      fs::create_symlink("..data/tls.key", dir_ / "tls.key");
    }
    if (n_ > 1) fs::remove_all(dir_ / ("..v" + std::to_string(n_ - 1)));
  }
  std::string cert() const { return (dir_ / "tls.crt").string(); }
  std::string key() const { return (dir_ / "tls.key").string(); }

 private:
  fs::path dir_;
  int n_ = 0;
};

std::string commonNameOfNewConnection(const Harness& h, const server::CertBundle& trust) {
  TestClient::Options o = h.tlsOptions();
  o.caPem = trust.caCertPem + h.certs.caCertPem;
  TestClient c(h.server->httpsPort(), o);
  if (c.open()) return "<handshake failed>";
  return c.peerCommonName();
}

TEST(CertReload, SecretSymlinkSwapServesTheNewCertificateAndKeepsOpenConnections) {
  TempDir secretDir;
  SecretVolume volume(secretDir.path());
  server::CertBundle first = makeCerts("first.test");
  volume.publish(first.certPem, first.keyPem);
  Harness h([&](server::ServerConfig& c) {
    c.tlsCertFile = volume.cert();
    c.tlsKeyFile = volume.key();
  });
  h.certs = first;
  h.server->router().add("GET", "/who", [](const server::Request&) { return server::Response::text(200, "me"); });
  h.start();

  TestClient old = h.https();
  ASSERT_FALSE(old.open());
  EXPECT_EQ(old.peerCommonName(), "first.test");
  EXPECT_EQ(old.request("GET", "/who").status, 200);

  server::CertBundle second = makeCerts("second.test");
  volume.publish(second.certPem, second.keyPem);
  // The poll (50 ms here, 2 s by default; the contract is 10 s) picks the swap up by itself.
  std::string cn;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    cn = commonNameOfNewConnection(h, second);
    if (cn == "second.test") break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(cn, "second.test");
  // The connection opened before the swap is still up and still served.
  HttpResult r = old.request("GET", "/who");
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(old.peerCommonName(), "first.test");
  // The poll swaps the context first and reports right after.
  EXPECT_GE(eventually(h, "spotfit_tls_certificate_reloads_total{result=\"loaded\"}", 1), 1);
  EXPECT_NE(h.logs().find("tls certificate reloaded"), std::string::npos);
}

TEST(CertReload, BadNewPairIsRefusedAndTheOldOneKeepsServing) {
  // Only explicit reloads in this test, so each step sees exactly the files written before it.
  Harness h([](server::ServerConfig& c) { c.certReloadInterval = std::chrono::hours(1); });
  h.server->router().add("GET", "/who", [](const server::Request&) { return server::Response::text(200, "me"); });
  h.start();
  server::CertBundle other = makeCerts("other.test");

  // A certificate whose key is not the one on disk.
  writeFile(h.cfg.tlsCertFile, other.certPem);
  EXPECT_EQ(h.server->reloadCertificates(), server::Server::CertReload::Rejected);
  EXPECT_NE(h.logs().find("tls certificate change refused"), std::string::npos) << h.logs();
  EXPECT_NE(h.logs().find("does not match the certificate"), std::string::npos) << h.logs();
  EXPECT_EQ(commonNameOfNewConnection(h, other), "first.test");
  // The same bad pair is reported once, not on every poll.
  EXPECT_EQ(h.server->reloadCertificates(), server::Server::CertReload::Unchanged);

  // Garbage where the certificate should be.
  writeFile(h.cfg.tlsCertFile, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(h.server->reloadCertificates(), server::Server::CertReload::Rejected);
  EXPECT_EQ(commonNameOfNewConnection(h, other), "first.test");
  EXPECT_GE(sample(h.metrics(), "spotfit_tls_certificate_reloads_total{result=\"refused\"}"), 2);

  // Completing the pair makes it valid and it is taken.
  writeFile(h.cfg.tlsCertFile, other.certPem);
  writeFile(h.cfg.tlsKeyFile, other.keyPem);
  EXPECT_EQ(h.server->reloadCertificates(), server::Server::CertReload::Reloaded);
  EXPECT_EQ(commonNameOfNewConnection(h, other), "other.test");
}

TEST(TlsContext, RejectsMismatchedAndMalformedInput) {
  server::CertBundle a = makeCerts("a.test"), b = makeCerts("b.test");
  EXPECT_TRUE(server::makeServerTlsContext(a.certPem, a.keyPem));
  auto mismatch = server::makeServerTlsContext(a.certPem, b.keyPem);
  ASSERT_FALSE(mismatch);
  EXPECT_EQ(mismatch.error().message, "private key does not match the certificate");
  EXPECT_FALSE(server::makeServerTlsContext("", a.keyPem));
  EXPECT_FALSE(server::makeServerTlsContext(a.certPem, "junk"));
  auto info = server::describeCertificate(a.certPem);
  ASSERT_TRUE(info);
  EXPECT_EQ(info->subject, "/CN=a.test");
  EXPECT_GT(info->notAfter, std::chrono::system_clock::now() + std::chrono::hours(24 * 364));
}

}  // namespace
}  // namespace spotfit::testing

// Client authentication (mTLS) on the HTTPS listener: server.clientAuth.caFile and .paths. Real sockets on
// port 0, certificates from certgen, the same client the other server tests use.
#include <gtest/gtest.h>

#include <string>

#include "harness.hpp"
#include "server/certgen.hpp"
#include "server/tls.hpp"

namespace spotfit::testing {
namespace {

server::ClientCert clientCert(const server::CertBundle& ca, const std::string& name) {
  server::ClientCertOptions o;
  o.commonName = name;
  auto c = server::generateClientCertificate(ca.caCertPem, ca.caKeyPem, o);
  if (!c) throw std::runtime_error(c.error().message);
  return *c;
}

// The status of `GET path` on a new connection presenting `cert` (none when empty); 0 when the
// connection failed (refused in the handshake, or closed by the server's alert right after it: with
// TLS 1.3 the client finishes its handshake before the server has checked its certificate).
int statusWith(const Harness& h, const std::string& path, const server::ClientCert* cert = nullptr) {
  TestClient::Options o = h.tlsOptions();
  if (cert) {
    o.clientCertPem = cert->certPem;
    o.clientKeyPem = cert->keyPem;
  }
  TestClient c(h.server->httpsPort(), o);
  if (c.open()) return 0;
  HttpResult r = c.request("GET", path);
  return r.ec ? 0 : r.status;
}

struct ClientAuthServer : Harness {
  explicit ClientAuthServer(const server::CertBundle& clientCa, std::vector<std::string> paths = {})
      : Harness([&](server::ServerConfig& c) {
          c.clientAuth.caFile = (dir.path() / "client-ca.crt").string();
          c.clientAuth.paths = std::move(paths);
          c.certReloadInterval = std::chrono::hours(1);  // explicit reloads only
        }) {
    writeFile(cfg.clientAuth.caFile, clientCa.caCertPem);
    for (const char* p : {"/mutate", "/extender/filter"}) {
      server->router().add("GET", p, [](const server::Request&) { return server::Response::text(200, "ok"); });
    }
    start();
  }
};

TEST(ClientAuth, EveryPathRefusesClientsWithoutACertificateOrWithOneFromAnotherCa) {
  server::CertBundle callers = makeCerts("callers.test");
  server::CertBundle strangers = makeCerts("strangers.test");
  ClientAuthServer h(callers);
  server::ClientCert apiserver = clientCert(callers, "kube-apiserver");
  server::ClientCert stranger = clientCert(strangers, "kube-apiserver");

  EXPECT_EQ(statusWith(h, "/mutate"), 0) << "no certificate";
  EXPECT_EQ(statusWith(h, "/extender/filter"), 0) << "no certificate";
  EXPECT_EQ(statusWith(h, "/mutate", &stranger), 0) << "certificate from another CA";
  EXPECT_EQ(statusWith(h, "/mutate", &apiserver), 200);
  EXPECT_EQ(statusWith(h, "/extender/filter", &apiserver), 200);
  // Refused in the handshake, so they never reached the router.
  EXPECT_GE(eventually(h, "spotfit_tls_handshake_failures_total", 2), 2);
  EXPECT_EQ(sample(h.metrics(),
                   "spotfit_http_requests_total{code=\"403\",listener=\"https\",method=\"GET\","
                   "route=\"/mutate\"}"),
            -1);
  EXPECT_NE(h.logs().find("client certificates required"), std::string::npos) << h.logs();
}

TEST(ClientAuth, AServingCertificateOfTheRightCaIsNotAClientCertificate) {
  // The serving certificate has extended key usage serverAuth only: presenting it (e.g. a stolen copy of
  // spotfit's own tls.crt/tls.key signed by a shared CA) is not client authentication.
  server::CertBundle callers = makeCerts("callers.test");
  ClientAuthServer h(callers);
  server::ClientCert serving{callers.certPem, callers.keyPem};
  EXPECT_EQ(statusWith(h, "/mutate", &serving), 0);
  EXPECT_EQ(statusWith(h, "/mutate", &serving), 0) << "refused every time, not only once";
}

TEST(ClientAuth, ListedPathsNeedACertificateOthersDoNot) {
  server::CertBundle callers = makeCerts("callers.test");
  server::CertBundle strangers = makeCerts("strangers.test");
  ClientAuthServer h(callers, {"/mutate"});
  server::ClientCert apiserver = clientCert(callers, "kube-apiserver");
  server::ClientCert stranger = clientCert(strangers, "kube-apiserver");

  EXPECT_EQ(statusWith(h, "/mutate"), 403);
  EXPECT_EQ(statusWith(h, "/extender/filter"), 200);
  EXPECT_EQ(statusWith(h, "/mutate", &apiserver), 200);
  EXPECT_EQ(statusWith(h, "/extender/filter", &apiserver), 200);
  // A certificate that does not verify still fails the handshake, whatever the path.
  EXPECT_EQ(statusWith(h, "/extender/filter", &stranger), 0);
  EXPECT_EQ(sample(h.metrics(),
                   "spotfit_http_requests_total{code=\"403\",listener=\"https\",method=\"GET\","
                   "route=\"/mutate\"}"),
            1);
  EXPECT_NE(h.logs().find("client certificate signed by the configured client CA is required"), std::string::npos);
}

TEST(ClientAuth, ARotatedClientCaIsPickedUpAndABrokenOneRefused) {
  server::CertBundle oldCa = makeCerts("old.test");
  server::CertBundle newCa = makeCerts("new.test");
  ClientAuthServer h(oldCa);
  server::ClientCert oldClient = clientCert(oldCa, "kube-scheduler");
  server::ClientCert newClient = clientCert(newCa, "kube-scheduler");
  EXPECT_EQ(statusWith(h, "/mutate", &oldClient), 200);
  EXPECT_EQ(statusWith(h, "/mutate", &newClient), 0);

  writeFile(h.cfg.clientAuth.caFile, newCa.caCertPem);
  EXPECT_EQ(h.server->reloadCertificates(), server::Server::CertReload::Reloaded);
  EXPECT_EQ(statusWith(h, "/mutate", &oldClient), 0);
  EXPECT_EQ(statusWith(h, "/mutate", &newClient), 200);

  // Both CAs in one bundle (the overlap of a rotation).
  writeFile(h.cfg.clientAuth.caFile, oldCa.caCertPem + newCa.caCertPem);
  EXPECT_EQ(h.server->reloadCertificates(), server::Server::CertReload::Reloaded);
  EXPECT_EQ(statusWith(h, "/mutate", &oldClient), 200);
  EXPECT_EQ(statusWith(h, "/mutate", &newClient), 200);

  // A bundle that does not parse is refused; the bundle in use stays.
  writeFile(h.cfg.clientAuth.caFile, "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n");
  EXPECT_EQ(h.server->reloadCertificates(), server::Server::CertReload::Rejected);
  EXPECT_NE(h.logs().find("client-ca.crt: client CA bundle"), std::string::npos) << h.logs();
  EXPECT_EQ(statusWith(h, "/mutate", &oldClient), 200);
  EXPECT_EQ(statusWith(h, "/mutate"), 0);
}

TEST(ClientAuth, StartFailsWithAClearErrorOnAMissingEmptyOrHugeBundle) {
  for (auto [content, want] : {std::pair<std::string, std::string>{"", "holds no PEM certificate"},
                               {"hello\n", "holds no PEM certificate"},
                               {std::string(server::kMaxClientCaBytes + 1, 'x'), "larger than"},
                               {"<missing>", "cannot read client CA file"}}) {
    Harness h;
    server::ServerConfig cfg = h.cfg;
    cfg.clientAuth.caFile = h.dir.file("client-ca.crt");
    if (content != "<missing>") writeFile(cfg.clientAuth.caFile, content);
    server::Server srv(cfg);
    Status st = srv.start();
    ASSERT_FALSE(st) << want;
    EXPECT_NE(st.error().message.find(want), std::string::npos) << st.error().message;
    EXPECT_NE(st.error().message.find("client-ca.crt"), std::string::npos) << st.error().message;
  }
}

TEST(ClientAuth, TooManyCertificatesInTheBundleAreRefused) {
  server::CertBundle ca = makeCerts("one.test");
  std::string bundle;
  for (size_t i = 0; i <= server::kMaxClientCaCertificates; ++i) bundle += ca.caCertPem;
  server::CertBundle serving = makeCerts("serving.test");
  auto ctx = server::makeServerTlsContext(serving.certPem, serving.keyPem, &bundle);
  ASSERT_FALSE(ctx);
  EXPECT_NE(ctx.error().message.find("more than"), std::string::npos) << ctx.error().message;
  EXPECT_TRUE(server::makeServerTlsContext(serving.certPem, serving.keyPem, &ca.caCertPem));
  const std::string empty;
  EXPECT_FALSE(server::makeServerTlsContext(serving.certPem, serving.keyPem, &empty)) << "empty is not 'off'";
}

}  // namespace
}  // namespace spotfit::testing

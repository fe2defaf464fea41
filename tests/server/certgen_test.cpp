#include "server/certgen.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "base/base64.hpp"
#include "server/cert_checks.hpp"
#include "test_client.hpp"

namespace spotfit::testing {
namespace {

TEST(CertGen, ServingCertificateChainsToTheCaWithTheRequestedNames) {
  server::CertOptions o;
  o.dnsNames = {"spotfit.spotfit-system.svc", "spotfit.spotfit-system.svc.cluster.local"};
  o.days = 30;
  auto b = server::generateCertificates(o);
  ASSERT_TRUE(b) << b.error().message;
  CertFacts f = inspect(b->caCertPem, b->certPem, b->keyPem);
  EXPECT_TRUE(f.chainVerifies) << f.verifyError;
  EXPECT_EQ(f.dnsSans, o.dnsNames);
  EXPECT_EQ(f.ipSans, std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(f.leafIsP256);
  EXPECT_TRUE(f.caIsP256);
  EXPECT_TRUE(f.keyMatchesCert);
  EXPECT_TRUE(f.caIsCa);
  EXPECT_FALSE(f.leafIsCa);
  EXPECT_TRUE(f.serverAuth);
  EXPECT_EQ(b->caBundleBase64, base::base64Encode(b->caCertPem));
  // A second run makes a different CA: nothing is cached or fixed.
  auto again = server::generateCertificates(o);
  ASSERT_TRUE(again);
  EXPECT_NE(again->caCertPem, b->caCertPem);
  EXPECT_FALSE(inspect(b->caCertPem, again->certPem, again->keyPem).chainVerifies);
}

TEST(CertGen, RejectsBadInput) {
  server::CertOptions o;
  auto none = server::generateCertificates(o);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("at least one DNS name"), std::string::npos);
  o.dnsNames = {"bad name"};
  EXPECT_FALSE(server::generateCertificates(o));
  o.dnsNames = {"ok.test"};
  o.days = 0;
  EXPECT_FALSE(server::generateCertificates(o));
}

TEST(CertGen, WritesFilesWithPrivateKeysOwnerOnly) {
  TempDir dir;
  server::CertOptions o;
  o.dnsNames = {"localhost"};
  auto b = server::generateCertificates(o);
  ASSERT_TRUE(b);
  std::string out = dir.file("nested/certs");
  ASSERT_TRUE(server::writeCertificates(*b, out));
  EXPECT_EQ(readFile(out + "/tls.crt"), b->certPem);
  EXPECT_EQ(readFile(out + "/ca-bundle.b64"), b->caBundleBase64 + "\n");
  struct stat st {};
  ASSERT_EQ(stat((out + "/tls.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((out + "/ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(CertGen, ClientCertificateIsSignedByTheSameCaForClientAuthOnly) {
  server::CertOptions o;
  o.dnsNames = {"spotfit.spotfit-system.svc"};
  auto b = server::generateCertificates(o);
  ASSERT_TRUE(b);
  server::ClientCertOptions co;
  co.commonName = "kube-apiserver";
  co.organizations = {"system:masters-not-really"};
  co.days = 10;
  auto c = server::generateClientCertificate(b->caCertPem, b->caKeyPem, co);
  ASSERT_TRUE(c) << c.error().message;
  CertFacts f = inspect(b->caCertPem, c->certPem, c->keyPem, X509_PURPOSE_SSL_CLIENT);
  EXPECT_TRUE(f.chainVerifies) << f.verifyError;
  EXPECT_TRUE(f.keyMatchesCert);
  EXPECT_TRUE(f.leafIsP256);
  EXPECT_FALSE(f.leafIsCa);
  EXPECT_FALSE(f.serverAuth);
  EXPECT_TRUE(f.dnsSans.empty());
  X509* cert = readCert(c->certPem);
  ASSERT_NE(cert, nullptr);
  EXPECT_NE(X509_get_extended_key_usage(cert) & XKU_SSL_CLIENT, 0u);
  char name[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), name, sizeof name);
  EXPECT_EQ(std::string(name), "/CN=kube-apiserver/O=system:masters-not-really");
  X509_free(cert);
  // Another CA's chain does not verify it.
  auto other = server::generateCertificates(o);
  ASSERT_TRUE(other);
  EXPECT_FALSE(inspect(other->caCertPem, c->certPem, c->keyPem, X509_PURPOSE_SSL_CLIENT).chainVerifies);
  // Not usable as a serving certificate.
  EXPECT_FALSE(inspect(b->caCertPem, c->certPem, c->keyPem).chainVerifies);
}

TEST(CertGen, ClientCertificateRefusesBadNamesAndAMismatchedCa) {
  server::CertOptions o;
  o.dnsNames = {"localhost"};
  auto a = server::generateCertificates(o), b = server::generateCertificates(o);
  ASSERT_TRUE(a && b);
  server::ClientCertOptions co;
  for (const char* bad : {"", "../etc/passwd", "a/b", ".hidden", "with space"}) {
    co.commonName = bad;
    auto r = server::generateClientCertificate(a->caCertPem, a->caKeyPem, co);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().code, "invalid");
  }
  co.commonName = "kube-scheduler";
  auto mismatched = server::generateClientCertificate(a->caCertPem, b->caKeyPem, co);
  ASSERT_FALSE(mismatched);
  EXPECT_NE(mismatched.error().message.find("does not match"), std::string::npos);
  // The serving certificate is not a CA.
  auto notCa = server::generateClientCertificate(a->certPem, a->keyPem, co);
  ASSERT_FALSE(notCa);
  EXPECT_NE(notCa.error().message.find("not a CA"), std::string::npos);
  EXPECT_FALSE(server::generateClientCertificate("junk", a->caKeyPem, co));
}

TEST(CertGen, ClientCertificateFilesAndReadingTheCaBack) {
  TempDir dir;
  server::CertOptions o;
  o.dnsNames = {"localhost"};
  auto b = server::generateCertificates(o);
  ASSERT_TRUE(b);
  ASSERT_TRUE(server::writeCertificates(*b, dir.file("out")));
  auto ca = server::readCa(dir.file("out"));
  ASSERT_TRUE(ca) << ca.error().message;
  EXPECT_EQ(ca->first, b->caCertPem);
  EXPECT_EQ(ca->second, b->caKeyPem);
  server::ClientCertOptions co;
  co.commonName = "kube-scheduler";
  auto c = server::generateClientCertificate(ca->first, ca->second, co);
  ASSERT_TRUE(c);
  ASSERT_TRUE(server::writeClientCertificate(*c, dir.file("out"), "kube-scheduler"));
  EXPECT_EQ(readFile(dir.file("out/client-kube-scheduler.crt")), c->certPem);
  struct stat st {};
  ASSERT_EQ(stat(dir.file("out/client-kube-scheduler.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto missing = server::readCa(dir.file("nothing-here"));
  ASSERT_FALSE(missing);
  EXPECT_NE(missing.error().message.find("ca.crt"), std::string::npos);
}

}  // namespace
}  // namespace spotfit::testing

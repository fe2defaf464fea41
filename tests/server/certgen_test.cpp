#include "server/certgen.hpp"

#include <gtest/gtest.h>
#include <sys/stat.h>

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
  EXPECT_EQ(b->caBundleBase64, server::base64Encode(b->caCertPem));
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

TEST(Base64, Encodes) {
  EXPECT_EQ(server::base64Encode(""), "");
  EXPECT_EQ(server::base64Encode("f"), "Zg==");
  EXPECT_EQ(server::base64Encode("fo"), "Zm8=");
  EXPECT_EQ(server::base64Encode("foo"), "Zm9v");
  EXPECT_EQ(server::base64Encode("foobar"), "Zm9vYmFy");
}

}  // namespace
}  // namespace spotfit::testing

#include "kube/config.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "kube/rest_client.hpp"
#include "support/fake_apiserver.hpp"

namespace spotfit::kube {
namespace {

using testsupport::FakeApiServer;
using testsupport::TestPki;
namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    path =
        fs::temp_directory_path() / ("spotfit-kube-" + std::to_string(::getpid()) + "-" + std::to_string(counter()++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  static int& counter() {
    static int c = 0;
    return c;
  }
  std::string write(const std::string& name, const std::string& content) {
    auto p = path / name;
    std::ofstream(p) << content;
    return p.string();
  }
};

constexpr const char* kTwoContexts = R"(
apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://10.0.0.1:6443
    certificate-authority-data: Q0FEQVRB
- name: dev-cluster
  cluster:
    server: https://dev.example:443/prefix
    insecure-skip-tls-verify: true
    tls-server-name: api.dev.example
contexts:
- name: prod
  context: {cluster: prod-cluster, user: cert-user, namespace: batch}
- name: dev
  context: {cluster: dev-cluster, user: token-user}
users:
- name: cert-user
  user:
    client-certificate-data: Q0VSVA==
    client-key-data: S0VZ
- name: token-user
  user:
    token: s3cret
)";

TEST(Kubeconfig, CurrentContextWithClientCertificateData) {
  auto cfg = parseKubeconfig(kTwoContexts, "/tmp");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://10.0.0.1:6443");
  EXPECT_EQ(cfg->caPem, "CADATA");
  EXPECT_EQ(cfg->clientCertPem, "CERT");
  EXPECT_EQ(cfg->clientKeyPem, "KEY");
  EXPECT_EQ(cfg->defaultNamespace, "batch");
  EXPECT_FALSE(cfg->insecureSkipTlsVerify);
  EXPECT_NE(cfg->source.find("context prod"), std::string::npos);
}

TEST(Kubeconfig, NamedContextWithTokenAndInsecureSkip) {
  auto cfg = parseKubeconfig(kTwoContexts, "/tmp", "dev");
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://dev.example:443/prefix");
  EXPECT_TRUE(cfg->insecureSkipTlsVerify);
  EXPECT_EQ(cfg->tlsServerName, "api.dev.example");
  EXPECT_EQ(cfg->bearerToken, "s3cret");
  EXPECT_EQ(cfg->defaultNamespace, "default");
}

TEST(Kubeconfig, FilesAreReadRelativeToTheKubeconfig) {
  TempDir dir;
  dir.write("ca.crt", "CA-FROM-FILE");
  dir.write("client.crt", "CERT-FROM-FILE");
  dir.write("client.key", "KEY-FROM-FILE");
  dir.write("token", "tok-from-file\n");
  std::string path = dir.write("config", R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://k:6443", certificate-authority: ca.crt}}]
users:
- {name: u, user: {client-certificate: client.crt, client-key: client.key}}
- {name: t, user: {tokenFile: token}}
contexts:
- {name: c, context: {cluster: k, user: u}}
- {name: tc, context: {cluster: k, user: t}}
)");
  auto cfg = loadKubeconfig({path});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->caPem, "CA-FROM-FILE");
  EXPECT_EQ(cfg->clientCertPem, "CERT-FROM-FILE");
  EXPECT_EQ(cfg->clientKeyPem, "KEY-FROM-FILE");
  auto tc = loadKubeconfig({path}, "tc");
  ASSERT_TRUE(tc.ok()) << tc.error().message;
  EXPECT_EQ(tc->tokenFile, (dir.path / "token").string());
}

TEST(Kubeconfig, MergesSeveralFilesFirstWins) {
  TempDir dir;
  std::string a = dir.write("a", "current-context: one\ncontexts: [{name: one, context: {cluster: k}}]\n");
  std::string b = dir.write("b", "current-context: two\nclusters: [{name: k, cluster: {server: 'http://b:80'}}]\n");
  auto cfg = loadKubeconfig({a, (dir.path / "missing").string(), b});
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "http://b:80");
}

TEST(Kubeconfig, ClearErrors) {
  auto exec = parseKubeconfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {exec: {command: aws, args: [eks, get-token]}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)",
                              "");
  ASSERT_FALSE(exec.ok());
  EXPECT_EQ(exec.error().code, "unsupported");
  EXPECT_NE(exec.error().message.find("exec plugin"), std::string::npos);
  auto ap = parseKubeconfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://k"}}]
users: [{name: u, user: {auth-provider: {name: gcp}}}]
contexts: [{name: c, context: {cluster: k, user: u}}]
)",
                            "");
  ASSERT_FALSE(ap.ok());
  EXPECT_NE(ap.error().message.find("auth-provider"), std::string::npos);
  EXPECT_NE(parseKubeconfig(kTwoContexts, "", "nope").error().message.find("context \"nope\" not found"),
            std::string::npos);
  EXPECT_FALSE(parseKubeconfig("clusters: [", "").ok());
  EXPECT_FALSE(parseKubeconfig("[]", "").ok());
  EXPECT_FALSE(parseKubeconfig("current-context: c\ncontexts: [{name: c, context: {cluster: x}}]\n", "").ok());
  EXPECT_FALSE(loadKubeconfig({"/nonexistent/kubeconfig"}).ok());
  auto badData = parseKubeconfig(R"(
current-context: c
clusters: [{name: k, cluster: {server: "https://k", certificate-authority-data: "!!"}}]
contexts: [{name: c, context: {cluster: k}}]
)",
                                 "");
  ASSERT_FALSE(badData.ok());
  EXPECT_NE(badData.error().message.find("certificate-authority-data"), std::string::npos);
}

TEST(InCluster, ReadsServiceAccountAndRefusesWithoutEnvironment) {
  TempDir dir;
  dir.write("token", "sa-token\n");
  dir.write("ca.crt", "SA-CA");
  dir.write("namespace", "spotfit-system\n");
  InClusterEnv env{"10.96.0.1", "443", dir.path.string()};
  auto cfg = loadInClusterConfig(env);
  ASSERT_TRUE(cfg.ok()) << cfg.error().message;
  EXPECT_EQ(cfg->server, "https://10.96.0.1:443");
  EXPECT_EQ(cfg->caPem, "SA-CA");
  EXPECT_EQ(cfg->tokenFile, (dir.path / "token").string());
  EXPECT_EQ(cfg->defaultNamespace, "spotfit-system");
  InClusterEnv v6{"fd00::1", "443", dir.path.string()};
  EXPECT_EQ(loadInClusterConfig(v6)->server, "https://[fd00::1]:443");
  EXPECT_FALSE(loadInClusterConfig(InClusterEnv{"", "", dir.path.string()}).ok());
  EXPECT_FALSE(loadInClusterConfig(InClusterEnv{"h", "1", "/nonexistent"}).ok());
}

TEST(DefaultConfig, FlagThenKubeconfigEnv) {
  TempDir dir;
  std::string a = dir.write("a",
                            "current-context: c\nclusters: [{name: k, cluster: {server: "
                            "'http://from-flag:1'}}]\ncontexts: [{name: c, context: {cluster: k}}]\n");
  std::string b = dir.write("b",
                            "current-context: c\nclusters: [{name: k, cluster: {server: "
                            "'http://from-env:1'}}]\ncontexts: [{name: c, context: {cluster: k}}]\n");
  ::setenv("KUBECONFIG", b.c_str(), 1);
  EXPECT_EQ(loadDefaultConfig(a)->server, "http://from-flag:1");
  EXPECT_EQ(loadDefaultConfig()->server, "http://from-env:1");
  ::unsetenv("KUBECONFIG");
}

TEST(Auth, RotatedTokenFileIsReReadAfter401) {
  FakeApiServer api;
  api.setRequiredToken("one");
  TempDir dir;
  std::string tokenPath = dir.write("token", "one\n");
  ClusterConfig cfg;
  cfg.server = api.url();
  cfg.tokenFile = tokenPath;
  auto client = RestClient::create(cfg).value();
  EXPECT_EQ(client->list(resources::kPods, "").ok(), true);
  // Rotation: the server now wants the new token and the file has it (same mtime second is possible,
  // so only the 401 path is relied on).
  api.setRequiredToken("two");
  dir.write("token", "two\n");
  auto res = client->list(resources::kPods, "");
  ASSERT_TRUE(res.ok()) << res.error().message;
  EXPECT_EQ(api.requests().back().authorization, "Bearer two");
  api.setRequiredToken("three");
  auto denied = client->list(resources::kPods, "");
  ASSERT_FALSE(denied.ok());
  EXPECT_EQ(denied.error().code, "Unauthorized");
}

TEST(Tls, VerifiesTheServerAgainstTheConfiguredCaAndPresentsTheClientCertificate) {
  FakeApiServer::Options o;
  o.tls = true;
  o.pki = TestPki::generate();
  o.requireClientCert = true;
  FakeApiServer api(o);
  auto client = RestClient::create(api.clientConfig());
  ASSERT_TRUE(client.ok()) << client.error().message;
  auto res = (*client)->list(resources::kNodes, "");
  ASSERT_TRUE(res.ok()) << res.error().message;

  // Without the client certificate the handshake is refused.
  auto noCert = api.clientConfig();
  noCert.clientCertPem.clear();
  noCert.clientKeyPem.clear();
  RestClientOptions one;
  one.retry.maxAttempts = 1;
  auto c2 = RestClient::create(noCert, SystemClock::instance(), one).value();
  auto r2 = c2->list(resources::kNodes, "");
  EXPECT_FALSE(r2.ok());

  // A different CA: verification fails, with a clear "tls" error.
  auto wrongCa = api.clientConfig();
  wrongCa.caPem = TestPki::generate().caCertPem;
  auto c3 = RestClient::create(wrongCa, SystemClock::instance(), one).value();
  auto r3 = c3->list(resources::kNodes, "");
  ASSERT_FALSE(r3.ok());
  EXPECT_EQ(r3.error().code, "tls");

  // insecure-skip-tls-verify accepts it.
  wrongCa.insecureSkipTlsVerify = true;
  auto c4 = RestClient::create(wrongCa, SystemClock::instance(), one).value();
  EXPECT_TRUE(c4->list(resources::kNodes, "").ok());

  // The name checked is the host (127.0.0.1 is in the certificate); a wrong tls-server-name fails.
  auto wrongName = api.clientConfig();
  wrongName.tlsServerName = "not-the-apiserver.example";
  auto c5 = RestClient::create(wrongName, SystemClock::instance(), one).value();
  EXPECT_FALSE(c5->list(resources::kNodes, "").ok());
  auto rightName = api.clientConfig();
  rightName.tlsServerName = "localhost";
  auto c6 = RestClient::create(rightName, SystemClock::instance(), one).value();
  EXPECT_TRUE(c6->list(resources::kNodes, "").ok());
}

TEST(Tls, BadPemIsAClearError) {
  ClusterConfig c;
  c.server = "https://127.0.0.1:1";
  c.caPem = "not a certificate";
  auto r = RestClient::create(c);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("CA certificate"), std::string::npos);
  ClusterConfig bad;
  bad.server = "ftp://x";
  EXPECT_FALSE(RestClient::create(bad).ok());
}

TEST(Transport, UnreachableServerFailsFastWithIo) {
  ClusterConfig c;
  c.server = "http://127.0.0.1:1";
  RestClientOptions o;
  o.retry.maxAttempts = 2;
  o.retry.base = std::chrono::milliseconds(1);
  auto client = RestClient::create(c, SystemClock::instance(), o).value();
  auto r = client->list(resources::kPods, "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, "io");
  EXPECT_EQ(client->attempts(), 2u);
}

}  // namespace
}  // namespace spotfit::kube

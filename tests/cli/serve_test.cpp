// `spotfit serve` and `spotfit certs` as a user runs them: real binary, real files, real signals.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "server/cert_checks.hpp"

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct CmdResult {
  int exitCode;
  std::string out;
};

CmdResult spotfit(const std::string& args) {
  std::string cmd = std::string(SPOTFIT_BINARY) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  int st = pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

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

// Minimal plain-HTTP GET (the metrics listener), enough for /readyz.
std::string httpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  timeval tv{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return "<connect failed>";
  }
  std::string req = "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  (void)!write(fd, req.data(), req.size());
  std::string out;
  std::array<char, 4096> buf{};
  ssize_t n;
  while ((n = read(fd, buf.data(), buf.size())) > 0) out.append(buf.data(), static_cast<size_t>(n));
  close(fd);
  return out;
}

TEST(CertsCommand, WritesAVerifiableCaAndServingCertificate) {
  Dir d;
  CmdResult r = spotfit("certs --out " + (d.path / "out").string() +
                        " --dns spotfit.spotfit-system.svc --dns spotfit.spotfit-system.svc.cluster.local --days 10");
  ASSERT_EQ(r.exitCode, 0) << r.out;
  fs::path out = d.path / "out";
  spotfit::testing::CertFacts f =
      spotfit::testing::inspect(slurp(out / "ca.crt"), slurp(out / "tls.crt"), slurp(out / "tls.key"));
  EXPECT_TRUE(f.chainVerifies) << f.verifyError;
  EXPECT_EQ(f.dnsSans,
            (std::vector<std::string>{"spotfit.spotfit-system.svc", "spotfit.spotfit-system.svc.cluster.local"}));
  EXPECT_EQ(f.ipSans, std::vector<std::string>{"127.0.0.1"});
  EXPECT_TRUE(f.leafIsP256);
  EXPECT_TRUE(f.keyMatchesCert);
  EXPECT_TRUE(f.caIsCa);
  EXPECT_FALSE(f.leafIsCa);
  // ca-bundle.b64 is the base64 of ca.crt on one line (what caBundle / caData take).
  std::string b64 = slurp(out / "ca-bundle.b64");
  ASSERT_FALSE(b64.empty());
  EXPECT_EQ(b64.back(), '\n');
  EXPECT_EQ(b64.find('\n'), b64.size() - 1);
  std::string cmd = "base64 -d < " + (out / "ca-bundle.b64").string() + " | cmp -s - " + (out / "ca.crt").string();
  EXPECT_EQ(std::system(cmd.c_str()), 0);
}

TEST(CertsCommand, BadUsageExits2WithOneLine) {
  Dir d;
  CmdResult noDns = spotfit("certs --out " + d.path.string());
  EXPECT_EQ(noDns.exitCode, 2);
  EXPECT_EQ(noDns.out, "spotfit certs: at least one --dns NAME is required (see --help)\n");
  CmdResult badName = spotfit("certs --out " + d.path.string() + " --dns 'bad name'");
  EXPECT_EQ(badName.exitCode, 2);
  EXPECT_EQ(badName.out, "spotfit certs: 'bad name' is not a valid DNS name\n");
  CmdResult badDays = spotfit("certs --out " + d.path.string() + " --dns a --days 0");
  EXPECT_EQ(badDays.exitCode, 2);
}

TEST(ServeCommand, ConfigErrorsNameTheFileLineAndKey) {
  Dir d;
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "server:\n  httpsAddr: 127.0.0.1:0\n  limits:\n    maxBodyBytes: lots\n";
  CmdResult r = spotfit("serve --config " + cfg.string());
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_EQ(r.out,
            "spotfit serve: " + cfg.string() + ":4: server.limits.maxBodyBytes: expected an integer, got 'lots'\n");

  std::ofstream(cfg, std::ios::trunc) << "server:\n  httpsAddr: 127.0.0.1:0\nsheduler:\n  x: 1\n";
  CmdResult unknown = spotfit("serve --config " + cfg.string());
  EXPECT_EQ(unknown.exitCode, 1);
  EXPECT_NE(unknown.out.find(cfg.string() + ":3: sheduler: unknown section (known: server"), std::string::npos)
      << unknown.out;

  CmdResult missing = spotfit("serve --config " + (d.path / "nope.yaml").string());
  EXPECT_EQ(missing.exitCode, 1);
  EXPECT_NE(missing.out.find("cannot read config file"), std::string::npos);
}

TEST(ServeCommand, BadFlagsExit2) {
  CmdResult noCert = spotfit("serve --https-addr 127.0.0.1:0");
  EXPECT_EQ(noCert.exitCode, 2);
  EXPECT_NE(noCert.out.find("--tls-cert-file and --tls-key-file"), std::string::npos) << noCert.out;
  CmdResult badAddr = spotfit("serve --https-addr nonsense --tls-cert-file a --tls-key-file b");
  EXPECT_EQ(badAddr.exitCode, 2);
  EXPECT_NE(badAddr.out.find("flag --https-addr: listen address 'nonsense' needs a port"), std::string::npos)
      << badAddr.out;
  CmdResult badLevel = spotfit("serve --log-level loud --tls-cert-file a --tls-key-file b");
  EXPECT_EQ(badLevel.exitCode, 2);
  EXPECT_NE(badLevel.out.find("unknown log level 'loud'"), std::string::npos);
}

void runServeAndStop(int stopSignal, const std::string& signalName) {
  Dir d;
  ASSERT_EQ(spotfit("certs --out " + d.path.string() + " --dns localhost").exitCode, 0);
  fs::path cfg = d.path / "spotfit.yaml";
  // The file says one thing, the flags override it.
  std::ofstream(cfg) << "server:\n  httpsAddr: 127.0.0.1:1\n  logLevel: warn\n  limits:\n    shutdownTimeout: 5s\n";
  fs::path log = d.path / "serve.log";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    FILE* f = std::freopen(log.c_str(), "w", stderr);
    (void)f;
    unsetenv("KUBECONFIG");
    unsetenv("KUBERNETES_SERVICE_HOST");
    std::string cert = (d.path / "tls.crt").string(), key = (d.path / "tls.key").string();
    execl(SPOTFIT_BINARY, SPOTFIT_BINARY, "serve", "--config", cfg.c_str(), "--https-addr", "127.0.0.1:0",
          "--metrics-addr", "127.0.0.1:0", "--tls-cert-file", cert.c_str(), "--tls-key-file", key.c_str(),
          "--log-level", "info", static_cast<char*>(nullptr));
    _exit(127);
  }
  int metricsPort = 0;
  std::string logs;
  std::regex serving("\"msg\":\"serving\",\"httpsPort\":([0-9]+),\"metricsPort\":([0-9]+)");
  for (int i = 0; i < 1000 && metricsPort == 0; ++i) {
    logs = slurp(log);
    std::smatch m;
    if (std::regex_search(logs, m, serving))
      metricsPort = std::stoi(m[2]);
    else
      std::this_thread::sleep_for(10ms);
  }
  ASSERT_NE(metricsPort, 0) << logs;
  EXPECT_NE(logs.find("\"level\":\"info\""), std::string::npos) << "--log-level info overrides the file's warn";
  EXPECT_NE(logs.find("no Kubernetes API configured"), std::string::npos) << logs;
  std::string ready = httpGet(metricsPort, "/readyz");
  EXPECT_NE(ready.find("HTTP/1.1 200"), std::string::npos) << ready;
  EXPECT_NE(ready.find("kubernetes: off (no kubeconfig, not in a pod)"), std::string::npos) << ready;
  EXPECT_NE(httpGet(metricsPort, "/metrics").find("spotfit_http_requests_total"), std::string::npos);

  ASSERT_EQ(kill(pid, stopSignal), 0);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(WIFEXITED(status)) << slurp(log);
  EXPECT_EQ(WEXITSTATUS(status), 0) << slurp(log);
  logs = slurp(log);
  EXPECT_NE(logs.find("\"signal\":\"" + signalName + "\""), std::string::npos) << logs;
  EXPECT_NE(logs.find("\"msg\":\"stopped\",\"drained\":true"), std::string::npos) << logs;
}

TEST(ServeCommand, RunsWithoutAClusterAndExitsZeroOnSigterm) {
  runServeAndStop(SIGTERM, "SIGTERM");
}

TEST(ServeCommand, ExitsZeroOnSigint) {
  runServeAndStop(SIGINT, "SIGINT");
}

}  // namespace

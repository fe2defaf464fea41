// The extender inside `spotfit serve`: its config section is strict, and a running server exposes its
// routes' readiness note and metrics. Runs the real binary.
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

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("spotfit-extender-" + std::to_string(getpid()) + "-" +
                                               std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::pair<int, std::string> run(const std::string& args) {
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

TEST(ServeExtender, ConfigErrorsNameTheKey) {
  TempDir d;
  ASSERT_EQ(run("certs --out " + d.path.string() + " --dns localhost").first, 0);
  const std::string tls = " --tls-cert-file " + (d.path / "tls.crt").string() + " --tls-key-file " +
                          (d.path / "tls.key").string() + " --https-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0";
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "extender:\n  assumeTtl: soon\n";
  auto [code, out] = run("serve --config " + cfg.string() + tls);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find(cfg.string() + ":2: extender.assumeTtl"), std::string::npos) << out;

  std::ofstream(cfg, std::ios::trunc) << "extender:\n  pathPrefix: extender\n";
  auto [code2, out2] = run("serve --config " + cfg.string() + tls);
  EXPECT_EQ(code2, 1);
  EXPECT_NE(out2.find("extender.pathPrefix: must start with '/'"), std::string::npos) << out2;

  std::ofstream(cfg, std::ios::trunc) << "extender:\n  scoreWeights:\n    gpu: -1\n";
  auto [code3, out3] = run("serve --config " + cfg.string() + tls);
  EXPECT_EQ(code3, 1);
  EXPECT_NE(out3.find("extender.scoreWeights.gpu"), std::string::npos) << out3;

  std::ofstream(cfg, std::ios::trunc) << "extender:\n  nodeCache: true\n";
  auto [code4, out4] = run("serve --config " + cfg.string() + tls);
  EXPECT_EQ(code4, 1);
  EXPECT_NE(out4.find("extender.nodeCache"), std::string::npos) << out4;
}

TEST(ServeExtender, RegistersRoutesMetricsAndReadiness) {
  TempDir d;
  ASSERT_EQ(run("certs --out " + d.path.string() + " --dns localhost").first, 0);
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "extender:\n  assumeTtl: 20s\n";
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
  std::regex serving("\"metricsPort\":([0-9]+)");
  for (int i = 0; i < 1000 && metricsPort == 0; ++i) {
    logs = slurp(log);
    std::smatch m;
    if (std::regex_search(logs, m, serving)) {
      metricsPort = std::stoi(m[1]);
    } else {
      std::this_thread::sleep_for(10ms);
    }
  }
  ASSERT_NE(metricsPort, 0) << logs;
  std::string ready = httpGet(metricsPort, "/readyz");
  EXPECT_NE(ready.find("extender: on (/extender/filter, /extender/prioritize"), std::string::npos) << ready;
  std::string metrics = httpGet(metricsPort, "/metrics");
  EXPECT_NE(metrics.find("spotfit_extender_requests_total{"), std::string::npos);
  EXPECT_NE(metrics.find("spotfit_extender_request_duration_seconds_bucket{"), std::string::npos);
  kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace

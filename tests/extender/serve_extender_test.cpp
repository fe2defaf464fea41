// The extender inside `spotfit serve`: its config section is strict, and a running server exposes its
// routes' readiness note and metrics. Runs the real binary.
#include <arpa/inet.h>
#include <fcntl.h>
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

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "support/fake_apiserver.hpp"

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

// Everything is prepared before fork(): the test process has threads (the fake API server), so the
// child only calls async-signal-safe functions (dup2, execve, _exit).
pid_t startServe(const TempDir& d, const fs::path& cfg, const fs::path& log, const std::string& kubeconfig) {
  std::vector<std::string> args = {SPOTFIT_BINARY, "serve", "--config", cfg.string(), "--https-addr", "127.0.0.1:0",
                                   "--metrics-addr", "127.0.0.1:0", "--tls-cert-file", (d.path / "tls.crt").string(),
                                   "--tls-key-file", (d.path / "tls.key").string(), "--log-level", "info"};
  if (!kubeconfig.empty()) {
    args.push_back("--kubeconfig");
    args.push_back(kubeconfig);
  }
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    if (v.rfind("KUBECONFIG=", 0) == 0 || v.rfind("KUBERNETES_SERVICE_HOST=", 0) == 0) continue;
    env.emplace_back(v);
  }
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(fd);
  return pid;
}

int waitForMetricsPort(const fs::path& log) {
  std::regex serving("\"metricsPort\":([0-9]+)");
  for (int i = 0; i < 1000; ++i) {
    std::string logs = slurp(log);
    std::smatch m;
    if (std::regex_search(logs, m, serving)) return std::stoi(m[1]);
    std::this_thread::sleep_for(10ms);
  }
  return 0;
}

int stopServe(pid_t pid) {
  kill(pid, SIGTERM);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(10ms);
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

// With a kubeconfig, the extender's node and pod informers sync from the API server and readiness says so.
TEST(ServeExtender, InformersSyncFromTheApiServer) {
  TempDir d;
  ASSERT_EQ(run("certs --out " + d.path.string() + " --dns localhost").first, 0);
  spotfit::testsupport::FakeApiServer api;
  {
    std::ifstream in(std::string(SPOTFIT_SOURCE_DIR) + "/tests/extender/testdata/cluster.json");
    std::stringstream ss;
    ss << in.rdbuf();
    rapidjson::Document doc;
    doc.Parse(ss.str().c_str());
    for (const auto& item : doc["items"].GetArray()) {
      rapidjson::StringBuffer buf;
      rapidjson::Writer<rapidjson::StringBuffer> w(buf);
      item.Accept(w);
      api.upsert(std::string(item["kind"].GetString()) == "Node" ? "nodes" : "pods", buf.GetString());
    }
  }
  // The scaler's cost ledger, as its ConfigMap store writes it.
  api.upsert("configmaps",
             R"({"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"spotfit-cost-ledger","namespace":)"
             R"("spotfit-system"},"data":{"ledger.json":"{\"version\":1,\"workflows\":[{\"namespace\":\"ml\",)"
             R"(\"workflow\":\"train-42\",\"usd\":150}],\"namespaces\":{\"ml\":150},\"spotSavingsUsd\":0,)"
             R"(\"running\":[]}"}})");
  fs::path kubeconfig = d.path / "kubeconfig";
  std::ofstream(kubeconfig) << "apiVersion: v1\nkind: Config\ncurrent-context: fake\nclusters:\n- name: fake\n"
                               "  cluster:\n    server: " << api.url() << "\ncontexts:\n- name: fake\n  context:\n"
                               "    cluster: fake\n    user: fake\nusers:\n- name: fake\n  user: {}\n";
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "extender:\n  assume: true\n";
  fs::path log = d.path / "serve.log";
  pid_t pid = startServe(d, cfg, log, kubeconfig.string());
  ASSERT_GT(pid, 0);
  int port = waitForMetricsPort(log);
  ASSERT_NE(port, 0) << slurp(log);
  std::string ready;
  for (int i = 0; i < 500; ++i) {
    ready = httpGet(port, "/readyz");
    if (ready.find("nodes and pods synced") != std::string::npos &&
        ready.find("cost ledger loaded") != std::string::npos) {
      break;
    }
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(ready.find("extender-cache"), std::string::npos) << ready;
  EXPECT_NE(ready.find("nodes and pods synced"), std::string::npos) << ready << slurp(log);
  EXPECT_NE(ready.find("node cache fed by Node and Pod informers"), std::string::npos) << ready;
  EXPECT_NE(ready.find("[+] extender-budgets: ok (cost ledger loaded)"), std::string::npos) << ready;
  EXPECT_EQ(stopServe(pid), 0) << slurp(log);
}

TEST(ServeExtender, RegistersRoutesMetricsAndReadiness) {
  TempDir d;
  ASSERT_EQ(run("certs --out " + d.path.string() + " --dns localhost").first, 0);
  fs::path cfg = d.path / "spotfit.yaml";
  std::ofstream(cfg) << "extender:\n  assumeTtl: 20s\n";
  fs::path log = d.path / "serve.log";
  pid_t pid = startServe(d, cfg, log, "");
  ASSERT_GT(pid, 0);
  int port = waitForMetricsPort(log);
  ASSERT_NE(port, 0) << slurp(log);
  std::string ready = httpGet(port, "/readyz");
  EXPECT_NE(ready.find("extender: on (/extender/filter, /extender/prioritize; no Kubernetes API"), std::string::npos)
      << ready;
  std::string metrics = httpGet(port, "/metrics");
  EXPECT_NE(metrics.find("spotfit_extender_requests_total{"), std::string::npos);
  EXPECT_NE(metrics.find("spotfit_extender_request_duration_seconds_bucket{"), std::string::npos);
  EXPECT_EQ(stopServe(pid), 0) << slurp(log);
}

}  // namespace

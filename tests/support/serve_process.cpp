#include "support/serve_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>
#include <string_view>
#include <thread>

#include "test_paths.hpp"

extern char** environ;

namespace spotfit::testsupport {

using namespace std::chrono_literals;

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string httpGet(int port, const std::string& path) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "<connect failed>";
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

ServeProcess::ServeProcess(ServeOptions options) : options_(std::move(options)) {
  std::vector<std::string> args = {spotfit::testpaths::spotfitBinary(),
                                   "serve",
                                   "--config",
                                   options_.config.string(),
                                   "--https-addr",
                                   "127.0.0.1:0",
                                   "--metrics-addr",
                                   "127.0.0.1:0",
                                   "--tls-cert-file",
                                   (options_.certDir / "tls.crt").string(),
                                   "--tls-key-file",
                                   (options_.certDir / "tls.key").string(),
                                   "--log-level",
                                   "info"};
  if (!options_.kubeconfig.empty()) {
    args.push_back("--kubeconfig");
    args.push_back(options_.kubeconfig);
  }
  args.insert(args.end(), options_.extraArgs.begin(), options_.extraArgs.end());
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
  int fd = open(options_.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, 2);
    execve(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(fd);
  pid_ = pid;
}

ServeProcess::~ServeProcess() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
}

bool ServeProcess::waitUntilServing() {
  if (pid_ <= 0) return false;
  std::regex serving("\"msg\":\"serving\",\"httpsPort\":([0-9]+),\"metricsPort\":([0-9]+)");
  for (int i = 0; i < 1000; ++i) {
    std::string log = logs();
    std::smatch m;
    if (std::regex_search(log, m, serving)) {
      httpsPort_ = std::stoi(m[1]);
      metricsPort_ = std::stoi(m[2]);
      return true;
    }
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited before serving; nothing left to stop
      return false;
    }
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

std::string ServeProcess::waitForReadyz(const std::vector<std::string>& needles) const {
  std::string ready;
  for (int i = 0; i < 500; ++i) {
    ready = httpGet(metricsPort_, "/readyz");
    bool all = true;
    for (const auto& n : needles) all = all && ready.find(n) != std::string::npos;
    if (all) break;
    std::this_thread::sleep_for(20ms);
  }
  return ready;
}

int ServeProcess::stop(int signal) {
  if (pid_ <= 0) return -1;
  kill(pid_, signal);
  int status = 0;
  for (int i = 0; i < 1000; ++i) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(10ms);
  }
  kill(pid_, SIGKILL);
  waitpid(pid_, &status, 0);
  pid_ = -1;
  return -1;
}

}  // namespace spotfit::testsupport

#pragma once
// `spotfit serve` as a child process for tests that run the real binary: start it on 127.0.0.1 port 0,
// wait for its "serving" log line (which names the ports), poll /readyz, stop it with a signal and read
// its logs. The child's stderr (the JSON log) goes to a file.
//
// Usage:
//   ServeProcess serve({.config = cfg, .certDir = dir, .log = dir / "serve.log"});
//   ASSERT_TRUE(serve.waitUntilServing()) << serve.logs();
//   std::string ready = httpGet(serve.metricsPort(), "/readyz");
//   EXPECT_EQ(serve.stop(), 0) << serve.logs();

#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace spotfit::testsupport {

// The whole file, "" when it cannot be read.
std::string readFile(const std::filesystem::path& path);

// A minimal plain-HTTP/1.1 GET to 127.0.0.1:port (the metrics listener): the raw response (status line,
// headers, body), or "<connect failed>". Reads time out after 5 s.
std::string httpGet(int port, const std::string& path);

struct ServeOptions {
  std::filesystem::path config{};   // --config
  std::filesystem::path certDir{};  // holds tls.crt and tls.key (as `spotfit certs --out certDir` writes them)
  std::filesystem::path log{};      // the child's stderr
  std::string kubeconfig{};         // --kubeconfig, when not empty
  std::vector<std::string> extraArgs{};
};

// Runs `spotfit serve --config C --https-addr 127.0.0.1:0 --metrics-addr 127.0.0.1:0 --tls-cert-file
// certDir/tls.crt --tls-key-file certDir/tls.key --log-level info [--kubeconfig K] extraArgs...` with
// KUBECONFIG and KUBERNETES_SERVICE_HOST removed from its environment, so only `kubeconfig` points it
// at a cluster. Everything is prepared before fork(): test processes have threads (e.g. a fake API
// server), so the child only calls async-signal-safe functions (dup2, execve, _exit).
class ServeProcess {
 public:
  explicit ServeProcess(ServeOptions options);
  // A child still running is killed (SIGKILL) and reaped.
  ~ServeProcess();
  ServeProcess(const ServeProcess&) = delete;
  ServeProcess& operator=(const ServeProcess&) = delete;

  // False when the log file could not be opened or fork() failed.
  bool started() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }

  // Polls the log (up to 10 s) for the "serving" line and records the ports it names. False on timeout
  // or when the child exited first.
  bool waitUntilServing();
  int httpsPort() const { return httpsPort_; }
  int metricsPort() const { return metricsPort_; }

  // Polls GET /readyz (up to 10 s) until the response contains every one of `needles`; the last response.
  std::string waitForReadyz(const std::vector<std::string>& needles) const;

  // Sends `signal` and waits (up to 10 s) for the child to exit: its exit code, or -1 when it did not
  // exit normally (killed by a signal, or still running after the wait and then killed with SIGKILL).
  int stop(int signal = SIGTERM);

  std::string logs() const { return readFile(options_.log); }

 private:
  ServeOptions options_;
  pid_t pid_ = -1;
  int httpsPort_ = 0;
  int metricsPort_ = 0;
};

}  // namespace spotfit::testsupport

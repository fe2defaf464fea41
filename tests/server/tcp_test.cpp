// TCP behaviour of accepted connections: Nagle is off, and responses that span several TLS records keep
// flowing over one keep-alive connection. (Per-request latency of such responses is measured in
// bench/bench_server.cpp, BM_HttpsKeepAliveResponseSize, not asserted here.)
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "harness.hpp"

namespace spotfit::testing {
namespace {

using server::Request;
using server::Response;

uint16_t portOf(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(a).sin_port);
  if (a.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(a).sin6_port);
  return 0;
}

// The server runs in this process: its accepted sockets are this process's descriptors whose local port
// is the listener's and that have a peer (the listening socket has none).
std::vector<int> acceptedSockets(uint16_t listenerPort) {
  std::vector<int> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) {
    const int fd = std::atoi(entry.path().filename().c_str());
    struct stat st {};
    if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) continue;
    sockaddr_storage local{}, peer{};
    socklen_t localLen = sizeof local, peerLen = sizeof peer;
    if (getsockname(fd, reinterpret_cast<sockaddr*>(&local), &localLen) != 0) continue;
    if (portOf(local) != listenerPort) continue;
    if (getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &peerLen) != 0) continue;
    out.push_back(fd);
  }
  return out;
}

int noDelay(int fd) {
  int value = -1;
  socklen_t len = sizeof value;
  if (getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &value, &len) != 0) return -1;
  return value;
}

// Deterministic, incompressible-looking text of `n` bytes so a short or shuffled body cannot pass.
std::string pattern(size_t n, char seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + static_cast<size_t>(seed)) % 26);
  return s;
}

TEST(ServerTcp, AcceptedConnectionsHaveNagleOff) {
  Harness h;
  h.server->router().add("GET", "/hello", [](const Request&) { return Response::text(200, "hello"); });
  h.start();
  TestClient tls = h.https();
  ASSERT_FALSE(tls.open());
  ASSERT_EQ(tls.request("GET", "/hello").status, 200);  // the session exists once it has answered
  TestClient plain = h.plain();
  ASSERT_FALSE(plain.open());
  ASSERT_EQ(plain.request("GET", "/healthz").status, 200);

  for (uint16_t port : {h.server->httpsPort(), h.server->plainPort()}) {
    std::vector<int> fds = acceptedSockets(port);
    ASSERT_EQ(fds.size(), 1u) << "port " << port;
    // With Nagle on, a response written as several TLS records waits after the first record for an ACK
    // that request/response clients delay (40 ms on Linux): every prioritize call over 16 KiB stalled.
    EXPECT_EQ(noDelay(fds[0]), 1) << "TCP_NODELAY must be set on accepted sockets (port " << port << ")";
  }
}

TEST(ServerTcp, ResponsesSpanningSeveralTlsRecordsReuseOneKeepAliveConnection) {
  Harness h;
  h.server->router().add("GET", "/blob", [](const Request& r) {
    const size_t n = static_cast<size_t>(std::strtoul(r.query.c_str(), nullptr, 10));
    return Response::json(200, pattern(n, static_cast<char>(n % 26)));
  });
  h.start();
  TestClient c = h.https();
  ASSERT_FALSE(c.open());
  // One record (< 16 KiB), just over one record (the prioritize answer for ~450 nodes), many records.
  const std::vector<size_t> sizes{4096, 20 * 1024, 256 * 1024};
  int requests = 0;
  for (int round = 0; round < 5; ++round) {
    for (size_t n : sizes) {
      HttpResult r = c.request("GET", "/blob?" + std::to_string(n));
      ++requests;
      ASSERT_FALSE(r.ec) << r.ec.message();
      ASSERT_EQ(r.status, 200);
      ASSERT_EQ(r.body.size(), n);
      EXPECT_EQ(r.body, pattern(n, static_cast<char>(n % 26)));
      EXPECT_TRUE(r.keepAlive);
    }
  }
  const std::string m = h.metrics();
  EXPECT_EQ(sample(m, "spotfit_http_connections{listener=\"https\"}"), 1) << m;
  EXPECT_EQ(sample(m, "spotfit_http_requests_total{code=\"200\",listener=\"https\",method=\"GET\",route=\"/blob\"}"),
            requests)
      << m;
  std::vector<int> fds = acceptedSockets(h.server->httpsPort());
  ASSERT_EQ(fds.size(), 1u);
  EXPECT_EQ(noDelay(fds[0]), 1);
}

}  // namespace
}  // namespace spotfit::testing

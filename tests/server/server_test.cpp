// The serving shell over real sockets: keep-alive, limits, deadlines, TLS versions, drain.
#include "server/server.hpp"

#include <gtest/gtest.h>
#include <openssl/ssl.h>

#include <atomic>
#include <chrono>
#include <future>
#include <optional>
#include <thread>

#include "harness.hpp"

namespace spotfit::testing {
namespace {

using namespace std::chrono_literals;
using server::Request;
using server::Response;

void addEcho(server::Server& s) {
  s.router().add("POST", "/echo", [](const Request& r) { return Response::text(200, "echo:" + r.body); });
  s.router().add("GET", "/hello", [](const Request& r) { return Response::text(200, "hello " + r.query); });
}

TEST(Server, ServesOverTls13AndReusesKeepAliveConnections) {
  Harness h;
  addEcho(*h.server);
  h.start();
  TestClient c = h.https();
  ASSERT_FALSE(c.open());
  EXPECT_EQ(c.tlsVersion(), "TLSv1.3");
  for (int i = 0; i < 3; ++i) {
    HttpResult r = c.request("POST", "/echo", "n" + std::to_string(i));
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "echo:n" + std::to_string(i));
    EXPECT_TRUE(r.keepAlive);
  }
  HttpResult q = c.request("GET", "/hello?name=x");
  EXPECT_EQ(q.body, "hello name=x");
  // All four requests went over one connection: the server still holds exactly one HTTPS connection.
  std::string m = h.metrics();
  EXPECT_EQ(sample(m, "spotfit_http_connections{listener=\"https\"}"), 1) << m;
  EXPECT_EQ(sample(m, "spotfit_http_requests_total{code=\"200\",listener=\"https\",method=\"POST\",route=\"/echo\"}"),
            3)
      << m;
  EXPECT_EQ(sample(m, "spotfit_http_request_duration_seconds_count{listener=\"https\",route=\"/echo\"}"), 3) << m;
}

TEST(Server, InvalidStatusFromAHandlerBecomes500) {
  Harness h;
  h.server->router().add("GET", "/bad", [](const Request&) { return Response::text(42, "nonsense"); });
  addEcho(*h.server);
  h.start();
  TestClient c = h.https();
  ASSERT_FALSE(c.open());
  EXPECT_EQ(c.request("GET", "/bad").status, 500);
  EXPECT_EQ(c.request("GET", "/hello").status, 200) << "the connection survives";
}

TEST(Server, UnknownPathAndMethod) {
  Harness h;
  addEcho(*h.server);
  h.start();
  TestClient c = h.https();
  ASSERT_FALSE(c.open());
  EXPECT_EQ(c.request("GET", "/nope").status, 404);
  EXPECT_EQ(c.request("GET", "/echo").status, 405);
  EXPECT_EQ(c.request("POST", "/echo", "still-alive").body, "echo:still-alive");
  EXPECT_EQ(sample(h.metrics(),
                   "spotfit_http_requests_total{code=\"404\",listener=\"https\",method=\"GET\",route=\"unmatched\"}"),
            1);
}

TEST(Server, BodyOverLimitGets413) {
  Harness h([](server::ServerConfig& c) { c.limits.maxBodyBytes = 1024; });
  addEcho(*h.server);
  h.start();
  {
    TestClient c = h.https();
    ASSERT_FALSE(c.open());
    HttpResult ok = c.request("POST", "/echo", std::string(1024, 'a'));
    EXPECT_EQ(ok.status, 200);
    EXPECT_EQ(ok.body.size(), 5 + 1024u);
  }
  {
    // Declared length over the limit: refused from the headers alone, before any body is read.
    TestClient c = h.https();
    ASSERT_FALSE(c.open());
    ASSERT_FALSE(c.writeRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1025\r\n\r\n"));
    HttpResult r = c.readResponse();
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.status, 413);
    EXPECT_FALSE(r.keepAlive);
    EXPECT_NE(r.body.find("exceeds 1024 bytes"), std::string::npos) << r.body;
    EXPECT_TRUE(c.closedByPeer(3s));
  }
  {
    // Chunked body that grows past the limit.
    TestClient c = h.https();
    ASSERT_FALSE(c.open());
    std::string chunk(800, 'b');
    ASSERT_FALSE(c.writeRaw("POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n320\r\n" + chunk +
                            "\r\n320\r\n" + chunk + "\r\n0\r\n\r\n"));
    HttpResult r = c.readResponse();
    ASSERT_FALSE(r.ec) << r.ec.message();
    EXPECT_EQ(r.status, 413);
  }
}

TEST(Server, AnswersExpectContinueBeforeReadingTheBody) {
  Harness h;
  addEcho(*h.server);
  h.start();
  TestClient c = h.https();
  ASSERT_FALSE(c.open());
  ASSERT_FALSE(c.writeRaw("POST /echo HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n"));
  HttpResult go = c.readResponse();
  ASSERT_FALSE(go.ec) << go.ec.message();
  EXPECT_EQ(go.status, 100);
  ASSERT_FALSE(c.writeRaw("hello"));
  HttpResult r = c.readResponse();
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "echo:hello");
}

TEST(Server, HeadersOverLimitGet431) {
  Harness h([](server::ServerConfig& c) { c.limits.maxHeaderBytes = 2048; });
  addEcho(*h.server);
  h.start();
  TestClient ok = h.https();
  ASSERT_FALSE(ok.open());
  EXPECT_EQ(ok.request("GET", "/hello", "", {{"X-Small", std::string(1000, 'x')}}).status, 200);
  TestClient c = h.https();
  ASSERT_FALSE(c.open());
  HttpResult r = c.request("GET", "/hello", "", {{"X-Big", std::string(4096, 'x')}});
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status, 431);
  EXPECT_FALSE(r.keepAlive);
}

TEST(Server, SlowClientsAreClosedAtTheirDeadlineWhileOthersAreServed) {
  Harness h([](server::ServerConfig& c) {
    c.limits.handshakeTimeout = 200ms;
    c.limits.headerTimeout = 300ms;
    c.limits.idleTimeout = 400ms;
  });
  addEcho(*h.server);
  h.start();
  TestClient silent = h.https();  // TCP connect, never starts TLS
  ASSERT_FALSE(silent.connect());
  TestClient partial = h.https();  // TLS, then half a request header
  ASSERT_FALSE(partial.open());
  ASSERT_FALSE(partial.writeRaw("POST /echo HTTP/1.1\r\nHost: x\r\n"));
  TestClient idle = h.https();  // one request, then nothing
  ASSERT_FALSE(idle.open());
  EXPECT_EQ(idle.request("POST", "/echo", "x").status, 200);

  TestClient good = h.https();
  ASSERT_FALSE(good.open());
  EXPECT_EQ(good.request("POST", "/echo", "served").body, "echo:served");

  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(silent.closedByPeer(5s));
  EXPECT_TRUE(partial.closedByPeer(5s));
  EXPECT_TRUE(idle.closedByPeer(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_GE(eventually(h, "spotfit_http_timeouts_total{phase=\"handshake\"}", 1), 1);
  EXPECT_GE(eventually(h, "spotfit_http_timeouts_total{phase=\"header\"}", 1), 1);
  EXPECT_GE(eventually(h, "spotfit_http_timeouts_total{phase=\"idle\"}", 1), 1);
}

TEST(Server, SlowBodyIsClosedAtTheBodyDeadline) {
  Harness h([](server::ServerConfig& c) { c.limits.bodyTimeout = 200ms; });
  addEcho(*h.server);
  h.start();
  TestClient c = h.https();
  ASSERT_FALSE(c.open());
  ASSERT_FALSE(c.writeRaw("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b"));
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.closedByPeer(5s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 3s);
  EXPECT_GE(eventually(h, "spotfit_http_timeouts_total{phase=\"body\"}", 1), 1);
}

TEST(Server, RefusesTls11AndAcceptsTls12) {
  Harness h;
  addEcho(*h.server);
  h.start();
  TestClient::Options old = h.tlsOptions();
  old.allowLegacy = true;  // the client itself would offer TLS 1.1
  old.minVersion = TLS1_1_VERSION;
  old.maxVersion = TLS1_1_VERSION;
  TestClient legacy(h.server->httpsPort(), old);
  ASSERT_FALSE(legacy.connect());
  EXPECT_TRUE(legacy.handshake()) << "TLS 1.1 handshake must fail";

  TestClient::Options v12 = h.tlsOptions();
  v12.allowLegacy = true;
  v12.maxVersion = TLS1_2_VERSION;
  TestClient modern(h.server->httpsPort(), v12);
  ASSERT_FALSE(modern.open());
  EXPECT_EQ(modern.tlsVersion(), "TLSv1.2");
  EXPECT_EQ(modern.request("GET", "/hello").status, 200);
  EXPECT_GE(eventually(h, "spotfit_tls_handshake_failures_total", 1), 1);
}

// What kube-apiserver and kube-scheduler see over the cap: an HTTP answer they retry on, not a reset.
void expectOverCapAnswer(const HttpResult& r) {
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.headers.count("retry-after") ? r.headers.at("retry-after") : "", "1");
  EXPECT_EQ(r.headers.count("connection") ? r.headers.at("connection") : "", "close");
  EXPECT_FALSE(r.keepAlive);
  EXPECT_NE(r.body.find("too many connections"), std::string::npos) << r.body;
}

// The connections holding a cap are busy (their request held in a handler until `gate` opens): idle
// ones would be evicted to make room instead (hostile_test.cpp). Returns the held request's status.
std::future<int> holdBusy(const Harness& h, bool https, Gate& gate) {
  int before;
  {
    std::lock_guard lock(gate.mu);
    before = gate.waiting;
  }
  auto f = std::async(std::launch::async, [&h, https] {
    TestClient c = https ? h.https() : h.plain();
    if (c.open()) return -1;
    return c.request("GET", "/hold").status;
  });
  EXPECT_TRUE(gate.waitForWaiters(before + 1));
  return f;
}

void addHold(server::Router& router, Gate& gate) {
  router.add("GET", "/hold", [&gate](const Request&) {
    gate.wait();
    return Response::text(200, "held\n");
  });
}

TEST(Server, ConnectionCapAnswers503ThroughTls) {
  Harness h([](server::ServerConfig& c) { c.limits.maxConnections = 2; });
  addEcho(*h.server);
  Gate gate;
  addHold(h.server->router(), gate);
  h.start();
  std::future<int> a = holdBusy(h, true, gate);
  std::future<int> b = holdBusy(h, true, gate);
  for (int i = 0; i < 3; ++i) {
    TestClient extra = h.https();
    ASSERT_FALSE(extra.open()) << "over-cap connections still get a handshake";
    expectOverCapAnswer(extra.request("POST", "/hello", std::string(1000, 'x')));
    EXPECT_TRUE(extra.closedByPeer(2s));
  }
  gate.release();
  EXPECT_EQ(a.get(), 200);
  EXPECT_EQ(b.get(), 200);
  EXPECT_GE(eventually(h, "spotfit_http_connections_rejected_total{action=\"503\",listener=\"https\"}", 3), 3);
  EXPECT_EQ(sample(h.metrics(), "spotfit_http_connections_rejected_total{action=\"closed\",listener=\"https\"}"), 0);
  // Three rejections, one warning (rate-limited).
  std::string logs = h.logs();
  size_t warnings = 0;
  for (size_t pos = 0; (pos = logs.find("connection cap reached", pos)) != std::string::npos; ++pos) ++warnings;
  EXPECT_EQ(warnings, 1u) << logs;
  EXPECT_NE(logs.find("\"level\":\"warning\",\"logger\":\"test\",\"msg\":\"connection cap reached"), std::string::npos)
      << logs;
  bool admitted = false;  // the held connections have closed
  for (int i = 0; i < 200 && !admitted; ++i) {
    TestClient again = h.https();
    admitted = !again.open() && again.request("GET", "/hello").status == 200;
    if (!admitted) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(admitted);
}

TEST(Server, PlainConnectionCapAnswers503) {
  Harness h([](server::ServerConfig& c) { c.limits.maxPlainConnections = 1; });
  Gate gate;
  addHold(h.server->plainRouter(), gate);
  h.start();
  std::future<int> held = holdBusy(h, false, gate);  // the plain listener's one slot is taken, busy
  TestClient extra = h.plain();
  ASSERT_FALSE(extra.connect());
  expectOverCapAnswer(extra.request("GET", "/metrics"));  // probes are answered even now (hostile_test.cpp)
  EXPECT_TRUE(extra.closedByPeer(2s));
  EXPECT_GE(eventually(h, "spotfit_http_connections_rejected_total{action=\"503\",listener=\"http\"}", 1), 1);
  gate.release();
  EXPECT_EQ(held.get(), 200);
}

// Answering over-cap connections must not be a DoS lever itself: a bounded number of reject slots, each
// held for at most rejectTimeout; beyond them, connections are closed at accept.
TEST(Server, RejectSlotsAreBoundedInNumberAndTime) {
  Harness h([](server::ServerConfig& c) {
    c.limits.maxConnections = 1;
    c.limits.maxRejectingConnections = 1;
    c.limits.rejectTimeout = 300ms;
  });
  addEcho(*h.server);
  Gate gate;
  addHold(h.server->router(), gate);
  h.start();
  std::future<int> admitted = holdBusy(h, true, gate);
  // A client that never starts its handshake sits in the only reject slot...
  TestClient::Options raw;
  raw.tls = false;
  TestClient stalled(h.server->httpsPort(), raw);
  ASSERT_FALSE(stalled.connect());
  ASSERT_GE(eventually(h, "spotfit_http_connections_rejected_total{action=\"503\",listener=\"https\"}", 1), 1);
  // ...so the next one is closed at accept, without a handshake.
  TestClient closed = h.https();
  ASSERT_FALSE(closed.connect());
  EXPECT_TRUE(closed.handshake()) << "no reject slot free: closed at accept";
  EXPECT_GE(eventually(h, "spotfit_http_connections_rejected_total{action=\"closed\",listener=\"https\"}", 1), 1);
  // The stalled client loses its slot at rejectTimeout; then over-cap connections get their 503 again.
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(stalled.closedByPeer(3s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  EXPECT_GE(eventually(h, "spotfit_http_timeouts_total{phase=\"reject\"}", 1), 1);
  bool answered = false;
  for (int i = 0; i < 200 && !answered; ++i) {
    TestClient extra = h.https();
    answered = !extra.open() && extra.request("GET", "/hello").status == 503;
    if (!answered) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(answered);
  gate.release();
  EXPECT_EQ(admitted.get(), 200);
}

TEST(Server, ZeroRejectSlotsClosesOverCapConnectionsAtAccept) {
  Harness h([](server::ServerConfig& c) {
    c.limits.maxConnections = 1;
    c.limits.maxRejectingConnections = 0;
  });
  addEcho(*h.server);
  Gate gate;
  addHold(h.server->router(), gate);
  h.start();
  std::future<int> admitted = holdBusy(h, true, gate);
  TestClient extra = h.https();
  ASSERT_FALSE(extra.connect());
  EXPECT_TRUE(extra.handshake());
  EXPECT_GE(eventually(h, "spotfit_http_connections_rejected_total{action=\"closed\",listener=\"https\"}", 1), 1);
  gate.release();
  EXPECT_EQ(admitted.get(), 200);
}

TEST(Server, PlainListenerServesHealthReadinessAndMetrics) {
  Harness h;
  addEcho(*h.server);
  h.server->readiness().setFeature("kubernetes", false, "no kubeconfig, not in a pod");
  std::atomic<bool> synced{false};
  h.server->readiness().addCheck(
      "informers", [&] { return synced ? server::CheckResult::pass() : server::CheckResult::fail("not synced"); });
  h.start();
  TestClient p = h.plain();
  ASSERT_FALSE(p.open());
  EXPECT_EQ(p.request("GET", "/healthz").body, "ok\n");
  HttpResult notReady = p.request("GET", "/readyz");
  EXPECT_EQ(notReady.status, 503);
  EXPECT_NE(notReady.body.find("[-] informers: failed (not synced)"), std::string::npos) << notReady.body;
  EXPECT_NE(notReady.body.find("kubernetes: off (no kubeconfig, not in a pod)"), std::string::npos) << notReady.body;
  synced = true;
  HttpResult ready = p.request("GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_NE(ready.body.find("[+] tls: ok"), std::string::npos) << ready.body;
  TestClient c = h.https();
  ASSERT_FALSE(c.open());
  c.request("POST", "/echo", "x");
  HttpResult m = p.request("GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  EXPECT_NE(m.headers["content-type"].find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(
      m.body.find("spotfit_http_request_duration_seconds_bucket{listener=\"https\",route=\"/echo\",le=\"0.005\"}"),
      std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("spotfit_tls_certificate_expiry_timestamp_seconds"), std::string::npos);
  // The metrics listener does not serve the HTTPS routes.
  EXPECT_EQ(p.request("POST", "/echo", "x").status, 404);
}

TEST(Server, StopLetsAnInFlightRequestFinish) {
  Harness h;
  std::promise<void> entered;
  std::promise<void> release;
  auto released = release.get_future().share();
  h.server->router().add("POST", "/slow", [&](const Request&) {
    entered.set_value();
    released.wait();
    return Response::text(200, "finished");
  });
  h.start();
  uint16_t httpsPort = h.server->httpsPort();
  TestClient c = h.https();
  ASSERT_FALSE(c.open());
  TestClient idleConn = h.https();
  ASSERT_FALSE(idleConn.open());
  auto reply = std::async(std::launch::async, [&] { return c.request("POST", "/slow", "work"); });
  entered.get_future().wait();

  auto stopped = std::async(std::launch::async, [&] { h.server->stop(); });
  // While draining: not ready, no new HTTPS connections, idle keep-alive connections closed.
  TestClient p = h.plain();
  ASSERT_FALSE(p.open());
  HttpResult ready;
  for (int i = 0; i < 500; ++i) {
    ready = p.request("GET", "/readyz");
    if (ready.status == 503) break;
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(ready.status, 503);
  EXPECT_NE(ready.body.find("[-] shutdown: draining"), std::string::npos) << ready.body;
  EXPECT_TRUE(idleConn.closedByPeer(3s));
  TestClient late(httpsPort, h.tlsOptions());
  EXPECT_TRUE(late.open()) << "no new connections while draining";
  EXPECT_EQ(stopped.wait_for(50ms), std::future_status::timeout) << "stop() must wait for the request in flight";

  release.set_value();
  HttpResult r = reply.get();
  ASSERT_FALSE(r.ec) << r.ec.message();
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "finished");
  EXPECT_FALSE(r.keepAlive) << "a draining server closes the connection after the response";
  ASSERT_EQ(stopped.wait_for(5s), std::future_status::ready);
  EXPECT_NE(h.logs().find("\"msg\":\"stopped\",\"drained\":true"), std::string::npos) << h.logs();
}

TEST(Server, StopGivesUpOnARequestPastTheShutdownDeadline) {
  Harness h([](server::ServerConfig& c) { c.limits.shutdownTimeout = 100ms; });
  std::promise<void> entered;
  std::atomic<bool> stopWaiting{false};
  h.server->router().add("POST", "/stuck", [&](const Request&) {
    entered.set_value();
    while (!stopWaiting) std::this_thread::sleep_for(1ms);
    return Response::text(200, "late");
  });
  h.start();
  TestClient c = h.https();
  ASSERT_FALSE(c.open());
  auto reply = std::async(std::launch::async, [&] { return c.request("POST", "/stuck"); });
  entered.get_future().wait();
  std::thread releaser([&] {
    std::this_thread::sleep_for(300ms);
    stopWaiting = true;
  });
  h.server->stop();
  releaser.join();
  reply.get();
  EXPECT_NE(h.logs().find("shutdown deadline passed"), std::string::npos) << h.logs();
}

TEST(Server, StartFailsClearlyWithoutCertificates) {
  server::ServerConfig cfg;
  cfg.httpsAddr = "127.0.0.1:0";
  cfg.metricsAddr = "127.0.0.1:0";
  server::Server s(cfg);
  auto st = s.start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("TLS certificate and key are required"), std::string::npos);

  cfg.tlsCertFile = "/nonexistent/tls.crt";
  cfg.tlsKeyFile = "/nonexistent/tls.key";
  server::Server s2(cfg);
  auto st2 = s2.start();
  ASSERT_FALSE(st2);
  EXPECT_NE(st2.error().message.find("cannot read TLS certificate file /nonexistent/tls.crt"), std::string::npos);
}

TEST(Server, StartFailsWhenThePortIsTaken) {
  Harness a;
  a.start();
  Harness b([&](server::ServerConfig& c) { c.httpsAddr = "127.0.0.1:" + std::to_string(a.server->httpsPort()); });
  auto st = b.server->start();
  ASSERT_FALSE(st);
  EXPECT_NE(st.error().message.find("cannot listen on 127.0.0.1:"), std::string::npos) << st.error().message;
}

}  // namespace
}  // namespace spotfit::testing

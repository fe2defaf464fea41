// HTTPS keep-alive throughput and latency of a trivial route through the serving shell.
//
//   bench_server                      Google Benchmark: N client threads, one keep-alive TLS connection each,
//                                     against an embedded server (reports req/s and p50/p99 per thread);
//                                     BM_HttpsKeepAliveResponseSize: sequential requests on one connection
//                                     whose answers span 1, 2 or many TLS records (the Nagle/delayed-ACK case)
//   bench_server --serve [--threads N] [--connections-cap N]
//                                     just serve GET /ping on an ephemeral HTTPS port (printed on stdout) for an
//                                     external load tool; bench/load_server.sh drives it with wrk and reads RSS.

#include <benchmark/benchmark.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "server/certgen.hpp"
#include "server/server.hpp"

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

struct BenchServer {
  fs::path dir;
  spotfit::server::CertBundle certs;
  std::unique_ptr<spotfit::server::Server> server;

  explicit BenchServer(unsigned threads, size_t maxConnections = 4096) {
    dir = fs::temp_directory_path() / ("spotfit-bench-" + std::to_string(getpid()));
    fs::create_directories(dir);
    spotfit::server::CertOptions o;
    o.dnsNames = {"localhost"};
    auto b = spotfit::server::generateCertificates(o);
    if (!b) throw std::runtime_error(b.error().message);
    certs = *b;
    if (auto st = spotfit::server::writeCertificates(certs, dir.string()); !st)
      throw std::runtime_error(st.error().message);
    spotfit::server::ServerConfig cfg;
    cfg.httpsAddr = "127.0.0.1:0";
    cfg.metricsAddr = "127.0.0.1:0";
    cfg.tlsCertFile = (dir / "tls.crt").string();
    cfg.tlsKeyFile = (dir / "tls.key").string();
    cfg.threads = threads;
    cfg.limits.maxConnections = maxConnections;
    server = std::make_unique<spotfit::server::Server>(cfg);
    server->router().add("GET", "/ping", [](const spotfit::server::Request&) {
      return spotfit::server::Response::json(200, "{\"ok\":true}");
    });
    // GET /blob?N: an N-byte JSON string body, like an extender answer of that size.
    server->router().add("GET", "/blob", [](const spotfit::server::Request& r) {
      const size_t n = std::max<size_t>(2, static_cast<size_t>(std::strtoul(r.query.c_str(), nullptr, 10)));
      std::string body(n, 'x');
      body.front() = '"';
      body.back() = '"';
      return spotfit::server::Response::json(200, std::move(body));
    });
    if (auto st = server->start(); !st) throw std::runtime_error(st.error().message);
  }
  ~BenchServer() {
    server.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

BenchServer& sharedServer() {
  static BenchServer s(std::max(1u, std::thread::hardware_concurrency()));
  return s;
}

// One blocking keep-alive TLS client connection.
class Client {
 public:
  Client(uint16_t port, const std::string& caPem) : ctx_(asio::ssl::context::tls_client), stream_(ioc_, ctx_) {
    ctx_.add_certificate_authority(asio::buffer(caPem));
    ctx_.set_verify_mode(asio::ssl::verify_peer);
    beast::get_lowest_layer(stream_).connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    beast::get_lowest_layer(stream_).set_option(tcp::no_delay(true));
    stream_.handshake(asio::ssl::stream_base::client);
    req_ = http::request<http::empty_body>(http::verb::get, "/ping", 11);
    req_.set(http::field::host, "localhost");
    req_.keep_alive(true);
  }
  bool ping() {
    http::write(stream_, req_);
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    return res.result_int() == 200;
  }
  // GET target; true when the answer is 200 with a body of `expectBytes`.
  bool get(const std::string& target, size_t expectBytes) {
    req_.target(target);
    http::write(stream_, req_);
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    return res.result_int() == 200 && res.body().size() == expectBytes;
  }

 private:
  asio::io_context ioc_;
  asio::ssl::context ctx_;
  beast::ssl_stream<tcp::socket> stream_;
  beast::flat_buffer buffer_;
  http::request<http::empty_body> req_;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t k = static_cast<size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

void BM_HttpsKeepAlivePing(benchmark::State& state) {
  BenchServer& s = sharedServer();
  Client client(s.server->httpsPort(), s.certs.caCertPem);
  std::vector<double> latencies;
  latencies.reserve(1 << 16);
  int64_t failures = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    if (!client.ping()) ++failures;
    latencies.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  state.SetItemsProcessed(state.iterations());
  state.counters["p50_us"] = benchmark::Counter(percentile(latencies, 0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(percentile(latencies, 0.99), benchmark::Counter::kAvgThreads);
  state.counters["failures"] = static_cast<double>(failures);
}
BENCHMARK(BM_HttpsKeepAlivePing)->ThreadRange(1, 16)->UseRealTime()->MinTime(2.0);

// One keep-alive TLS connection, one request at a time, answers of state.range(0) bytes. Answers above
// 16 KiB leave the server as several TLS records (several writes); with Nagle on, each write after the
// first waited for the client's delayed ACK (~40 ms). kube-scheduler's prioritize answer passes 16 KiB at
// about 450 candidate nodes.
void BM_HttpsKeepAliveResponseSize(benchmark::State& state) {
  BenchServer& s = sharedServer();
  Client client(s.server->httpsPort(), s.certs.caCertPem);
  const size_t bytes = static_cast<size_t>(state.range(0));
  const std::string target = "/blob?" + std::to_string(bytes);
  std::vector<double> latencies;
  latencies.reserve(1 << 14);
  int64_t failures = 0;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    if (!client.get(target, bytes)) ++failures;
    latencies.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(bytes));
  state.counters["p50_us"] = percentile(latencies, 0.50);
  state.counters["p99_us"] = percentile(latencies, 0.99);
  state.counters["max_us"] = *std::max_element(latencies.begin(), latencies.end());
  state.counters["failures"] = static_cast<double>(failures);
}
BENCHMARK(BM_HttpsKeepAliveResponseSize)->Arg(4 << 10)->Arg(20 << 10)->Arg(256 << 10)->UseRealTime()->MinTime(1.0);

int serveOnly(int argc, char** argv) {
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  size_t cap = 4096;
  for (int i = 2; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--threads") == 0) threads = static_cast<unsigned>(std::atoi(argv[i + 1]));
    if (std::strcmp(argv[i], "--connections-cap") == 0) cap = static_cast<size_t>(std::atol(argv[i + 1]));
  }
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGTERM);
  sigaddset(&sigs, SIGINT);
  pthread_sigmask(SIG_BLOCK, &sigs, nullptr);
  BenchServer s(threads, cap);
  std::cout << "https_port " << s.server->httpsPort() << "\nca_file " << (s.dir / "ca.crt").string() << std::endl;
  int sig = 0;
  sigwait(&sigs, &sig);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "--serve") == 0) return serveOnly(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 2;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}

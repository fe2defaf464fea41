#pragma once
// The real KubeClient: REST over Transport, with a client-side QPS/burst limiter, retries with
// exponential backoff and full jitter on connection errors, 429 and 5xx (Retry-After honoured), a
// deadline on every call, and a re-read of a rotated token file after a 401.

#include <atomic>
#include <memory>
#include <mutex>
#include <random>

#include "kube/client.hpp"
#include "kube/clock.hpp"
#include "kube/config.hpp"
#include "kube/transport.hpp"

namespace spotfit::kube {

struct RetryPolicy {
  int maxAttempts = 5;  // including the first
  std::chrono::nanoseconds base{std::chrono::milliseconds(200)};
  std::chrono::nanoseconds max{std::chrono::seconds(10)};
  // Backoff before attempt n (n ≥ 1 retries so far): uniform in [0, min(max, base·2^(n-1))] (full jitter),
  // or the server's Retry-After when it sent one (capped by the call's deadline).
};

// Token bucket: `qps` tokens per second, at most `burst` saved up. qps <= 0 disables limiting.
class RateLimiter {
 public:
  RateLimiter(Clock& clock, double qps, int burst);
  // Waits for a token; Error "deadline" when the wait would pass `deadline` (nothing is consumed then).
  Status acquire(Clock::TimePoint deadline, std::stop_token stop = {});
  bool tryAcquire();

 private:
  Clock& clock_;
  double qps_;
  double burst_;
  std::mutex mu_;
  double tokens_;
  Clock::TimePoint last_;
};

struct RestClientOptions {
  double qps = 50;
  int burst = 100;
  RetryPolicy retry;
  TransportOptions transport;
  uint64_t seed = 0;  // jitter seed; 0 = random
};

class RestClient final : public KubeClient {
 public:
  static Result<std::unique_ptr<RestClient>> create(const ClusterConfig& config, Clock& clock = SystemClock::instance(),
                                                    RestClientOptions options = {});

  Result<json::Document> get(const ResourceType& r, std::string_view ns, std::string_view name,
                             const GetOptions& o = {}) override;
  Result<ListPage> list(const ResourceType& r, std::string_view ns, const ListOptions& o = {}) override;
  Result<std::unique_ptr<WatchStream>> watch(const ResourceType& r, std::string_view ns,
                                             const WatchOptions& o = {}) override;
  Result<json::Document> create(const ResourceType& r, std::string_view ns, std::string_view body,
                                const WriteOptions& o = {}) override;
  Result<json::Document> update(const ResourceType& r, std::string_view ns, std::string_view name,
                                std::string_view body, const WriteOptions& o = {}) override;
  Result<json::Document> patch(const ResourceType& r, std::string_view ns, std::string_view name, PatchType type,
                               std::string_view body, const WriteOptions& o = {}) override;
  Status remove(const ResourceType& r, std::string_view ns, std::string_view name,
                const DeleteOptions& o = {}) override;
  Result<EvictionResult> evict(std::string_view ns, std::string_view name, const EvictOptions& o = {}) override;

  const ClusterConfig& config() const { return config_; }
  Transport& transport() { return *transport_; }
  uint64_t attempts() const { return attempts_.load(); }  // HTTP requests sent, retries included
  uint64_t retries() const { return retries_.load(); }

 private:
  RestClient(ClusterConfig config, std::shared_ptr<Transport> transport, Clock& clock, RestClientOptions options);

  // One logical call with retries. `finalResponse` may declare a response final (no retry) even when its
  // status is retryable (eviction's PDB 429).
  Result<HttpResponse> call(HttpRequest req, Timeout timeout, bool idempotent,
                            const std::function<bool(const HttpResponse&)>& finalResponse = {});
  Result<json::Document> callForObject(HttpRequest req, Timeout timeout, bool idempotent);
  std::chrono::nanoseconds backoff(int retry);

  ClusterConfig config_;
  std::shared_ptr<Transport> transport_;
  Clock& clock_;
  RestClientOptions options_;
  RateLimiter limiter_;
  std::mutex rngMu_;
  std::mt19937_64 rng_;
  std::atomic<uint64_t> attempts_{0};
  std::atomic<uint64_t> retries_{0};
};

// Percent-encodes a query parameter value.
std::string urlEncode(std::string_view s);
// Parses Retry-After (delta-seconds only; HTTP dates are treated as absent).
std::optional<std::chrono::seconds> parseRetryAfter(std::string_view v);

}  // namespace spotfit::kube

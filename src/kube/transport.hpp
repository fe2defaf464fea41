#pragma once
// HTTP/1.1 over TCP or TLS (OpenSSL via Boost.Beast) to one API server, with a keep-alive connection
// pool. Every operation takes a timeout; a streaming response (watch) can be cancelled from another
// thread. This layer knows nothing about Kubernetes semantics: retries, rate limits and Status decoding
// live in RestClient.

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "kube/config.hpp"

namespace spotfit::kube {

struct HttpRequest {
  std::string method = "GET";
  std::string target;  // path + query, e.g. "/api/v1/pods?limit=500"
  std::string body;
  std::string contentType;  // set when body is non-empty
  std::string accept = "application/json";
};

struct HttpResponse {
  int status = 0;
  std::string body;
  std::string contentType;
  std::string retryAfter;  // raw Retry-After header ("" when absent)
};

// A response whose body is read incrementally (watch). Lines are newline-delimited frames.
class HttpStream {
 public:
  virtual ~HttpStream() = default;
  virtual int status() const = 0;
  // The next newline-terminated line of the body (without the newline). nullopt at a clean end of the
  // body. Error "deadline" when no complete line arrives within `timeout`, "io" on connection errors,
  // "cancelled" after cancel().
  virtual Result<std::optional<std::string>> readLine(std::chrono::nanoseconds timeout) = 0;
  // Reads the remaining body up to a limit (used for non-200 responses to a watch request).
  virtual Result<std::string> readAll(std::chrono::nanoseconds timeout) = 0;
  // Thread-safe: aborts a blocked readLine.
  virtual void cancel() = 0;
};

struct TransportOptions {
  size_t maxIdleConnections = 8;
  size_t maxBodyBytes = 512u * 1024 * 1024;  // a list page of pods can be large without pagination
  size_t maxLineBytes = 64u * 1024 * 1024;   // one watch frame
  std::string userAgent = "spotfit";
};

// Error codes: "io" (connect/read/write failed), "deadline" (timed out), "tls" (handshake/verification),
// "invalid" (malformed HTTP), "cancelled".
class Transport {
 public:
  static Result<std::shared_ptr<Transport>> create(const ClusterConfig& config, TransportOptions options = {});
  ~Transport();

  Result<HttpResponse> roundTrip(const HttpRequest& req, std::chrono::nanoseconds timeout);
  // Sends the request and reads the response headers; the body is then read through the stream.
  Result<std::unique_ptr<HttpStream>> openStream(const HttpRequest& req, std::chrono::nanoseconds timeout);

  // The Authorization header value for the next request ("" when none); re-reads a rotated token file.
  std::string authorization();
  // Forces the token file to be re-read on the next request (after a 401).
  void invalidateToken();

  size_t idleConnections() const;
  uint64_t connectionsOpened() const;

  struct Impl;

 private:
  explicit Transport(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace spotfit::kube

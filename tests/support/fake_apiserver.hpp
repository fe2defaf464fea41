#pragma once
// A fake kube-apiserver over real sockets for tests: an in-memory object store with resourceVersions,
// list (limit/continue, label and field selectors), watch streams (history replay from a
// resourceVersion, bookmarks, 410 Gone after compaction), create/update/patch (merge and JSON Patch)/
// delete (preconditions), status and scale subresources, pods/eviction with a pluggable PDB decision,
// dryRun, bearer-token and client-certificate checks, and injectable faults (status codes with
// Retry-After, disconnects, slow answers, malformed watch frames, watch streams cut after N events).
//
// Usage:
//   spotfit::testsupport::FakeApiServer api;              // plain HTTP on 127.0.0.1:<port 0>
//   api.upsert("pods", R"({"metadata":{"name":"p","namespace":"d"}, ...})");
//   auto client = spotfit::kube::RestClient::create(api.clientConfig()).value();
//
// Resources are addressed by plural ("pods", "nodes", "leases", ...). The standard ones are registered
// by default; VerticalPodAutoscalers are not (call addVpaResource() to "install the CRD").

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "kube/config.hpp"

namespace spotfit::testsupport {

struct FakeResource {
  std::string group;  // "" for core
  std::string version;
  std::string plural;
  std::string kind;
  bool namespaced = true;
  bool hasStatus = true;  // status subresource: main-resource writes keep the stored status
  bool hasScale = false;  // scale subresource over spec.replicas / status.replicas
};

struct Fault {
  // Which requests it applies to.
  std::string method;         // "" = any
  std::string pathContains;   // "" = any; matched against the path (no query)
  std::optional<bool> watch;  // only watch / only non-watch requests
  std::string authorization;  // "" = any; else the exact Authorization header (tells clients apart)
  int times = 1;              // number of matching requests affected; -1 = forever
  // What happens.
  int status = 0;                      // answer with this status (0 = serve normally after the delay)
  std::string body;                    // default: a Status object for `status`
  std::string retryAfter;              // Retry-After header value
  std::chrono::milliseconds delay{0};  // wait before answering (slow server)
  bool disconnect = false;             // close the connection without an answer
  // Watch streams only (status 0):
  int closeAfterEvents = -1;    // cut the connection (no clean end) after N frames
  bool malformedFrame = false;  // send a frame that is not JSON before anything else
  bool goneEvent = false;       // send an ERROR event with a 410 Status, then end the stream
};

// Self-signed test PKI: a CA, a server certificate for 127.0.0.1/localhost and a client certificate,
// all signed by the CA (EC P-256). PEM strings.
struct TestPki {
  std::string caCertPem, caKeyPem;
  std::string serverCertPem, serverKeyPem;
  std::string clientCertPem, clientKeyPem;
  static TestPki generate(const std::string& clientCommonName = "spotfit-test");
};

class FakeApiServer {
 public:
  struct Options {
    bool tls = false;
    TestPki pki;                     // used when tls (generate one with TestPki::generate())
    bool requireClientCert = false;  // TLS only
    std::string requiredToken;       // non-empty: requests need "Authorization: Bearer <token>"
  };

  FakeApiServer();
  explicit FakeApiServer(Options options);
  ~FakeApiServer();
  FakeApiServer(const FakeApiServer&) = delete;
  FakeApiServer& operator=(const FakeApiServer&) = delete;

  uint16_t port() const { return port_; }
  std::string url() const;
  // A ClusterConfig for this server (CA, client cert and token filled in as the options require).
  kube::ClusterConfig clientConfig() const;

  void addResource(FakeResource r);
  void addVpaResource();  // autoscaling.k8s.io/v1 verticalpodautoscalers
  void setRequiredToken(std::string token);

  // State changes made "by another client": they bump the resourceVersion and reach watchers.
  // upsert fills metadata.uid/creationTimestamp when absent; returns the stored JSON.
  std::string upsert(const std::string& plural, const std::string& objectJson);
  bool erase(const std::string& plural, const std::string& ns, const std::string& name);
  std::optional<std::string> object(const std::string& plural, const std::string& ns, const std::string& name) const;
  std::vector<std::string> objects(const std::string& plural) const;  // sorted by namespace/name
  size_t count(const std::string& plural) const;
  int64_t resourceVersion() const;

  // Forget the event history: watches resuming from an older resourceVersion get 410 Gone.
  void compact();
  // Cut every open watch connection (abruptly, as a load balancer would).
  void closeWatches();
  // BOOKMARK events with the current resourceVersion to watches that allowed them.
  void sendBookmarks();
  int activeWatches() const;
  int watchesOpened() const;  // watch requests served so far

  void injectFault(Fault f);
  void clearFaults();

  // Decides pods/eviction: nullopt allows (the pod is deleted), a string refuses with HTTP 429 and that
  // message (a DisruptionBudget cause, as the real eviction subresource answers).
  void setEvictionHook(std::function<std::optional<std::string>(const std::string& ns, const std::string& name)> hook);

  struct RecordedRequest {
    std::string method, path, query, body, contentType, authorization;
  };
  std::vector<RecordedRequest> requests() const;
  size_t countRequests(const std::string& method, const std::string& pathContains) const;
  void clearRequests();

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
  uint16_t port_ = 0;
};

}  // namespace spotfit::testsupport

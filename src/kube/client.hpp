#pragma once
// The Kubernetes API as spotfit uses it. `KubeClient` is the injected interface (house rule 4): the
// scaler, the webhook's PDB ensurer and the informers take a KubeClient&, tests pass the real client
// pointed at tests/support/fake_apiserver, or a mock.
//
// Errors are values. API failures carry the Kubernetes Status reason as Error::code ("NotFound",
// "AlreadyExists", "Conflict", "Invalid", "Forbidden", "Unauthorized", "Expired"/"Gone",
// "TooManyRequests", "InternalError", "ServiceUnavailable", "Timeout", "BadRequest", ...) and
// "<reason> (HTTP <code>): <message>" as the message. Transport failures use "io", "deadline", "tls".

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "kube/json.hpp"

namespace spotfit::kube {

// A REST resource (group/version/plural) and how its objects are addressed.
struct ResourceType {
  std::string group;    // "" for the core group
  std::string version;  // "v1"
  std::string plural;   // "pods"
  std::string kind;     // "Pod"
  bool namespaced = true;

  std::string apiVersion() const { return group.empty() ? version : group + "/" + version; }
  // "/api/v1/namespaces/ns/pods", "/apis/batch/v1/jobs" (all namespaces when ns is empty), "/api/v1/nodes".
  std::string collectionPath(std::string_view ns) const;
  std::string objectPath(std::string_view ns, std::string_view name) const;
};

namespace resources {
extern const ResourceType kPods;
extern const ResourceType kNodes;
extern const ResourceType kNamespaces;
extern const ResourceType kEvents;
extern const ResourceType kJobs;
extern const ResourceType kPodDisruptionBudgets;
extern const ResourceType kLeases;
extern const ResourceType kVerticalPodAutoscalers;
extern const ResourceType kNodePools;           // spotfitpools.spotfit.io/v1alpha1, cluster-scoped
extern const ResourceType kMachineDeployments;  // cluster.x-k8s.io/v1beta1
extern const ResourceType kNodeClaims;          // karpenter.sh/v1, cluster-scoped
}  // namespace resources

using Timeout = std::chrono::milliseconds;
inline constexpr Timeout kDefaultTimeout{std::chrono::seconds(30)};

struct GetOptions {
  Timeout timeout = kDefaultTimeout;
  std::string subresource;  // "status", "scale", ...
};

struct ListOptions {
  Timeout timeout = kDefaultTimeout;
  std::string labelSelector;
  std::string fieldSelector;
  int64_t limit = 0;            // 0 = no limit
  std::string continueToken;    // from the previous page
  std::string resourceVersion;  // "" = most recent (quorum read); "0" = any cached
};

struct WatchOptions {
  Timeout timeout = kDefaultTimeout;  // for opening the stream (headers); events are read with next()
  std::string labelSelector;
  std::string fieldSelector;
  std::string resourceVersion;
  bool allowBookmarks = true;
  int64_t timeoutSeconds = 300;  // server-side end of the watch; the client expects events or its end
};

struct WriteOptions {
  Timeout timeout = kDefaultTimeout;
  std::string subresource;  // "status", "scale"
  bool dryRun = false;      // dryRun=All: validated and admitted, not persisted
  std::string fieldManager = "spotfit";
};

enum class PatchType { Merge, Json, Strategic };
std::string_view contentType(PatchType t);

enum class PropagationPolicy { Default, Orphan, Background, Foreground };

struct DeleteOptions {
  Timeout timeout = kDefaultTimeout;
  bool dryRun = false;
  std::optional<int64_t> gracePeriodSeconds;
  PropagationPolicy propagation = PropagationPolicy::Default;
  std::string preconditionUid;              // delete only this incarnation
  std::string preconditionResourceVersion;  // delete only if unchanged
};

struct EvictOptions {
  Timeout timeout = kDefaultTimeout;
  bool dryRun = false;
  std::optional<int64_t> gracePeriodSeconds;
  std::string preconditionUid;
};

enum class EvictionOutcome {
  Evicted,
  BlockedByDisruptionBudget,  // HTTP 429 from pods/eviction: a PDB does not allow the disruption now
  NotFound,                   // the pod is already gone
};
struct EvictionResult {
  EvictionOutcome outcome = EvictionOutcome::Evicted;
  std::string message;  // the API server's explanation for refusals
};

struct ListPage {
  json::Document doc;
  std::string resourceVersion;       // of the list (start the watch here)
  std::string continueToken;         // non-empty when more pages follow
  const json::Value& items() const;  // the "items" array (an empty array when absent)
};

struct WatchEvent {
  enum class Type { Added, Modified, Deleted, Bookmark, Error };
  Type type = Type::Added;
  json::Document doc;  // the whole frame {"type":..., "object": {...}}
  const json::Value& object() const;
};

class WatchStream {
 public:
  virtual ~WatchStream() = default;
  // The next event. nullopt when the server ended the stream (timeoutSeconds reached). An ERROR event
  // is returned as an event of type Error (its object is a Status; 410 = resourceVersion too old).
  // Errors: "deadline" when nothing arrived within `idleTimeout`, "io", "invalid" (malformed frame),
  // "cancelled".
  virtual Result<std::optional<WatchEvent>> next(std::chrono::nanoseconds idleTimeout) = 0;
  // Thread-safe: unblocks next() (which then returns "cancelled").
  virtual void cancel() = 0;
};

class KubeClient {
 public:
  virtual ~KubeClient() = default;

  virtual Result<json::Document> get(const ResourceType& r, std::string_view ns, std::string_view name,
                                     const GetOptions& o = {}) = 0;
  virtual Result<ListPage> list(const ResourceType& r, std::string_view ns, const ListOptions& o = {}) = 0;
  virtual Result<std::unique_ptr<WatchStream>> watch(const ResourceType& r, std::string_view ns,
                                                     const WatchOptions& o = {}) = 0;
  virtual Result<json::Document> create(const ResourceType& r, std::string_view ns, std::string_view body,
                                        const WriteOptions& o = {}) = 0;
  // PUT of the whole object (metadata.resourceVersion in body = optimistic concurrency: 409 Conflict).
  virtual Result<json::Document> update(const ResourceType& r, std::string_view ns, std::string_view name,
                                        std::string_view body, const WriteOptions& o = {}) = 0;
  virtual Result<json::Document> patch(const ResourceType& r, std::string_view ns, std::string_view name,
                                       PatchType type, std::string_view body, const WriteOptions& o = {}) = 0;
  virtual Status remove(const ResourceType& r, std::string_view ns, std::string_view name,
                        const DeleteOptions& o = {}) = 0;
  // POST pods/eviction (policy/v1). A PDB refusal is an outcome, not an error.
  virtual Result<EvictionResult> evict(std::string_view ns, std::string_view name, const EvictOptions& o = {}) = 0;

  // Conveniences over the primitives.
  // Reads the scale subresource's spec.replicas.
  Result<int64_t> getScale(const ResourceType& r, std::string_view ns, std::string_view name,
                           Timeout timeout = kDefaultTimeout);
  // Sets spec.replicas through the scale subresource (merge patch).
  Status setScale(const ResourceType& r, std::string_view ns, std::string_view name, int64_t replicas,
                  Timeout timeout = kDefaultTimeout);
  // Lists every page (limit per page), calling `onItem` for each item; returns the list's resourceVersion.
  Result<std::string> listAll(const ResourceType& r, std::string_view ns, const ListOptions& o,
                              const std::function<Status(const json::Value&)>& onItem);
};

// Error classification.
bool isNotFound(const Error& e);
bool isAlreadyExists(const Error& e);
bool isConflict(const Error& e);
bool isGone(const Error& e);  // 410: resourceVersion too old ("Expired" / "Gone")
bool isTooManyRequests(const Error& e);
bool isTransient(const Error& e);  // worth retrying: io, deadline, 429, 5xx reasons

// The Error for an HTTP status and a (possibly empty or non-Status) body.
Error apiError(int httpStatus, std::string_view body);

}  // namespace spotfit::kube

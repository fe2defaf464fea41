#pragma once
// What the admission path needs from the rest of the system, as small interfaces (house rule 4): the
// kube informers and client, and the scaler's cost ledger, provide production implementations; tests and
// `spotfit mutate` use the in-memory ones in memory_ports.hpp. Every call on the admission path is a
// non-blocking, in-memory look-up or an enqueue.

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "placement/budget.hpp"
#include "profile/profile.hpp"
#include "webhook/vpa.hpp"

namespace spotfit::webhook {

// VPA recommendations indexed by (namespace, targetRef kind, targetRef name): O(1) per look-up.
class VpaLookup {
 public:
  virtual ~VpaLookup() = default;
  virtual std::shared_ptr<const Vpa> find(std::string_view ns, std::string_view kind, std::string_view name) const = 0;
};

struct JobInfo {
  std::string uid;
  int64_t parallelism = 1;
  std::string cronJob;                                // owning CronJob's name, empty when none
  std::optional<int64_t> completions = std::nullopt;  // spec.completions (nullopt: done when any pod succeeds)
  int64_t succeeded = 0;                              // status.succeeded
};

class JobLookup {
 public:
  virtual ~JobLookup() = default;
  virtual std::optional<JobInfo> find(std::string_view ns, std::string_view name) const = 0;
};

class NamespaceLookup {
 public:
  virtual ~NamespaceLookup() = default;
  // The namespace's labels, nullopt when not known (the webhook's namespaceSelector then decided).
  virtual std::optional<std::map<std::string, std::string>> labels(std::string_view ns) const = 0;
};

// A policy/v1 PodDisruptionBudget for one Job's pods, owned by the Job.
struct PdbRequest {
  std::string namespace_;
  std::string jobName;
  std::string jobUid;
  std::string minAvailable;  // the setting, "2" or "50%" (annotation or pdb.defaultMinAvailable)
  // The pods the Job runs at once (jobPodsAtOnce); spec.minAvailable is pdbMinAvailable(minAvailable, pods).
  int64_t pods = 0;
  std::string selectorKey;  // pod label identifying the Job's pods (controller-uid label)
  std::string selectorValue;
  // Set when the admission path had no Job look-up: the writer must read the Job first and create the
  // PDB only if it is still this Job (same uid) and its parallelism is at least this value; `pods` is then
  // taken from that Job.
  int64_t verifyMinParallelism = 0;
  std::string pdbName() const;
  // The PDB object as JSON (apiVersion policy/v1, ownerReference to the batch/v1 Job, integer
  // minAvailable, unhealthyPodEvictionPolicy AlwaysAllow, the setting in annotation spotfit.io/min-available).
  std::string manifest() const;
};

// Ensures a PDB exists. ensure() must not block: implementations queue the work; failures are retried by
// a later reconcile pass. Never called for dry-run requests.
class PdbEnsurer {
 public:
  virtual ~PdbEnsurer() = default;
  virtual void ensure(const PdbRequest& request) = 0;
};

// Ready nodes per capacity type, as the webhook's required capacity terms match them (a node informer):
// a required term no Ready node satisfies would leave the pod Pending (unless a provisioner creates one).
class CapacityNodes {
 public:
  virtual ~CapacityNodes() = default;
  // Ready, schedulable nodes a required `spot` (`on-demand`) term matches; nullopt while not known.
  virtual std::optional<size_t> readyNodes(bool spot) const = 0;
};

// The workflow profiles the scaler learned (profile/profile.hpp), as last read from their store: a
// snapshot, nullptr while none has been read.
class ProfileLookup {
 public:
  virtual ~ProfileLookup() = default;
  virtual std::shared_ptr<const profile::ProfileBook> profiles() const = 0;
};

// Workflow spend in USD so far (the cost ledger), nullopt when the workflow is unknown: the one interface
// the webhook, the extender and the scaler read spend through (placement/budget.hpp).
using SpendSource = placement::SpendSource;

struct EventRecord {
  std::string namespace_;
  std::string involvedKind;  // "Job" or "Pod"
  std::string involvedName;
  std::string involvedUid;
  std::string type;  // "Warning" | "Normal"
  std::string reason;
  std::string message;
};

// Records a Kubernetes Event. Must not block (queue and send asynchronously).
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void record(const EventRecord& event) = 0;
};

}  // namespace spotfit::webhook

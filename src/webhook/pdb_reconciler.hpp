#pragma once
// Keeps the PDBs the webhook created (label app.kubernetes.io/managed-by=spotfit, named <job>-spotfit,
// owned by the Job) in step with their Job: spec.minAvailable = pdbMinAvailable(setting,
// jobPodsAtOnce(job)), recomputed when the Job's parallelism, completions or succeeded count change (and
// unhealthyPodEvictionPolicy AlwaysAllow on PDBs of older versions). The setting is the PDB's spotfit.io/min-available
// annotation; PDBs written before it existed (a percentage or integer minAvailable, no annotation) are converted.
//
// Fed by the webhook's Job informer and an informer of spotfit's PDBs (feedFrom below): their handlers only
// queue the Job's key; reconcileOnce() — run by the worker thread or a test — reads both stores and sends a
// merge patch where the PDB differs. A failed patch stays queued and the next pass retries it.

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>

#include "kube/client.hpp"
#include "kube/informer.hpp"
#include "kube/objects.hpp"
#include "kube/retry_worker.hpp"
#include "kube/store.hpp"

namespace spotfit::webhook {

// The merge patch that brings `pdb` in step with `job`; nullopt when it already is, or when `pdb` is not
// spotfit's PDB of this Job (label, ownerReference uid), or the Job runs no pods now (finished, suspended).
std::optional<std::string> pdbReconcilePatch(const kube::PodDisruptionBudget& pdb, const kube::Job& job);

class PdbReconciler {
 public:
  // Called after each patch attempt (metrics/logging hook): "namespace/pdb-name" and its outcome.
  using Observer = std::function<void(const std::string& pdbKey, const Status&)>;
  PdbReconciler(kube::KubeClient& client, const kube::Store<kube::Job>& jobs,
                const kube::Store<kube::PodDisruptionBudget>& pdbs, Observer observer = {},
                kube::Timeout timeout = std::chrono::seconds(10));
  ~PdbReconciler();
  PdbReconciler(const PdbReconciler&) = delete;
  PdbReconciler& operator=(const PdbReconciler&) = delete;

  // Queue a check of the Job "namespace/name" (no I/O; informer handlers call these).
  void jobChanged(const std::string& jobKey);
  // Queue a check of the Job that owns `pdb`, if it is one of spotfit's.
  void pdbChanged(const kube::PodDisruptionBudget& pdb);

  struct PassResult {
    size_t patched = 0;
    size_t failed = 0;
  };
  // Checks every queued Job once. Thread-safe; the client is called without the lock held.
  PassResult reconcileOnce();
  size_t pending() const;

  // Runs reconcileOnce() on a worker thread promptly after a change, and every `retry` while failures
  // remain. stop() (or the destructor) joins it.
  void start(std::chrono::milliseconds retry = std::chrono::seconds(10));
  void stop();

 private:
  kube::KubeClient& client_;
  const kube::Store<kube::Job>& jobs_;
  const kube::Store<kube::PodDisruptionBudget>& pdbs_;
  Observer observer_;
  kube::Timeout timeout_;
  mutable std::mutex mu_;
  std::set<std::string> pending_;  // Job keys
  kube::RetryWorker worker_;       // last: destroyed (joined) first
};

// Informer handlers for the reconciler (add before the informers start): a Job that is added, or whose
// parallelism, completions, succeeded count, suspension or completion changed; a spotfit PDB added or
// changed (a user's edit of minAvailable is put back).
void feedFrom(kube::Informer<kube::Job>& informer, PdbReconciler& reconciler);
void feedFrom(kube::Informer<kube::PodDisruptionBudget>& informer, PdbReconciler& reconciler);

// The label selector of the PDB informer: only the PDBs spotfit wrote.
inline constexpr const char* kSpotfitPdbSelector = "app.kubernetes.io/managed-by=spotfit";

}  // namespace spotfit::webhook

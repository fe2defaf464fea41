#pragma once
// The production PdbEnsurer: ensure() only records the request in a pending set (no I/O on the admission
// path); reconcileOnce() — run by a background worker or a test — writes each pending PDB through a
// PdbWriter and keeps the failures pending, so the next pass repairs them.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "kube/retry_worker.hpp"
#include "webhook/ports.hpp"

namespace spotfit::webhook {

// The pods a Job runs at once: its parallelism, capped by the completions not yet succeeded (the last
// pods of a Job with spec.completions run fewer at a time). Never below 0.
int64_t jobPodsAtOnce(int64_t parallelism, std::optional<int64_t> completions, int64_t succeeded);
int64_t jobPodsAtOnce(const JobInfo& job);

// The integer spec.minAvailable of a Job's PDB. The disruption controller needs the scale subresource of
// the pods' controller for a percentage (Jobs have none: the PDB would allow no disruption at all), so the
// setting is converted here: "N%" is N% of `pods` rounded up (as Kubernetes rounds a percentage
// minAvailable), "N" is N; either is capped at pods - 1, so that while all the Job's pods are Ready one of
// them can be evicted. 0 when pods <= 1; an unreadable setting counts as 0%.
int64_t pdbMinAvailable(std::string_view setting, int64_t pods);

// Creates the PDB (kube client adapter: POST policy/v1 poddisruptionbudgets; AlreadyExists is success).
class PdbWriter {
 public:
  virtual ~PdbWriter() = default;
  virtual Status create(const PdbRequest& request) = 0;
};

class QueuedPdbEnsurer final : public PdbEnsurer {
 public:
  using Observer = std::function<void(const PdbRequest&, const Status&)>;  // metrics/logging hook
  explicit QueuedPdbEnsurer(PdbWriter& writer, Observer observer = {}, size_t rememberDone = 65536);
  ~QueuedPdbEnsurer() override;

  void ensure(const PdbRequest& request) override;

  struct PassResult {
    size_t created = 0;
    size_t failed = 0;
  };
  // Writes every pending PDB once. Thread-safe; the writer is called without the lock held.
  PassResult reconcileOnce();
  size_t pending() const;

  // Runs reconcileOnce() on a worker thread: promptly after ensure(), and every `retry` while failures
  // remain. stop() (or the destructor) joins it.
  void start(std::chrono::milliseconds retry = std::chrono::seconds(10));
  void stop();

 private:
  static std::string key(const PdbRequest& r);
  PdbWriter& writer_;
  Observer observer_;
  size_t rememberDone_;
  mutable std::mutex mu_;
  std::map<std::string, PdbRequest> pending_;
  std::set<std::string> done_;
  kube::RetryWorker worker_;  // last: destroyed (joined) first
};

}  // namespace spotfit::webhook

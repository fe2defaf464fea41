#pragma once
// The webhook's ports over the Kubernetes client: PDB writes and Events through kube::KubeClient, and
// converters that feed the in-memory indexes (VpaIndex, JobIndex, NamespaceIndex) from decoded objects
// (informer event handlers call these).

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "kube/client.hpp"
#include "kube/clock.hpp"
#include "kube/informer.hpp"
#include "kube/objects.hpp"
#include "webhook/memory_ports.hpp"
#include "webhook/pdb.hpp"
#include "webhook/spot_cooloff.hpp"

namespace spotfit::webhook {

// POSTs the PDB; AlreadyExists (another replica or an earlier pass made it) counts as success. With
// request.verifyMinParallelism it first GETs the Job and skips Jobs that are gone, were recreated (other
// uid) or run fewer pods in parallel.
class KubePdbWriter final : public PdbWriter {
 public:
  explicit KubePdbWriter(kube::KubeClient& client, kube::Timeout timeout = std::chrono::seconds(10))
      : client_(client), timeout_(timeout) {}
  Status create(const PdbRequest& request) override;

 private:
  kube::KubeClient& client_;
  kube::Timeout timeout_;
};

// core/v1 Events, sent by a worker thread from a bounded queue (record() never blocks on the API; when
// the queue is full the event is dropped and counted).
class KubeEventSink final : public EventSink {
 public:
  KubeEventSink(kube::KubeClient& client, kube::Clock& clock, size_t maxQueued = 1024);
  ~KubeEventSink() override;
  void record(const EventRecord& event) override;
  // Sends what is queued now (the worker calls this; tests may too). Returns the number sent.
  size_t flush();
  void start();
  void stop();
  size_t dropped() const;
  // The Event object for `e` (JSON), timestamps from the clock.
  std::string eventJson(const EventRecord& e) const;

 private:
  kube::KubeClient& client_;
  kube::Clock& clock_;
  size_t maxQueued_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<EventRecord> queue_;
  size_t dropped_ = 0;
  bool stopping_ = false;
  std::thread worker_;
};

Vpa vpaFromKube(const kube::VerticalPodAutoscaler& v);
// Informer handlers that keep the indexes in step with the cluster (add before the informer starts).
void feedFrom(kube::Informer<kube::VerticalPodAutoscaler>& informer, VpaIndex& index);
void feedFrom(kube::Informer<kube::Job>& informer, JobIndex& index);
void feedFrom(kube::Informer<kube::Namespace>& informer, NamespaceIndex& index);
// Ready = the Ready condition is True and the node is not cordoned; the value is of index.label().
void feedFrom(kube::Informer<kube::Node>& informer, NodeCapacityIndex& index);
// The spot cool-off's signals: notice taints on spot nodes (by the config's capacity label and taints) and
// spot NodeClaims Karpenter deletes on a notice. `counted(startedCoolOff)` is called per interruption.
void feedInterruptions(kube::Informer<kube::Node>& informer, SpotCoolOff& coolOff, const WebhookConfig& config,
                       std::function<void(bool)> counted);
void feedInterruptions(kube::Informer<kube::NodeClaim>& informer, SpotCoolOff& coolOff,
                       std::function<void(bool)> counted);
JobInfo jobInfoFromKube(const kube::Job& job);
std::map<std::string, std::string> labelsFromKube(const kube::Namespace& ns);

}  // namespace spotfit::webhook

#pragma once
// core/v1 Events with client-go's correlator behaviour, trimmed:
//   - aggregation: an event identical to a recent one (same object, type, reason and message) is not
//     posted again; the existing Event's count and lastTimestamp are patched instead;
//   - rate limit: a token bucket per involved object (burst 25, one token per 5 minutes, as client-go's
//     EventSourceObjectSpamFilter) drops event storms;
//   - asynchronous: record() never blocks the caller on the API server; a bounded queue is drained by a
//     worker thread (events beyond the queue are dropped and counted).

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "kube/client.hpp"
#include "kube/clock.hpp"
#include "kube/objects.hpp"

namespace spotfit::kube {

struct ObjectReference {
  std::string apiVersion;  // "v1", "batch/v1", "spotfit.io/v1alpha1"
  std::string kind;        // "Pod", "Node", "SpotfitPool"
  std::string namespace_;  // empty for cluster-scoped objects (the Event then goes to "default")
  std::string name;
  std::string uid;

  // A reference to a cached object: ObjectReference::to(pod.meta, "v1", "Pod").
  static ObjectReference to(const ObjectMeta& meta, std::string apiVersion, std::string kind) {
    return {std::move(apiVersion), std::move(kind), meta.namespace_, meta.name, meta.uid};
  }
};

enum class EventType { Normal, Warning };

struct EventRecorderOptions {
  std::string component = "spotfit";  // source.component / reportingComponent
  std::string instance;               // reportingInstance / source.host (pod name)
  int burst = 25;
  std::chrono::nanoseconds refillEvery{std::chrono::minutes(5)};
  std::chrono::nanoseconds aggregationWindow{std::chrono::minutes(10)};
  size_t queueLimit = 1000;
  size_t cacheLimit = 4096;  // recent events remembered for aggregation (LRU)
  Timeout requestTimeout{std::chrono::seconds(5)};
};

class EventRecorder {
 public:
  EventRecorder(KubeClient& client, Clock& clock, EventRecorderOptions options = {});
  ~EventRecorder();  // drains what is queued, then stops
  EventRecorder(const EventRecorder&) = delete;
  EventRecorder& operator=(const EventRecorder&) = delete;

  void record(const ObjectReference& object, EventType type, std::string reason, std::string message);
  // Blocks until every event recorded so far has been handled (tests, shutdown).
  void flush();

  uint64_t created() const { return created_.load(); }
  uint64_t aggregated() const { return aggregated_.load(); }  // count patches
  uint64_t dropped() const { return dropped_.load(); }        // rate-limited or queue full
  uint64_t failed() const { return failed_.load(); }          // API errors

 private:
  struct Item {
    ObjectReference object;
    EventType type;
    std::string reason, message;
    std::chrono::system_clock::time_point when;
  };
  struct Seen {
    std::string namespace_, name;  // the Event object
    int64_t count = 0;
    std::string firstTimestamp;
    Clock::TimePoint last;
    std::list<std::string>::iterator lru;
  };
  struct Bucket {
    double tokens;
    Clock::TimePoint last;
  };

  void loop(std::stop_token st);
  void handle(const Item& item);
  bool allow(const std::string& objectKey);

  KubeClient& client_;
  Clock& clock_;
  EventRecorderOptions options_;

  std::mutex mu_;
  std::condition_variable_any cv_;
  std::condition_variable_any idle_;
  std::deque<Item> queue_;
  bool busy_ = false;

  // Worker-only state.
  std::unordered_map<std::string, Seen> seen_;
  std::list<std::string> lru_;
  std::unordered_map<std::string, Bucket> buckets_;
  int64_t lastNanos_ = 0;

  std::atomic<uint64_t> created_{0}, aggregated_{0}, dropped_{0}, failed_{0};
  std::jthread worker_;
};

}  // namespace spotfit::kube

#pragma once
// A queue drainer on its own thread: `pass` runs promptly after kick(), and again every `retry` while
// `hasWork` says failures remain queued. The webhook's PDB writer (QueuedPdbEnsurer) and PDB reconciler
// (PdbReconciler) own their queues and run their passes through one of these.

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

namespace spotfit::kube {

class RetryWorker {
 public:
  // Both callbacks are called on the worker thread without the worker's lock held.
  RetryWorker(std::function<void()> pass, std::function<bool()> hasWork);
  ~RetryWorker();  // stop()
  RetryWorker(const RetryWorker&) = delete;
  RetryWorker& operator=(const RetryWorker&) = delete;

  // Starts the thread; a second call while running is a no-op.
  void start(std::chrono::milliseconds retry);
  // Asks for a pass soon (cheap; any thread; before start() it is remembered for the first wake).
  void kick();
  // Wakes the thread and joins it; a pass in progress finishes first. Idempotent.
  void stop();

 private:
  std::function<void()> pass_;
  std::function<bool()> hasWork_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool kicked_ = false;
  std::thread worker_;
};

}  // namespace spotfit::kube

#include "kube/retry_worker.hpp"

#include <utility>

namespace spotfit::kube {

RetryWorker::RetryWorker(std::function<void()> pass, std::function<bool()> hasWork)
    : pass_(std::move(pass)), hasWork_(std::move(hasWork)) {}

RetryWorker::~RetryWorker() {
  stop();
}

void RetryWorker::start(std::chrono::milliseconds retry) {
  std::lock_guard guard(mu_);
  if (worker_.joinable()) return;
  stopping_ = false;
  worker_ = std::thread([this, retry] {
    std::unique_lock lock(mu_);
    while (!stopping_) {
      cv_.wait_for(lock, retry, [this] { return stopping_ || kicked_; });
      if (stopping_) break;
      kicked_ = false;
      lock.unlock();
      if (hasWork_()) pass_();
      lock.lock();
    }
  });
}

void RetryWorker::kick() {
  {
    std::lock_guard guard(mu_);
    kicked_ = true;
  }
  cv_.notify_one();
}

void RetryWorker::stop() {
  {
    std::lock_guard guard(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

}  // namespace spotfit::kube

#pragma once
// A background re-read on an injected clock: the webhook's snapshot of the scaler's cost ledger is
// refreshed at start and then every `interval` (config `webhook.budgets.refresh`) until stopped. A failed
// read keeps the previous snapshot; `onError` hears about it (the serve plugin logs a warning).

#include <chrono>
#include <functional>
#include <thread>

#include "kube/clock.hpp"
#include "placement/result.hpp"

namespace spotfit::webhook {

class PeriodicRefresh {
 public:
  PeriodicRefresh(kube::Clock& clock, std::chrono::milliseconds interval, std::function<Status()> refresh,
                  std::function<void(const Error&)> onError);
  ~PeriodicRefresh();
  PeriodicRefresh(const PeriodicRefresh&) = delete;
  PeriodicRefresh& operator=(const PeriodicRefresh&) = delete;

  // Starts the loop on its own thread (the first read happens at once). Calling it twice is a no-op.
  void start();
  // Wakes the loop and joins it; a read in progress finishes first. Idempotent.
  void stop();

  std::chrono::milliseconds interval() const { return interval_; }

 private:
  kube::Clock& clock_;
  std::chrono::milliseconds interval_;
  std::function<Status()> refresh_;
  std::function<void(const Error&)> onError_;
  std::jthread thread_;
};

}  // namespace spotfit::webhook

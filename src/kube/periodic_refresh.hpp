#pragma once
// A background re-read on an injected clock: `refresh` runs at start and then every `interval` until
// stopped. The webhook and the extender re-read the scaler's cost ledger with it (config
// `webhook.budgets.refresh`, `extender.budgets.refresh`). A failed read keeps the caller's previous
// snapshot; `onError` hears about it (the serve plugins log a warning).

#include <chrono>
#include <functional>
#include <thread>

#include "base/result.hpp"
#include "kube/clock.hpp"

namespace spotfit::kube {

class PeriodicRefresh {
 public:
  PeriodicRefresh(Clock& clock, std::chrono::milliseconds interval, std::function<Status()> refresh,
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
  Clock& clock_;
  std::chrono::milliseconds interval_;
  std::function<Status()> refresh_;
  std::function<void(const Error&)> onError_;
  std::jthread thread_;
};

}  // namespace spotfit::kube

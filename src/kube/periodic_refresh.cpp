#include "kube/periodic_refresh.hpp"

#include <utility>

namespace spotfit::kube {

PeriodicRefresh::PeriodicRefresh(Clock& clock, std::chrono::milliseconds interval, std::function<Status()> refresh,
                                 std::function<void(const Error&)> onError)
    : clock_(clock), interval_(interval), refresh_(std::move(refresh)), onError_(std::move(onError)) {}

PeriodicRefresh::~PeriodicRefresh() {
  stop();
}

void PeriodicRefresh::start() {
  if (thread_.joinable()) return;
  thread_ = std::jthread([this](std::stop_token stop) {
    do {
      if (Status s = refresh_(); !s && onError_) onError_(s.error());
    } while (!stop.stop_requested() && clock_.sleepFor(interval_, stop));
  });
}

void PeriodicRefresh::stop() {
  if (!thread_.joinable()) return;
  thread_.request_stop();
  thread_.join();
}

}  // namespace spotfit::kube

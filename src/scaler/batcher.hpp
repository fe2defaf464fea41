#pragma once
// Batches unschedulable pods before planning, like Karpenter: a new pod opens (or extends) the window;
// the batch closes after `idle` without a new pod or `max` after it opened, whichever comes first.
// Planning a batch rather than each pod lets the solver bin-pack them together onto fewer nodes.

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "scaler/duration.hpp"

namespace spotfit::scaler {

class PodBatcher {
 public:
  PodBatcher(Duration idle, Duration max) : idle_(idle), max_(max) {}

  // Records that pod `key` is unschedulable. Returns true when it is new to the batcher (it then holds
  // the window open); pods already seen do not extend the window.
  bool observe(const std::string& key, TimePoint now);
  // Forgets pods that are no longer pending (bound or deleted), so they would count as new again.
  void retain(const std::set<std::string>& stillPending);

  bool open() const { return !batch_.empty(); }
  bool ready(TimePoint now) const;
  // When the open batch will close at the latest (to sleep until), or nullopt when no batch is open.
  std::optional<TimePoint> deadline() const;
  // Closes the batch and returns its new pods, in arrival order.
  std::vector<std::string> take();

 private:
  Duration idle_, max_;
  std::vector<std::string> batch_;
  std::set<std::string> seen_;
  TimePoint first_{}, last_{};
};

}  // namespace spotfit::scaler

#pragma once
// The extender's Prometheus metrics. Every series a request can touch is created up front (or once per
// new rejection reason) so the hot path only increments atomics.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <array>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

namespace spotfit::extender {

enum class Verb { kFilter = 0, kPrioritize = 1 };
enum class Outcome { kOk = 0, kBadRequest = 1, kError = 2 };

class ExtenderMetrics {
 public:
  explicit ExtenderMetrics(prometheus::Registry& registry);

  // spotfit_extender_requests_total{verb,result} and spotfit_extender_request_duration_seconds{verb}.
  void observeRequest(Verb verb, Outcome outcome, double seconds);
  // spotfit_extender_rejections_total{reason}: one per node filter rejected, by stable reason code.
  void countRejection(std::string_view reason, double count = 1);
  // spotfit_extender_assumed_pods: live entries in the assumed-pod ledger.
  void setAssumedPods(double n) { assumed_->Set(n); }
  // spotfit_extender_assume_conflicts_total: prioritize found its best node taken by a concurrent assume.
  void countAssumeConflict() { conflicts_->Increment(); }
  // spotfit_extender_assume_ledger_full_total: prioritize could not record its pod, the ledger was full.
  void countLedgerFull() { ledgerFull_->Increment(); }

 private:
  std::array<std::array<prometheus::Counter*, 3>, 2> requests_{};
  std::array<prometheus::Histogram*, 2> latency_{};
  prometheus::Family<prometheus::Counter>* rejectionFamily_ = nullptr;
  std::mutex rejectionsMu_;
  std::map<std::string, prometheus::Counter*, std::less<>> rejections_;
  prometheus::Gauge* assumed_ = nullptr;
  prometheus::Counter* conflicts_ = nullptr;
  prometheus::Counter* ledgerFull_ = nullptr;
};

}  // namespace spotfit::extender

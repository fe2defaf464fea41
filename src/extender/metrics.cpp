#include "extender/metrics.hpp"

namespace spotfit::extender {

ExtenderMetrics::ExtenderMetrics(prometheus::Registry& registry) {
  auto& requests = prometheus::BuildCounter()
                       .Name("spotfit_extender_requests_total")
                       .Help("Scheduler extender requests by verb and result (ok, bad_request, error).")
                       .Register(registry);
  auto& latency = prometheus::BuildHistogram()
                      .Name("spotfit_extender_request_duration_seconds")
                      .Help("Server-side time to answer a scheduler extender request, by verb.")
                      .Register(registry);
  const std::array<const char*, 2> verbs{"filter", "prioritize"};
  const std::array<const char*, 3> results{"ok", "bad_request", "error"};
  // 25 µs .. 2.5 s: the names-mode answer is expected well under a millisecond, full-Node mode in tens.
  const prometheus::Histogram::BucketBoundaries buckets{
      0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 2.5};
  for (std::size_t v = 0; v < verbs.size(); ++v) {
    for (std::size_t r = 0; r < results.size(); ++r) {
      requests_[v][r] = &requests.Add({{"verb", verbs[v]}, {"result", results[r]}});
    }
    latency_[v] = &latency.Add({{"verb", verbs[v]}}, buckets);
  }
  rejectionFamily_ = &prometheus::BuildCounter()
                          .Name("spotfit_extender_rejections_total")
                          .Help("Nodes the extender filtered out, by reason.")
                          .Register(registry);
  assumed_ = &prometheus::BuildGauge()
                  .Name("spotfit_extender_assumed_pods")
                  .Help("Pods assumed onto a node by prioritize and not yet confirmed by the informer.")
                  .Register(registry)
                  .Add({});
  conflicts_ = &prometheus::BuildCounter()
                    .Name("spotfit_extender_assume_conflicts_total")
                    .Help("Prioritize calls whose best node was taken by a concurrent assumption.")
                    .Register(registry)
                    .Add({});
  ledgerFull_ = &prometheus::BuildCounter()
                     .Name("spotfit_extender_assume_ledger_full_total")
                     .Help("Prioritize calls that recorded no assumption because the assumed-pod ledger was full.")
                     .Register(registry)
                     .Add({});
}

void ExtenderMetrics::observeRequest(Verb verb, Outcome outcome, double seconds) {
  const auto v = static_cast<std::size_t>(verb);
  requests_[v][static_cast<std::size_t>(outcome)]->Increment();
  latency_[v]->Observe(seconds);
}

void ExtenderMetrics::countRejection(std::string_view reason, double count) {
  prometheus::Counter* c = nullptr;
  {
    std::lock_guard lock(rejectionsMu_);
    auto it = rejections_.find(reason);
    if (it == rejections_.end()) {
      c = &rejectionFamily_->Add({{"reason", std::string(reason)}});
      rejections_.emplace(std::string(reason), c);
    } else {
      c = it->second;
    }
  }
  c->Increment(count);
}

}  // namespace spotfit::extender

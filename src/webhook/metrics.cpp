#include "webhook/metrics.hpp"

namespace spotfit::webhook {
namespace {

template <size_t N>
size_t indexOf(const std::array<std::string_view, N>& names, std::string_view v) {
  for (size_t i = 0; i + 1 < N; ++i) {
    if (names[i] == v) return i;
  }
  return N - 1;  // "other"
}

}  // namespace

std::string_view reviewResultName(ReviewResult r) {
  switch (r) {
    case ReviewResult::Patched:
      return "patched";
    case ReviewResult::Unchanged:
      return "unchanged";
    case ReviewResult::Skipped:
      return "skipped";
    case ReviewResult::Denied:
      return "denied";
    case ReviewResult::Invalid:
      return "invalid";
    case ReviewResult::BadRequest:
      return "bad_request";
    case ReviewResult::Error:
      break;
  }
  return "error";
}

WebhookMetrics::WebhookMetrics(prometheus::Registry& registry) {
  auto& requests = prometheus::BuildCounter()
                       .Name("spotfit_webhook_admissions_total")
                       .Help("AdmissionReviews answered, by object kind, operation and result")
                       .Register(registry);
  for (size_t k = 0; k < kKinds.size(); ++k) {
    for (size_t o = 0; o < kOperations.size(); ++o) {
      for (size_t r = 0; r < kReviewResults; ++r) {
        requests_[k][o][r] = &requests.Add({{"kind", std::string(kKinds[k])},
                                            {"operation", std::string(kOperations[o])},
                                            {"result", std::string(reviewResultName(static_cast<ReviewResult>(r)))}});
      }
    }
  }
  latency_ = &prometheus::BuildHistogram()
                  .Name("spotfit_webhook_admission_duration_seconds")
                  .Help("Time from request body to encoded AdmissionReview, in the handler")
                  .Register(registry)
                  .Add({}, prometheus::Histogram::BucketBoundaries{0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                                   0.005, 0.01, 0.025, 0.1});
  auto& mutations = prometheus::BuildCounter()
                        .Name("spotfit_webhook_mutations_total")
                        .Help("Pod templates changed, by kind of change")
                        .Register(registry);
  for (size_t i = 0; i < kChanges.size(); ++i) mutations_[i] = &mutations.Add({{"change", std::string(kChanges[i])}});
  auto& pdbs = prometheus::BuildCounter()
                   .Name("spotfit_webhook_pdbs_total")
                   .Help("PodDisruptionBudget writes for Job pods, by result")
                   .Register(registry);
  pdbCreated_ = &pdbs.Add({{"result", "created"}});
  pdbFailed_ = &pdbs.Add({{"result", "failed"}});
  pdbUpdated_ = &pdbs.Add({{"result", "updated"}});
  auto& budget = prometheus::BuildCounter()
                     .Name("spotfit_webhook_budget_decisions_total")
                     .Help("Budget checks at admission, by decision")
                     .Register(registry);
  for (size_t i = 0; i < kBudget.size(); ++i) budget_[i] = &budget.Add({{"decision", std::string(kBudget[i])}});
  internalErrors_ = &prometheus::BuildCounter()
                         .Name("spotfit_webhook_internal_errors_total")
                         .Help("Admissions answered unchanged (fail open) because of an internal error")
                         .Register(registry)
                         .Add({});
  unsatisfiable_ = &prometheus::BuildCounter()
                        .Name("spotfit_webhook_unsatisfiable_required_terms_total")
                        .Help("Jobs and pods given a required capacity-type term that no Ready node satisfied")
                        .Register(registry)
                        .Add({});
  spotInterruptions_ = &prometheus::BuildCounter()
                            .Name("spotfit_webhook_spot_interruptions_total")
                            .Help(
                                "Spot interruptions the webhook's cool-off counted (notice taints on spot nodes, "
                                "spot NodeClaims Karpenter deleted on a notice)")
                            .Register(registry)
                            .Add({});
  spotCoolOffs_ = &prometheus::BuildCounter()
                       .Name("spotfit_webhook_spot_cooloffs_total")
                       .Help("Spot cool-offs started or extended by the webhook's circuit breaker")
                       .Register(registry)
                       .Add({});
  coolOffPlacements_ = &prometheus::BuildCounter()
                            .Name("spotfit_webhook_spot_cooloff_placements_total")
                            .Help("Jobs and pods placed on on-demand capacity because a spot cool-off was running")
                            .Register(registry)
                            .Add({});
}

void WebhookMetrics::request(std::string_view kind, std::string_view operation, ReviewResult result, double seconds) {
  requests_[indexOf(kKinds, kind)][indexOf(kOperations, operation)][static_cast<size_t>(result)]->Increment();
  latency_->Observe(seconds);
}

void WebhookMetrics::mutation(std::string_view change) {
  mutations_[indexOf(kChanges, change)]->Increment();
}

void WebhookMetrics::pdb(bool created) {
  (created ? pdbCreated_ : pdbFailed_)->Increment();
}

void WebhookMetrics::pdbUpdate(bool ok) {
  (ok ? pdbUpdated_ : pdbFailed_)->Increment();
}

void WebhookMetrics::budget(std::string_view decision) {
  budget_[indexOf(kBudget, decision)]->Increment();
}

void WebhookMetrics::internalError() {
  internalErrors_->Increment();
}
void WebhookMetrics::unsatisfiableRequiredTerm() {
  unsatisfiable_->Increment();
}
void WebhookMetrics::spotInterruption(bool startedCoolOff) {
  spotInterruptions_->Increment();
  if (startedCoolOff) spotCoolOffs_->Increment();
}
void WebhookMetrics::spotCoolOffPlacement() {
  coolOffPlacements_->Increment();
}

}  // namespace spotfit::webhook

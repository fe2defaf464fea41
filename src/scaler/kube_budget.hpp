#pragma once
// The BudgetPolicy controller against the API server (docs/budgets.md), run by the scaler's leader: an
// informer of budgetpolicies.spotfit.io (a missing CRD means no policies), the controller's status patches
// written to the status subresource, its Events recorded on the policies.

#include <functional>
#include <memory>
#include <string>

#include "kube/budget_policy.hpp"
#include "kube/client.hpp"
#include "kube/clock.hpp"
#include "kube/events.hpp"
#include "kube/informer.hpp"
#include "scaler/budget_controller.hpp"
#include "scaler/ledger.hpp"

namespace spotfit::scaler {

class KubeBudgetPolicies {
 public:
  // `spotfitNamespace`: policies there are team policies; `ledgerLabel`: the ledger's label key.
  KubeBudgetPolicies(kube::KubeClient& client, kube::Clock& clock, std::string spotfitNamespace,
                     std::string ledgerLabel, std::function<void(const std::string&)> log, size_t maxPolicies = 2000);
  ~KubeBudgetPolicies();
  void start();
  void stop();
  // One pass (the leader's loop): status and Events from the ledger as accrued now. No-op until synced.
  void sync(const CostLedger& ledger, TimePoint now);
  // The gauges of the last pass (BudgetPolicyController::publish).
  void publish(ScalerMetrics& m) const { controller_.publish(m); }
  size_t ignored() const { return ignored_; }  // policies past maxPolicies in the last pass

 private:
  kube::KubeClient& client_;
  kube::BudgetPolicyContext ctx_;
  std::function<void(const std::string&)> log_;
  size_t max_;
  kube::Informer<kube::BudgetPolicyObject> informer_;
  kube::EventRecorder events_;
  BudgetPolicyController controller_;
  size_t ignored_ = 0;
  bool unavailableLogged_ = false;
};

}  // namespace spotfit::scaler

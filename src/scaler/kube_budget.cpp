#include "scaler/kube_budget.hpp"

#include <algorithm>
#include <vector>

#include "base/vocabulary.hpp"

namespace spotfit::scaler {
namespace {

kube::EventRecorderOptions recorderOptions() {
  kube::EventRecorderOptions o;
  o.component = "spotfit-scaler";
  return o;
}

}  // namespace

KubeBudgetPolicies::KubeBudgetPolicies(kube::KubeClient& client, kube::Clock& clock, std::string spotfitNamespace,
                                       std::string ledgerLabel, std::function<void(const std::string&)> log,
                                       size_t maxPolicies)
    : client_(client),
      ctx_{std::move(spotfitNamespace), std::move(ledgerLabel), base::kZoneinfoDir},
      log_(std::move(log)),
      max_(maxPolicies),
      informer_(client, kube::kBudgetPolicies, &kube::decodeBudgetPolicyObject, clock),
      events_(client, clock, recorderOptions()) {}

KubeBudgetPolicies::~KubeBudgetPolicies() {
  stop();
}

void KubeBudgetPolicies::start() {
  informer_.start();
}

void KubeBudgetPolicies::stop() {
  informer_.stop();
}

void KubeBudgetPolicies::sync(const CostLedger& ledger, TimePoint now) {
  if (informer_.notInstalled()) {
    if (!unavailableLogged_ && log_) log_("budget policies: the BudgetPolicy CRD is not installed; no policies");
    unavailableLogged_ = true;
    return;
  }
  if (!informer_.hasSynced()) return;
  auto listed = informer_.store().list();
  std::vector<kube::BudgetPolicyObject> objects;
  objects.reserve(std::min(listed.size(), max_));
  ignored_ = 0;
  for (const auto& p : listed) {
    if (objects.size() >= max_) {
      ++ignored_;
      continue;
    }
    objects.push_back(*p);
    kube::applyBudgetPolicyContext(objects.back(), ctx_);
  }
  std::vector<const kube::BudgetPolicyObject*> ptrs;
  for (const auto& o : objects) ptrs.push_back(&o);
  auto out = controller_.tick(ptrs, ledger, now);
  for (const auto& patch : out.patches) {
    kube::WriteOptions w;
    w.subresource = "status";
    auto r =
        client_.patch(kube::kBudgetPolicies, patch.namespaceName, patch.name, kube::PatchType::Merge, patch.body, w);
    if (!r) {
      controller_.patchFailed(patch.namespaceName + "/" + patch.name);
      if (log_)
        log_("budget policies: status of " + patch.namespaceName + "/" + patch.name +
             " not written: " + r.error().message);
    }
  }
  for (const auto& e : out.events) {
    events_.record(kube::ObjectReference::to(e.object->meta, vocab::kApiVersion, "BudgetPolicy"),
                   e.warning ? kube::EventType::Warning : kube::EventType::Normal, e.reason, e.message);
  }
}

}  // namespace spotfit::scaler

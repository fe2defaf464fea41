#pragma once
// POST /mutate: AdmissionReview in, AdmissionReview out. Decodes, decides whether the object is in
// scope, resolves the policy's inputs through the ports (VPA, Job, namespace, spend), runs the policy on a
// copy, diffs original against mutated for the JSON Patch, queues side effects (PDB, Event) unless the
// request is a dry run, and encodes the answer. Internal failures admit the object unchanged with a
// warning (fail open); malformed reviews get HTTP 400.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "server/http.hpp"
#include "webhook/admission.hpp"
#include "webhook/budget_gate.hpp"
#include "webhook/config.hpp"
#include "webhook/metrics.hpp"
#include "webhook/ports.hpp"
#include "webhook/spot_cooloff.hpp"

namespace spotfit::webhook {

// Everything optional: a missing port turns its feature off (no VPA look-up, no PDB, no budgets...).
struct AdmitterPorts {
  const VpaLookup* vpas = nullptr;
  const JobLookup* jobs = nullptr;
  const NamespaceLookup* namespaces = nullptr;
  const SpendSource* spend = nullptr;
  PdbEnsurer* pdbs = nullptr;
  EventSink* events = nullptr;
  WebhookMetrics* metrics = nullptr;
  const CapacityNodes* nodes = nullptr;              // warns when a required capacity term matches no Ready node
  const SpotCoolOff* spotCoolOff = nullptr;          // the spot circuit breaker without spotfit's scaler
  const ProfileLookup* profiles = nullptr;           // requests from the workflow's profile when no VPA targets it
  const BudgetPolicyGate* budgetPolicies = nullptr;  // BudgetPolicies (budget_gate.hpp, docs/budgets.md)
};

// A patch larger than this is not sent: the object is admitted unchanged with a warning (fail open).
// Ordinary patches are a few KiB; the limit keeps a hostile Pod (many containers, long checkpoint
// command) from turning a small request into a huge answer.
inline constexpr size_t kMaxPatchBytes = 1024 * 1024;

struct Admission {
  int httpStatus = 200;
  std::string body;  // the encoded AdmissionReview
  ReviewResult result = ReviewResult::Unchanged;
  AdmissionResponse response;
  std::vector<std::string> changes;
  // The mutated object (nullptr unless the request carried one that was processed).
  std::shared_ptr<json::Document> mutated;
};

class Admitter {
 public:
  Admitter(WebhookConfig config, AdmitterPorts ports);

  // One AdmissionReview body.
  Admission review(std::string_view body) const;
  // A decoded request (used by review() and by `spotfit mutate`).
  Admission admit(const AdmissionRequest& request) const;

  server::Response handle(const server::Request& request) const;
  const WebhookConfig& config() const { return config_; }

 private:
  Admission admitChecked(const AdmissionRequest& request) const;
  WebhookConfig config_;
  AdmitterPorts ports_;
};

// Registers POST /mutate.
void registerRoutes(server::Router& router, const Admitter& admitter);

}  // namespace spotfit::webhook

#pragma once
// The scheduler extender's verbs. Handlers are thin (house rule 2): decode the ExtenderArgs, decode the
// Pod (and, in full-Node mode, the Nodes) with kube/, ask placement::fit / placement::score with the
// usage the ClusterCache knows, encode. The serving shell owns TLS, limits and deadlines.
//
//   POST <prefix>/filter      ExtenderArgs -> ExtenderFilterResult
//   POST <prefix>/prioritize  ExtenderArgs -> HostPriorityList (and assumes the pod on its best node)
//
// Safety with several spotfit replicas: see docs/extender.md ("Several replicas"). In short, a replica's
// ledger only ever makes its own answers stricter; kube-scheduler's NodeResourcesFit (run before any
// extender, on the scheduler's cache that includes the scheduler's own assumed pods) and the kubelet's
// admission are the final guards on resources, so an answer computed without another replica's
// assumptions can rank a node too high but never puts two pods on one GPU.

#include <chrono>
#include <string>
#include <string_view>

#include "extender/cache.hpp"
#include "extender/metrics.hpp"
#include "extender/wire.hpp"
#include "placement/score.hpp"
#include "server/http.hpp"

namespace spotfit::extender {

struct ExtenderOptions {
  placement::ScoreOptions score;
  // Record the pod on its best-scoring node in the assumed-pod ledger after prioritize.
  bool assumeOnPrioritize = true;
};

// The reason filter gives for a node name kube-scheduler sent that our cache does not know.
inline constexpr std::string_view kUnknownNodeReason = "unknown to spotfit";

// Stable metric label for a filter rejection reason ("insufficient_resources", "gpu_product", ...).
std::string_view rejectionCode(placement::FitCode code, bool permanent);

class Extender {
 public:
  // `metrics` and `budget` may be null (no metrics; no workflow is ever over budget).
  Extender(ClusterCache& cache, ExtenderMetrics* metrics, const BudgetStatus* budget = nullptr,
           ExtenderOptions options = {});

  server::Response filter(const server::Request& request);
  server::Response prioritize(const server::Request& request);

  // The same verbs on a request body, for tests and benchmarks.
  struct Answer {
    int status = 200;
    std::string body;        // JSON on 200, a one-line message otherwise
    bool callError = false;  // a 200 ExtenderFilterResult carrying Error (the scheduler treats it as failed)
  };
  Answer filterBody(std::string_view body);
  Answer prioritizeBody(std::string_view body);

 private:
  server::Response respond(Verb verb, Answer answer, std::chrono::steady_clock::time_point start);

  ClusterCache& cache_;
  ExtenderMetrics* metrics_;
  const BudgetStatus* budget_;
  ExtenderOptions options_;
};

// Registers POST <prefix>/filter and POST <prefix>/prioritize (metrics route labels
// "extender_filter" / "extender_prioritize"). `extender` must outlive the router.
void registerRoutes(server::Router& router, Extender& extender, std::string_view prefix = "/extender");

}  // namespace spotfit::extender

#include "extender/extender.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <optional>

#include "base/vocabulary.hpp"
#include "kube/objects.hpp"
#include "placement/budget.hpp"
#include "placement/fit.hpp"
#include "placement/gang_detect.hpp"

namespace spotfit::extender {
namespace {

constexpr std::string_view kNotSynced = "spotfit's node cache has not synced with the API server yet";
constexpr std::string_view kBudgetActionAnnotation = vocab::kAnnotationBudgetAction;
constexpr std::string_view kBudgetAnnotation = vocab::kAnnotationBudget;

// Identity lengths Kubernetes itself allows (apimachinery validation): object names are DNS subdomains
// (253), namespaces DNS labels (63). Uids are server-generated UUIDs (36); 128 leaves room for any other
// form. The assumed-pod ledger is keyed by these, so longer ones are refused before they reach it.
constexpr std::size_t kMaxNameBytes = 253;
constexpr std::size_t kMaxNamespaceBytes = 63;
constexpr std::size_t kMaxUidBytes = 128;

Status checkLength(std::string_view what, std::string_view value, std::size_t max) {
  if (value.size() <= max) return {};
  return makeError("invalid", std::string(what) + " is " + std::to_string(value.size()) + " bytes; Kubernetes allows " +
                                  std::to_string(max));
}

// The pod of a request, decoded, with the budget policy applied.
struct RequestPod {
  placement::PodInfo info;
  placement::Resources requests;
  std::string key;  // ledger identity
};

Result<RequestPod> decodeRequestPod(const ExtenderArgs& args, const BudgetStatus* budget) {
  auto pod = kube::decodePod(*args.pod);
  if (!pod.ok()) return makeError("invalid", "ExtenderArgs.Pod: " + pod.error().message);
  for (Status st : {checkLength("ExtenderArgs.Pod.metadata.name", pod->meta.name, kMaxNameBytes),
                    checkLength("ExtenderArgs.Pod.metadata.namespace", pod->meta.namespace_, kMaxNamespaceBytes),
                    checkLength("ExtenderArgs.Pod.metadata.uid", pod->meta.uid, kMaxUidBytes)}) {
    if (!st) return st.error();
  }
  for (std::size_t i = 0; i < args.nodeNames.size(); ++i) {
    Status st = checkLength("ExtenderArgs node name [" + std::to_string(i) + "]", args.nodeNames[i], kMaxNameBytes);
    if (!st) return st.error();
  }
  RequestPod out;
  out.info = pod->toPodInfo();
  // budget-action: spot-only narrows the pod to spot capacity while its workflow is over budget (the rule
  // of placement/budget.hpp; an invalid annotation is the webhook's to report, so it is ignored here).
  if (budget != nullptr && out.info.capacityPolicy != placement::CapacityPolicy::OnDemand &&
      !out.info.workflow.empty()) {
    const auto rule = placement::parseBudgetRule(pod->meta.annotations.get(kBudgetAnnotation),
                                                 pod->meta.annotations.get(kBudgetActionAnnotation));
    if (rule.ok() && *rule && (*rule)->action == placement::BudgetAction::SpotOnly &&
        placement::decideBudget(**rule, budget->spendUsd(out.info.namespace_, out.info.workflow)) ==
            placement::BudgetVerdict::SpotOnly) {
      out.info.capacityPolicy = placement::CapacityPolicy::SpotOnly;
    }
  }
  out.requests = pod->requests();
  out.key = ClusterCache::podKey(out.info);
  return out;
}

// Both verbs start alike: the ExtenderArgs, then its pod with the budget policy applied.
struct DecodedRequest {
  ExtenderArgs args;
  RequestPod pod;
};

Result<DecodedRequest> decodeRequest(std::string_view body, const BudgetStatus* budget) {
  auto args = decodeExtenderArgs(body);
  if (!args.ok()) return args.error();
  auto pod = decodeRequestPod(*args, budget);
  if (!pod.ok()) return pod.error();
  return DecodedRequest{std::move(*args), std::move(*pod)};
}

// Full-Node mode: the nodes as kube-scheduler sent them, with usage from our cache filled in later.
Result<std::vector<placement::NodeInfo>> decodeRequestNodes(const ExtenderArgs& args) {
  std::vector<placement::NodeInfo> nodes;
  nodes.reserve(args.nodes.size());
  for (std::size_t i = 0; i < args.nodes.size(); ++i) {
    auto node = kube::decodeNode(*args.nodes[i]);
    if (!node.ok()) {
      return makeError("invalid", "ExtenderArgs.Nodes.items[" + std::to_string(i) + "]: " + node.error().message);
    }
    nodes.push_back(std::move(node->info));
  }
  return nodes;
}

// Gangs (placement/gang_detect.hpp): the pin from the candidate nodes launched for the pod's gang.
placement::GangPin gangPinOf(const placement::GangRef& gang, const std::vector<placement::NodeInfo>& nodes) {
  std::vector<const placement::NodeInfo*> ptrs;
  ptrs.reserve(nodes.size());
  for (const auto& n : nodes) ptrs.push_back(&n);
  return placement::gangPin(gang, ptrs);
}
placement::GangPin gangPinOf(const placement::GangRef& gang, const std::vector<std::string_view>& names,
                             const ClusterCache::Snapshot& snap, std::string_view podKey) {
  const std::string label = placement::gangLabelValue(gang.key);
  std::vector<placement::NodeInfo> own;  // only the gang's nodes are copied
  placement::NodeInfo scratch;
  for (const auto& name : names) {
    const placement::NodeInfo* node = snap.node(name, podKey, scratch);
    if (!node) continue;
    auto it = node->labels.find(placement::kLabelGangNode);
    if (it != node->labels.end() && it->second == label) own.push_back(*node);
  }
  return gangPinOf(gang, own);
}
// A gang member ranks the nodes launched for its gang first; other pods rank them last, so the room the
// scaler planned for the gang is not taken from under it.
int64_t gangScore(const std::optional<placement::GangRef>& gang, const placement::NodeInfo& node, int64_t score) {
  auto it = node.labels.find(placement::kLabelGangNode);
  if (it == node.labels.end()) return score;
  const bool own = gang && it->second == placement::gangLabelValue(gang->key);
  return own ? 10 : 0;  // placement::score is 0..10
}

double secondsSince(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

std::string_view rejectionCode(placement::FitCode code, bool permanent) {
  using placement::FitCode;
  switch (code) {
    case FitCode::UnknownNode:
      return "unknown_node";
    case FitCode::Unschedulable:
      return "unschedulable";
    case FitCode::NodeAffinity:
      return "node_affinity";
    case FitCode::Taint:
      return "taint";
    case FitCode::GpuProduct:
      return "gpu_product";
    case FitCode::Budget:
      return "budget";
    case FitCode::CapacityType:
      return "capacity_type";
    case FitCode::Resources:
      return permanent ? "node_too_small" : "insufficient_resources";
    case FitCode::Gang:
      return "gang";
    case FitCode::Fits:
      break;
  }
  return "other";
}

Extender::Extender(ClusterCache& cache, ExtenderMetrics* metrics, const BudgetStatus* budget, ExtenderOptions options)
    : cache_(cache), metrics_(metrics), budget_(budget), options_(std::move(options)) {}

Extender::Answer Extender::filterBody(std::string_view body) {
  auto request = decodeRequest(body, budget_);
  if (!request.ok()) return {400, request.error().message};
  const ExtenderArgs& args = request->args;
  const RequestPod& pod = request->pod;
  FilterOutcome outcome;
  const auto n = args.nodeNames.size();
  outcome.passed.reserve(n);

  // A gang member stays on the capacity type (and zone) of the nodes the scaler launched for its gang.
  const std::optional<placement::GangRef> gang = placement::detectGang(pod.info);
  std::optional<placement::GangPin> pin;
  std::vector<std::string_view> rejections;  // metric labels, from the verdicts' codes
  auto judge = [&](std::size_t i, const placement::NodeInfo& node) {
    placement::FitVerdict v = placement::fit(pod.info, pod.requests, node);
    if (v.fits && pin) {
      if (std::string why = placement::gangMismatch(*pin, node); !why.empty()) {
        v.fits = false;
        v.code = placement::FitCode::Gang;
        v.reason = std::move(why);
      }
    }
    if (!v.fits && metrics_ != nullptr) rejections.push_back(rejectionCode(v.code, v.permanent));
    if (v.fits) {
      outcome.passed.push_back(i);
    } else if (v.permanent) {
      outcome.unresolvable.emplace_back(args.nodeNames[i], std::move(v.reason));
    } else {
      outcome.failed.emplace_back(args.nodeNames[i], std::move(v.reason));
    }
  };

  if (args.mode == NodeMode::kNames) {
    if (!cache_.isSynced()) return {200, encodeFilterError(kNotSynced), true};
    auto snap = cache_.snapshot();
    placement::NodeInfo scratch;
    if (gang) pin = gangPinOf(*gang, args.nodeNames, snap, pod.key);
    for (std::size_t i = 0; i < n; ++i) {
      const placement::NodeInfo* node = snap.node(args.nodeNames[i], pod.key, scratch);
      if (node == nullptr) {
        outcome.failed.emplace_back(args.nodeNames[i], std::string(kUnknownNodeReason));
        if (metrics_ != nullptr) rejections.push_back(rejectionCode(placement::FitCode::UnknownNode, false));
        continue;
      }
      judge(i, *node);
    }
  } else {
    auto nodes = decodeRequestNodes(args);
    if (!nodes.ok()) {
      return {400, nodes.error().message};
    }
    auto snap = cache_.snapshot();
    if (gang) pin = gangPinOf(*gang, *nodes);
    for (std::size_t i = 0; i < n; ++i) {
      placement::NodeInfo& node = (*nodes)[i];
      node.requested = snap.usage(node.name, pod.key);
      judge(i, node);
    }
  }

  if (metrics_ != nullptr)
    for (std::string_view label : rejections) metrics_->countRejection(label);
  return {200, encodeFilterResult(args, outcome)};
}

Extender::Answer Extender::prioritizeBody(std::string_view body) {
  auto request = decodeRequest(body, budget_);
  if (!request.ok()) return {400, request.error().message};
  const ExtenderArgs& args = request->args;
  const RequestPod& pod = request->pod;
  const std::optional<placement::GangRef> gang = placement::detectGang(pod.info);
  const auto n = args.nodeNames.size();
  std::vector<HostPriority> priorities(n);
  std::vector<char> candidate(n, 0);  // fits now: may be assumed onto
  std::vector<placement::NodeInfo> requestNodes;

  if (args.mode == NodeMode::kNames) {
    if (!cache_.isSynced()) {
      return {503, std::string(kNotSynced)};
    }
    auto snap = cache_.snapshot();
    placement::NodeInfo scratch;
    for (std::size_t i = 0; i < n; ++i) {
      priorities[i].host = args.nodeNames[i];
      const placement::NodeInfo* node = snap.node(args.nodeNames[i], pod.key, scratch);
      if (node == nullptr || !placement::fit(pod.info, pod.requests, *node).fits) continue;
      priorities[i].score = gangScore(gang, *node, placement::score(pod.info, pod.requests, *node, options_.score));
      candidate[i] = 1;
    }
  } else {
    auto nodes = decodeRequestNodes(args);
    if (!nodes.ok()) {
      return {400, nodes.error().message};
    }
    requestNodes = std::move(*nodes);
    auto snap = cache_.snapshot();
    for (std::size_t i = 0; i < n; ++i) {
      placement::NodeInfo& node = requestNodes[i];
      priorities[i].host = args.nodeNames[i];
      node.requested = snap.usage(node.name, pod.key);
      if (!placement::fit(pod.info, pod.requests, node).fits) continue;
      priorities[i].score = gangScore(gang, node, placement::score(pod.info, pod.requests, node, options_.score));
      candidate[i] = 1;
    }
  }

  if (options_.assumeOnPrioritize) {
    // Best first (score, then name: deterministic like placement::rankNodes). The first node whose
    // re-check under the cache's exclusive lock still passes takes the assumption; nodes a concurrent
    // assumption filled meanwhile drop to 0 so the scheduler does not favour them.
    std::vector<std::size_t> order;
    for (std::size_t i = 0; i < n; ++i) {
      if (candidate[i]) order.push_back(i);
    }
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
      if (priorities[a].score != priorities[b].score) return priorities[a].score > priorities[b].score;
      return priorities[a].host < priorities[b].host;
    });
    for (std::size_t i : order) {
      const placement::NodeInfo* requestNode = requestNodes.empty() ? nullptr : &requestNodes[i];
      AssumeOutcome r = cache_.assume(pod.info, pod.requests, args.nodeNames[i], requestNode);
      if (r == AssumeOutcome::kAssumed) break;
      if (r == AssumeOutcome::kLedgerFull) {
        // Nothing more can be recorded now; the scores stand (the scheduler's checks guard the binding).
        if (metrics_ != nullptr) metrics_->countLedgerFull();
        break;
      }
      priorities[i].score = 0;
      if (metrics_ != nullptr) metrics_->countAssumeConflict();
    }
    if (metrics_ != nullptr) metrics_->setAssumedPods(static_cast<double>(cache_.stats().assumedPods));
  }
  return {200, encodeHostPriorityList(priorities)};
}

server::Response Extender::respond(Verb verb, Answer answer, std::chrono::steady_clock::time_point start) {
  if (metrics_ != nullptr) {
    Outcome o = answer.status == 400                       ? Outcome::kBadRequest
                : answer.status != 200 || answer.callError ? Outcome::kError
                                                           : Outcome::kOk;
    metrics_->observeRequest(verb, o, secondsSince(start));
  }
  if (answer.status == 200) return server::Response::json(200, std::move(answer.body));
  return server::Response::text(answer.status, std::move(answer.body) + "\n");
}

server::Response Extender::filter(const server::Request& request) {
  const auto start = std::chrono::steady_clock::now();
  return respond(Verb::kFilter, filterBody(request.body), start);
}

server::Response Extender::prioritize(const server::Request& request) {
  const auto start = std::chrono::steady_clock::now();
  return respond(Verb::kPrioritize, prioritizeBody(request.body), start);
}

void registerRoutes(server::Router& router, Extender& extender, std::string_view prefix) {
  std::string p(prefix);
  while (!p.empty() && p.back() == '/') p.pop_back();
  router.add(
      "POST", p + "/filter", [&extender](const server::Request& r) { return extender.filter(r); }, "extender_filter");
  router.add(
      "POST", p + "/prioritize", [&extender](const server::Request& r) { return extender.prioritize(r); },
      "extender_prioritize");
}

}  // namespace spotfit::extender

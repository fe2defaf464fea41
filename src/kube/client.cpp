#include "kube/client.hpp"

namespace spotfit::kube {

namespace resources {
const ResourceType kPods{"", "v1", "pods", "Pod", true};
const ResourceType kNodes{"", "v1", "nodes", "Node", false};
const ResourceType kNamespaces{"", "v1", "namespaces", "Namespace", false};
const ResourceType kEvents{"", "v1", "events", "Event", true};
const ResourceType kJobs{"batch", "v1", "jobs", "Job", true};
const ResourceType kPodDisruptionBudgets{"policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true};
const ResourceType kLeases{"coordination.k8s.io", "v1", "leases", "Lease", true};
const ResourceType kVerticalPodAutoscalers{"autoscaling.k8s.io", "v1", "verticalpodautoscalers",
                                           "VerticalPodAutoscaler", true};
const ResourceType kNodePools{"spotfit.io", "v1alpha1", "spotfitpools", "SpotfitPool", false};
const ResourceType kMachineDeployments{"cluster.x-k8s.io", "v1beta1", "machinedeployments", "MachineDeployment", true};
const ResourceType kNodeClaims{"karpenter.sh", "v1", "nodeclaims", "NodeClaim", false};
}  // namespace resources

std::string ResourceType::collectionPath(std::string_view ns) const {
  std::string p = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) {
    p += "/namespaces/";
    p += ns;
  }
  p += "/";
  p += plural;
  return p;
}

std::string ResourceType::objectPath(std::string_view ns, std::string_view name) const {
  std::string p = collectionPath(ns);
  p += "/";
  p += name;
  return p;
}

std::string_view contentType(PatchType t) {
  switch (t) {
    case PatchType::Merge:
      return "application/merge-patch+json";
    case PatchType::Json:
      return "application/json-patch+json";
    case PatchType::Strategic:
      return "application/strategic-merge-patch+json";
  }
  return "application/merge-patch+json";
}

const json::Value& ListPage::items() const {
  static const json::Value kEmpty(rapidjson::kArrayType);
  const json::Value* v = json::find(doc, "items");
  return v != nullptr && v->IsArray() ? *v : kEmpty;
}

const json::Value& WatchEvent::object() const {
  static const json::Value kNull;
  const json::Value* v = json::find(doc, "object");
  return v != nullptr ? *v : kNull;
}

Result<int64_t> KubeClient::getScale(const ResourceType& r, std::string_view ns, std::string_view name,
                                     Timeout timeout) {
  GetOptions o;
  o.timeout = timeout;
  o.subresource = "scale";
  auto doc = get(r, ns, name, o);
  if (!doc.ok()) return doc.error();
  const json::Value* spec = json::find(*doc, "spec");
  if (spec == nullptr) return int64_t{0};
  auto replicas = json::optInt(*spec, "replicas", "spec");
  if (!replicas.ok()) return replicas.error();
  return replicas->value_or(0);
}

Status KubeClient::setScale(const ResourceType& r, std::string_view ns, std::string_view name, int64_t replicas,
                            Timeout timeout) {
  WriteOptions o;
  o.timeout = timeout;
  o.subresource = "scale";
  auto res = patch(r, ns, name, PatchType::Merge, "{\"spec\":{\"replicas\":" + std::to_string(replicas) + "}}", o);
  if (!res.ok()) return res.error();
  return {};
}

Result<std::string> KubeClient::listAll(const ResourceType& r, std::string_view ns, const ListOptions& o,
                                        const std::function<Status(const json::Value&)>& onItem) {
  ListOptions page = o;
  for (;;) {
    auto res = list(r, ns, page);
    if (!res.ok()) return res.error();
    for (const auto& item : res->items().GetArray()) {
      if (auto st = onItem(item); !st.ok()) return st.error();
    }
    if (res->continueToken.empty()) return res->resourceVersion;
    page.continueToken = res->continueToken;
  }
}

namespace {
bool hasCode(const Error& e, std::string_view a, std::string_view b = {}) {
  return e.code == a || (!b.empty() && e.code == b);
}
bool hasHttp(const Error& e, int status) {
  return e.message.find("(HTTP " + std::to_string(status) + ")") != std::string::npos;
}
}  // namespace

bool isNotFound(const Error& e) {
  return hasCode(e, "NotFound") || hasHttp(e, 404);
}
bool isAlreadyExists(const Error& e) {
  return hasCode(e, "AlreadyExists");
}
bool isConflict(const Error& e) {
  return hasCode(e, "Conflict") || (hasHttp(e, 409) && !isAlreadyExists(e));
}
bool isGone(const Error& e) {
  return hasCode(e, "Gone", "Expired") || hasHttp(e, 410);
}
bool isTooManyRequests(const Error& e) {
  return hasCode(e, "TooManyRequests") || hasHttp(e, 429);
}
bool isTransient(const Error& e) {
  return hasCode(e, "io", "deadline") || isTooManyRequests(e) || hasCode(e, "InternalError", "ServiceUnavailable") ||
         hasCode(e, "Timeout", "ServerTimeout") || hasHttp(e, 500) || hasHttp(e, 502) || hasHttp(e, 503) ||
         hasHttp(e, 504);
}

Error apiError(int status, std::string_view body) {
  std::string reason;
  std::string message;
  if (auto doc = json::parse(body, json::kApiServerLimits); doc.ok() && doc->IsObject()) {
    if (auto r = json::optString(*doc, "reason", ""); r.ok() && r->has_value()) reason = std::string(**r);
    if (auto m = json::optString(*doc, "message", ""); m.ok() && m->has_value()) message = std::string(**m);
  }
  if (reason.empty()) {
    switch (status) {
      case 400:
        reason = "BadRequest";
        break;
      case 401:
        reason = "Unauthorized";
        break;
      case 403:
        reason = "Forbidden";
        break;
      case 404:
        reason = "NotFound";
        break;
      case 405:
        reason = "MethodNotAllowed";
        break;
      case 409:
        reason = "Conflict";
        break;
      case 410:
        reason = "Gone";
        break;
      case 415:
        reason = "UnsupportedMediaType";
        break;
      case 422:
        reason = "Invalid";
        break;
      case 429:
        reason = "TooManyRequests";
        break;
      case 500:
        reason = "InternalError";
        break;
      case 503:
        reason = "ServiceUnavailable";
        break;
      case 504:
        reason = "Timeout";
        break;
      default:
        reason = "HTTP" + std::to_string(status);
    }
  }
  if (message.empty()) {
    std::string_view b = body.substr(0, 200);
    message = b.empty() ? "no details" : std::string(b);
    for (char& c : message) {
      if (c == '\n' || c == '\r') c = ' ';
    }
  }
  return makeError(reason, reason + " (HTTP " + std::to_string(status) + "): " + message);
}

}  // namespace spotfit::kube

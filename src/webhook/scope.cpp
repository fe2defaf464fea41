#include "webhook/scope.hpp"

#include <algorithm>
#include <cctype>

#include "webhook/options.hpp"

namespace spotfit::webhook {
namespace {

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// The controller among `refs` that is a batch kind, else the first batch owner.
std::optional<OwnerReference> batchOwner(const ObjectMeta& meta, const WebhookConfig& cfg) {
  std::optional<OwnerReference> first;
  for (auto& o : meta.ownerReferences()) {
    if (o.name.empty() || !isBatchOwner(o, cfg)) continue;
    if (o.controller) return o;
    if (!first) first = o;
  }
  return first;
}

bool hasUserAnnotation(const ObjectMeta& meta) {
  for (const auto& [key, value] : meta.annotationsWithPrefix(kPrefix)) {
    if (key != kAnnMutated) return true;
  }
  return false;
}

}  // namespace

std::string_view apiGroup(std::string_view apiVersion) {
  const size_t slash = apiVersion.find('/');
  return slash == std::string_view::npos ? std::string_view() : apiVersion.substr(0, slash);
}

bool isBatchOwner(const OwnerReference& ref, const WebhookConfig& cfg) {
  const std::string_view group = apiGroup(ref.apiVersion);
  for (const auto& entry : cfg.scope.batchOwners) {
    const size_t slash = entry.rfind('/');
    const std::string_view g =
        slash == std::string::npos ? std::string_view() : std::string_view(entry).substr(0, slash);
    const std::string_view k =
        slash == std::string::npos ? std::string_view(entry) : std::string_view(entry).substr(slash + 1);
    if (g == group && k == ref.kind) return true;
  }
  return false;
}

PodScope podScope(const ObjectMeta& pod, const WebhookConfig& cfg) {
  if (batchOwner(pod, cfg)) return PodScope::BatchOwned;
  for (const auto& label : cfg.scope.batchPodLabels) {
    if (pod.label(label)) return PodScope::BatchLabelled;
  }
  if (hasUserAnnotation(pod)) return PodScope::Annotated;
  return PodScope::NotBatch;
}

std::string_view podScopeName(PodScope s) {
  switch (s) {
    case PodScope::BatchOwned:
      return "batch-owner";
    case PodScope::BatchLabelled:
      return "batch-label";
    case PodScope::Annotated:
      return "annotated";
    case PodScope::NotBatch:
      break;
  }
  return "not-batch";
}

std::optional<std::string> coordinatorRole(const ObjectMeta& tmpl, const WebhookConfig& cfg) {
  for (const auto& role : cfg.scope.coordinators) {
    auto v = tmpl.label(role.label);
    if (!v) continue;
    for (const auto& want : role.values) {
      if (equalsIgnoreCase(*v, want)) return role.label + "=" + std::string(*v);
    }
  }
  return std::nullopt;
}

std::string workflowFromGenerateName(std::string_view g) {
  while (!g.empty() && (g.back() == '-' || g.back() == '.' || g.back() == '_')) g.remove_suffix(1);
  return std::string(g);
}

WorkflowIdentity defaultJobWorkflow(const ObjectMeta& job, const WebhookConfig& cfg) {
  WorkflowIdentity id;
  const std::string name(job.name());
  for (const auto& o : job.ownerReferences()) {
    if (o.kind == "CronJob" && apiGroup(o.apiVersion) == "batch" && !o.name.empty()) {
      id.workflow = o.name;
      id.run = name;
      return id;
    }
  }
  if (auto owner = batchOwner(job, cfg)) {
    id.workflow = owner->name;
    return id;
  }
  id.workflow = name.empty() ? workflowFromGenerateName(job.generateName()) : name;
  return id;
}

WorkflowIdentity defaultPodWorkflow(const ObjectMeta& pod, std::string_view cronJob, const WebhookConfig& cfg) {
  WorkflowIdentity id;
  if (auto owner = batchOwner(pod, cfg)) {
    if (owner->kind == "Job" && apiGroup(owner->apiVersion) == "batch" && !cronJob.empty()) {
      id.workflow = std::string(cronJob);
      id.run = owner->name;
    } else {
      id.workflow = owner->name;
    }
    return id;
  }
  if (auto spark = pod.label("spark-app-name")) {
    id.workflow = std::string(*spark);
    return id;
  }
  // A standalone pod is its own workflow.
  id.workflow = pod.name().empty() ? workflowFromGenerateName(pod.generateName()) : std::string(pod.name());
  return id;
}

}  // namespace spotfit::webhook

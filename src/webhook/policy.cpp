#include "webhook/policy.hpp"

#include <algorithm>
#include <array>
#include <set>

#include "placement/gang_detect.hpp"
#include "placement/quantity.hpp"
#include "webhook/scope.hpp"

namespace spotfit::webhook {
namespace {

// `have` already tolerates what `want` tolerates.
bool covers(const Toleration& have, const Toleration& want) {
  const std::string haveOp = have.op.empty() ? "Equal" : have.op;
  if (!have.effect.empty() && have.effect != want.effect) return false;
  if (have.key.empty()) return haveOp == "Exists";  // tolerates every taint (of that effect)
  if (have.key != want.key) return false;
  if (haveOp == "Exists") return true;
  if (have.value != want.value) return false;
  // A NoExecute toleration with tolerationSeconds is weaker than one without.
  return !have.tolerationSeconds || (want.tolerationSeconds && *have.tolerationSeconds >= *want.tolerationSeconds);
}

bool addTolerations(PodSpec& spec, const std::vector<Toleration>& wanted) {
  bool changed = false;
  auto have = spec.tolerations();
  for (const auto& w : wanted) {
    bool covered = std::any_of(have.begin(), have.end(), [&](const Toleration& h) { return covers(h, w); });
    if (covered) continue;
    spec.addToleration(w);
    have.push_back(w);
    changed = true;
  }
  return changed;
}

bool addCheckpoint(PodSpec& spec, const std::string& command, const std::vector<std::string>& skip) {
  bool changed = false;
  for (size_t i = 0; i < spec.containerCount(); ++i) {
    Container c = spec.container(i);
    if (c.hasPreStop()) continue;
    if (std::find(skip.begin(), skip.end(), c.name()) != skip.end()) continue;
    c.setPreStopExec({"/bin/sh", "-c", command});
    changed = true;
  }
  return changed;
}

std::vector<std::string> splitList(std::string_view s) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= s.size()) {
    size_t end = s.find(',', start);
    if (end == std::string_view::npos) end = s.size();
    std::string_view part = s.substr(start, end - start);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    start = end + 1;
  }
  return out;
}

// Annotations a user sets on a Job for its pods (spotfit.io/mutated is the webhook's own record).
constexpr std::array<std::string_view, 13> kInherited{kAnnCapacityType,
                                                      kAnnWorkflow,
                                                      kAnnBudget,
                                                      kAnnBudgetAction,
                                                      kAnnCheckpoint,
                                                      kAnnMinAvailable,
                                                      kAnnRightSize,
                                                      kAnnGpuProduct,
                                                      kAnnDoNotDisrupt,
                                                      placement::kAnnotationGang,
                                                      placement::kAnnotationGangSize,
                                                      placement::kAnnotationGangTopology,
                                                      placement::kAnnotationGangMixedCapacity};

}  // namespace

bool inheritJobAnnotations(const ObjectMeta& job, ObjectMeta& tmpl) {
  bool changed = false;
  for (std::string_view key : kInherited) {
    auto v = job.annotation(key);
    if (!v || tmpl.annotation(key)) continue;
    tmpl.setAnnotation(key, *v);
    changed = true;
  }
  return changed;
}

void recordChanges(ObjectMeta& meta, const std::vector<std::string>& changes) {
  if (changes.empty()) return;
  std::set<std::string> all(changes.begin(), changes.end());
  if (auto existing = meta.annotation(kAnnMutated)) {
    for (auto& c : splitList(*existing)) all.insert(std::move(c));
  }
  std::string joined;
  for (const auto& c : all) {
    if (!joined.empty()) joined += ',';
    joined += c;
  }
  if (meta.annotation(kAnnMutated) != std::string_view(joined)) meta.setAnnotation(kAnnMutated, joined);
}

bool addDisruptionPodFailurePolicy(json::Value& jobSpec, json::Allocator& a) {
  if (!jobSpec.IsObject() || json::member(jobSpec, "podFailurePolicy")) return false;  // the user's policy stands
  const json::Value* tmpl = json::object(jobSpec, "template");
  const json::Value* spec = tmpl ? json::object(*tmpl, "spec") : nullptr;
  if (!spec || json::string(*spec, "restartPolicy") != std::string_view("Never")) return false;
  json::Value condition(rapidjson::kObjectType);
  condition.AddMember("type", "DisruptionTarget", a);
  json::Value conditions(rapidjson::kArrayType);
  conditions.PushBack(condition, a);
  json::Value rule(rapidjson::kObjectType);
  rule.AddMember("action", "Ignore", a);
  rule.AddMember("onPodConditions", conditions, a);
  json::Value rules(rapidjson::kArrayType);
  rules.PushBack(rule, a);
  json::Value policy(rapidjson::kObjectType);
  policy.AddMember("rules", rules, a);
  json::set(jobSpec, "podFailurePolicy", std::move(policy), a);
  // The apiserver accepts a podFailurePolicy only with podReplacementPolicy Failed; the default
  // (TerminatingOrFailed, filled in before admission) cannot be told from a user's choice. Failed also
  // keeps a replacement from starting while the interrupted pod still runs its checkpoint hook.
  json::set(jobSpec, "podReplacementPolicy", json::str("Failed", a), a);
  return true;
}

std::shared_ptr<const Vpa> profileRequests(const profile::WorkflowProfile& p, const profile::RightSizeConfig& cfg) {
  const auto wanted = profile::recommend(p, cfg);
  if (wanted.empty()) return nullptr;
  auto vpa = std::make_shared<Vpa>();
  for (const auto& c : wanted) {
    auto& target = vpa->targets[c.name];
    if (c.cpuMilli) target["cpu"] = placement::formatMilliCpu(*c.cpuMilli);
    if (c.memoryBytes) target["memory"] = placement::formatBytes(*c.memoryBytes);
  }
  return vpa;
}

PolicyOutcome mutatePodTemplate(PodTemplate& tmpl, const PolicyInput& in) {
  const WebhookConfig& cfg = *in.config;
  PolicyOutcome out;
  ObjectMeta meta = tmpl.metadata();
  PodSpec spec = tmpl.spec();
  // A coordinator (Spark driver, Ray head, Kubeflow master/launcher) stays on on-demand capacity unless
  // the user chose a capacity type: the whole run depends on it, and its workers keep spot.
  if (!in.forceSpot && !in.options.capacityType) out.coordinator = coordinatorRole(meta, cfg);
  CapacityType capacity = in.forceSpot      ? CapacityType::Spot
                          : out.coordinator ? CapacityType::OnDemand
                                            : in.options.capacityType.value_or(cfg.defaultCapacityType);
  // A spot cool-off moves what would go to spot by default; a capacity type the user chose stays.
  if (in.spotCoolOff && !in.forceSpot && !in.options.capacityType && capacity != CapacityType::OnDemand) {
    capacity = CapacityType::OnDemand;
    out.coolOff = true;
  }
  out.capacity = capacity;

  // 1. Spot tolerations (not for pods that must run on on-demand capacity).
  if (cfg.tolerations.enabled && capacity != CapacityType::OnDemand && addTolerations(spec, cfg.tolerations.add)) {
    out.changes.emplace_back("tolerations");
  }

  // 2. Capacity-type and GPU-product node affinity.
  if (cfg.affinity.enabled) {
    const std::string& key = cfg.affinity.capacityTypeLabel;
    bool changed = false;
    switch (capacity) {
      case CapacityType::Spot:
        changed = spec.requireNodeLabelIn(key, {cfg.affinity.spotValue});
        break;
      case CapacityType::OnDemand:
        // GKE and AKS mark on-demand nodes by the absence of the label: NotIn [spot] matches them.
        changed = cfg.affinity.onDemandValue.empty() ? spec.requireNodeLabel(key, "NotIn", {cfg.affinity.spotValue})
                                                     : spec.requireNodeLabelIn(key, {cfg.affinity.onDemandValue});
        break;
      case CapacityType::SpotPreferred:
        changed = !spec.requiresNodeLabel(key) &&
                  spec.preferNodeLabelIn(key, {cfg.affinity.spotValue}, cfg.affinity.preferredWeight);
        break;
    }
    if (changed) out.changes.emplace_back("capacity-affinity");
    if (cfg.affinity.gpuProduct && in.options.gpuProduct &&
        spec.requireNodeLabelIn("nvidia.com/gpu.product", {*in.options.gpuProduct})) {
      out.changes.emplace_back("gpu-affinity");
    }
  }

  // 3. Requests from the VPA recommendation, else from the workflow's profile.
  if (cfg.rightSizing.enabled && in.options.rightSize && in.vpa) {
    auto resized = applyVpa(*in.vpa, spec);
    if (!resized) {
      out.warnings.push_back("spotfit: " + std::string(in.vpaFromProfile ? "profile of workflow " : "VPA ") +
                             in.vpa->name + " not applied: " + resized.error().message);
    } else if (!resized->changed.empty()) {
      out.changes.emplace_back(in.vpaFromProfile ? "requests-profile" : "requests");
    }
  }

  // 4. Checkpoint preStop hook and a grace period long enough to run it.
  if (cfg.checkpoint.enabled) {
    std::string command = in.options.checkpoint.value_or(cfg.checkpoint.command);
    if (command == "none") command.clear();
    if (!command.empty()) {
      if (addCheckpoint(spec, command, cfg.checkpoint.skipContainers)) out.changes.emplace_back("prestop");
      // Kubernetes' default grace period is 30 s when the field is absent.
      const int64_t grace = spec.terminationGracePeriodSeconds().value_or(30);
      if (grace < cfg.checkpoint.gracePeriodSeconds) {
        spec.setTerminationGracePeriodSeconds(cfg.checkpoint.gracePeriodSeconds);
        out.changes.emplace_back("grace-period");
      }
    }
  }

  // 4b. Work that cannot resume (no checkpoint hook) is protected from the provisioner's voluntary
  // disruption (consolidation, drift); spotfit.io/do-not-disrupt decides when set. Resumable pods stay movable.
  if (const std::string_view protect = disruptionProtection(cfg); protect != "none") {
    std::string command = cfg.checkpoint.enabled ? in.options.checkpoint.value_or(cfg.checkpoint.command) : "";
    if (command == "none") command.clear();
    if (in.options.doNotDisrupt.value_or(command.empty())) {
      bool changed = false;
      if ((protect == "karpenter" || protect == "both") && !meta.annotation(kAnnKarpenterDoNotDisrupt)) {
        meta.setAnnotation(kAnnKarpenterDoNotDisrupt, "true");
        changed = true;
      }
      if ((protect == "cluster-autoscaler" || protect == "both") && !meta.annotation(kAnnSafeToEvict)) {
        meta.setAnnotation(kAnnSafeToEvict, "false");
        changed = true;
      }
      if (changed) out.changes.emplace_back("do-not-disrupt");
    }
  }

  // 5. Workflow attribution.
  if (cfg.labels.enabled && !in.workflow.empty() && validLabelValue(in.workflow)) {
    bool changed = false;
    if (!meta.label(kLabelWorkflow)) {
      meta.setLabel(kLabelWorkflow, in.workflow);
      changed = true;
    }
    if (!meta.annotation(kAnnWorkflow)) {
      meta.setAnnotation(kAnnWorkflow, in.workflow);
      changed = true;
    }
    if (!in.run.empty() && validLabelValue(in.run) && !meta.label(kLabelRun)) {
      meta.setLabel(kLabelRun, in.run);
      changed = true;
    }
    if (changed) out.changes.emplace_back("workflow");
  }

  // 6. The scheduler that calls spotfit's extender (the second scheduler), for pods of the default one only.
  if (!cfg.schedulerName.empty()) {
    const auto current = spec.schedulerName();
    if ((!current || *current == "default-scheduler") && current != std::string_view(cfg.schedulerName)) {
      spec.setSchedulerName(cfg.schedulerName);
      out.changes.emplace_back("scheduler-name");
    }
  }

  if (cfg.labels.enabled) recordChanges(meta, out.changes);
  return out;
}

}  // namespace spotfit::webhook

// What admission does to a simulated job's pods. Strategies without spotfit's webhook (baseline,
// binpack-only) get the pod as written. The others run the webhook's own mutation policy
// (webhook::mutatePodTemplate) on a pod template built from the job, with a VPA whose recommendation is the
// job's usage plus the configured margin, and the strategy's parts of the policy switched on; the
// mutated template is then read back into the placement model the scheduler and the solver use.

#include <cmath>
#include <memory>

#include "base/vocabulary.hpp"
#include "placement/model.hpp"
#include "placement/quantity.hpp"
#include "sim/cluster.hpp"
#include "sim/profiles.hpp"
#include "webhook/config.hpp"
#include "webhook/json.hpp"
#include "webhook/options.hpp"
#include "webhook/pod_template.hpp"
#include "webhook/policy.hpp"
#include "webhook/scope.hpp"
#include "webhook/vpa.hpp"

namespace spotfit::sim {

namespace pl = spotfit::placement;
namespace wh = spotfit::webhook;
namespace json = spotfit::webhook::json;

namespace {

pl::Resources toResources(const ResourceAmounts& r) {
  pl::Resources out;
  out.cpuMilli = r.cpuMilli;
  out.memory = r.memoryBytes;
  for (const auto& [k, v] : r.extended) out.set(k, v);
  return out;
}

std::string annotation(const std::map<std::string, std::string>& a, const std::string& key, const std::string& def) {
  auto it = a.find(key);
  return it == a.end() ? def : it->second;
}

// VPA-like target: observed usage plus a safety margin, rounded up to 10 millicores / 1 MiB.
int64_t rightSized(int64_t usage, double margin, int64_t granularity) {
  double v = static_cast<double>(usage) * (1.0 + margin);
  int64_t out = static_cast<int64_t>(std::ceil(v / static_cast<double>(granularity))) * granularity;
  return std::max<int64_t>(out, granularity);
}

pl::Toleration toPlacement(const Toleration& t) {
  pl::Toleration tol;
  tol.key = t.key;
  tol.op = t.op == "Exists" ? pl::TolerationOperator::Exists : pl::TolerationOperator::Equal;
  tol.value = t.value;
  if (!t.effect.empty()) tol.effect = pl::parseTaintEffect(t.effect);
  return tol;
}

// The pod as the user wrote it, in the placement model.
void basePod(const WorkflowSpec& wf, const JobSpec& job, const std::map<std::string, std::string>& ann,
             pl::PodInfo& p) {
  p.namespace_ = "default";
  p.name = wf.name + "-" + job.name;
  p.ownerKind = "Job";
  p.ownerName = job.name;
  p.hasController = true;
  p.workflow = annotation(ann, vocab::kAnnotationWorkflow, wf.name);
  for (const auto& [k, v] : ann) p.annotations[k] = v;
  for (const auto& [k, v] : job.labels) p.labels[k] = v;
  for (const auto& [k, v] : job.nodeSelector) p.nodeSelector[k] = v;
  for (const auto& t : job.tolerations) p.tolerations.push_back(toPlacement(t));
  // A required GPU product is the user's constraint under every strategy (without spotfit it would be a
  // nodeSelector on nvidia.com/gpu.product).
  p.gpuProduct = annotation(ann, vocab::kAnnotationGpuProduct, "");
  p.doNotDisrupt = annotation(ann, vocab::kAnnotationDoNotDisrupt, "false") == "true";
}

json::Value quantities(const pl::Resources& r, json::Allocator& a) {
  json::Value obj(rapidjson::kObjectType);
  for (const auto& [k, v] : r.toMap()) {
    if (k == "pods") continue;
    obj.AddMember(json::str(k, a), json::str(v, a), a);
  }
  return obj;
}

// The job's pod template as the Job would carry it.
void buildTemplate(const WorkflowSpec& wf, const JobSpec& job, const std::map<std::string, std::string>& ann,
                   json::Document& doc) {
  json::Allocator& a = doc.GetAllocator();
  doc.SetObject();
  json::Value meta(rapidjson::kObjectType);
  meta.AddMember("name", json::str(wf.name + "-" + job.name, a), a);
  meta.AddMember("namespace", "default", a);
  json::Value anns(rapidjson::kObjectType);
  for (const auto& [k, v] : ann) anns.AddMember(json::str(k, a), json::str(v, a), a);
  meta.AddMember("annotations", anns, a);
  if (!job.labels.empty()) {
    json::Value labels(rapidjson::kObjectType);
    for (const auto& [k, v] : job.labels) labels.AddMember(json::str(k, a), json::str(v, a), a);
    meta.AddMember("labels", labels, a);
  }
  json::Value owner(rapidjson::kObjectType);
  owner.AddMember("apiVersion", "batch/v1", a);
  owner.AddMember("kind", "Job", a);
  owner.AddMember("name", json::str(job.name, a), a);
  owner.AddMember("uid", json::str("sim-" + wf.name + "-" + job.name, a), a);
  owner.AddMember("controller", true, a);
  json::Value owners(rapidjson::kArrayType);
  owners.PushBack(owner, a);
  meta.AddMember("ownerReferences", owners, a);
  doc.AddMember("metadata", meta, a);

  json::Value spec(rapidjson::kObjectType);
  json::Value container(rapidjson::kObjectType);
  container.AddMember("name", "main", a);
  container.AddMember("image", "workload", a);
  json::Value resources(rapidjson::kObjectType);
  pl::Resources req = toResources(job.requests);
  resources.AddMember("requests", quantities(req, a), a);
  if (req.gpus() > 0) {
    pl::Resources lim;
    for (const auto& [k, v] : req.extended) lim.set(k, v);
    resources.AddMember("limits", quantities(lim, a), a);
  }
  container.AddMember("resources", resources, a);
  json::Value containers(rapidjson::kArrayType);
  containers.PushBack(container, a);
  spec.AddMember("containers", containers, a);
  if (!job.nodeSelector.empty()) {
    json::Value sel(rapidjson::kObjectType);
    for (const auto& [k, v] : job.nodeSelector) sel.AddMember(json::str(k, a), json::str(v, a), a);
    spec.AddMember("nodeSelector", sel, a);
  }
  if (!job.tolerations.empty()) {
    json::Value tols(rapidjson::kArrayType);
    for (const auto& t : job.tolerations) {
      json::Value tol(rapidjson::kObjectType);
      if (!t.key.empty()) tol.AddMember("key", json::str(t.key, a), a);
      tol.AddMember("operator", json::str(t.op, a), a);
      if (!t.value.empty()) tol.AddMember("value", json::str(t.value, a), a);
      if (!t.effect.empty()) tol.AddMember("effect", json::str(t.effect, a), a);
      tols.PushBack(tol, a);
    }
    spec.AddMember("tolerations", tols, a);
  }
  spec.AddMember("restartPolicy", "Never", a);
  doc.AddMember("spec", spec, a);
}

std::map<std::string, std::string> stringMap(const json::Value* obj) {
  std::map<std::string, std::string> out;
  if (!obj || !obj->IsObject()) return out;
  for (auto it = obj->MemberBegin(); it != obj->MemberEnd(); ++it)
    if (it->name.IsString() && it->value.IsString())
      out[std::string(json::view(it->name))] = std::string(json::view(it->value));
  return out;
}

std::vector<pl::NodeSelectorRequirement> requirements(const json::Value* exprs) {
  std::vector<pl::NodeSelectorRequirement> out;
  if (!exprs || !exprs->IsArray()) return out;
  for (const auto& e : exprs->GetArray()) {
    pl::NodeSelectorRequirement r;
    r.key = std::string(json::string(e, "key").value_or(""));
    r.op = pl::parseSelectorOperator(json::string(e, "operator").value_or("In")).value_or(pl::SelectorOperator::In);
    if (const json::Value* vals = json::array(e, "values"))
      for (const auto& v : vals->GetArray())
        if (v.IsString()) r.values.emplace_back(json::view(v));
    out.push_back(std::move(r));
  }
  return out;
}

// Reads the fields the policy may have changed back into the placement model.
Status readBack(const json::Document& doc, const wh::WebhookConfig& cfg, const wh::SpotfitOptions& opts,
                const wh::PolicyOutcome& outcome, PodClass& cls) {
  pl::PodInfo& p = cls.info;
  const json::Value* spec = json::object(doc, "spec");
  const json::Value* containers = spec ? json::array(*spec, "containers") : nullptr;
  if (!containers || containers->Empty()) return makeError("internal", "mutated template lost its containers");
  const json::Value& c = (*containers)[0];
  const json::Value* res = json::object(c, "resources");
  pl::Container pc;
  pc.name = "main";
  auto req = pl::Resources::fromMap(stringMap(res ? json::object(*res, "requests") : nullptr));
  if (!req) return req.error();
  auto lim = pl::Resources::fromMap(stringMap(res ? json::object(*res, "limits") : nullptr));
  if (!lim) return lim.error();
  pc.requests = *req;
  pc.limits = *lim;
  p.containers = {pc};
  cls.checkpointHook = json::object(c, "lifecycle") && json::object(*json::object(c, "lifecycle"), "preStop");

  p.tolerations.clear();
  if (const json::Value* tols = json::array(*spec, "tolerations")) {
    for (const auto& t : tols->GetArray()) {
      Toleration tol;
      tol.key = std::string(json::string(t, "key").value_or(""));
      tol.op = std::string(json::string(t, "operator").value_or("Equal"));
      tol.value = std::string(json::string(t, "value").value_or(""));
      tol.effect = std::string(json::string(t, "effect").value_or(""));
      p.tolerations.push_back(toPlacement(tol));
    }
  }
  const json::Value* affinity = json::object(*spec, "affinity");
  const json::Value* nodeAffinity = affinity ? json::object(*affinity, "nodeAffinity") : nullptr;
  p.requiredNodeAffinity.clear();
  p.preferredCapacityType.reset();
  if (nodeAffinity) {
    const json::Value* req2 = json::object(*nodeAffinity, "requiredDuringSchedulingIgnoredDuringExecution");
    if (const json::Value* terms = req2 ? json::array(*req2, "nodeSelectorTerms") : nullptr) {
      for (const auto& t : terms->GetArray()) {
        pl::NodeSelectorTerm term;
        term.matchExpressions = requirements(json::array(t, "matchExpressions"));
        p.requiredNodeAffinity.push_back(std::move(term));
      }
    }
    if (const json::Value* prefs = json::array(*nodeAffinity, "preferredDuringSchedulingIgnoredDuringExecution")) {
      for (const auto& pref : prefs->GetArray()) {
        const json::Value* preference = json::object(pref, "preference");
        for (const auto& r : requirements(preference ? json::array(*preference, "matchExpressions") : nullptr)) {
          if (r.key != cfg.affinity.capacityTypeLabel || r.op != pl::SelectorOperator::In) continue;
          for (const auto& v : r.values)
            if (v == cfg.affinity.spotValue) p.preferredCapacityType = pl::CapacityType::Spot;
        }
      }
    }
  }
  // The policy's own decision (a coordinator stays on on-demand), not a re-derivation from the options.
  switch (outcome.capacity) {
    case wh::CapacityType::Spot:
      p.capacityPolicy = pl::CapacityPolicy::Spot;
      break;
    case wh::CapacityType::OnDemand:
      p.capacityPolicy = pl::CapacityPolicy::OnDemand;
      break;
    case wh::CapacityType::SpotPreferred:
      p.capacityPolicy = pl::CapacityPolicy::SpotPreferred;
      break;
  }
  if (opts.gpuProduct) p.gpuProduct = *opts.gpuProduct;
  if (const json::Value* meta = json::object(doc, "metadata")) {
    for (const auto& [k, v] : stringMap(json::object(*meta, "annotations"))) p.annotations[k] = v;
    for (const auto& [k, v] : stringMap(json::object(*meta, "labels"))) p.labels[k] = v;
  }
  return {};
}

}  // namespace

bool usesWebhook(const StrategyConfig& s) {
  return s.spot || s.rightSize || s.checkpointHooks;
}

Result<PodClass> admitPod(const Workload& w, const StrategyConfig& s, const WorkflowSpec& wf, const JobSpec& job,
                          const std::map<std::string, std::string>& ann, const profile::WorkflowProfile* learned) {
  PodClass cls;
  basePod(wf, job, ann, cls.info);
  pl::Container c;
  c.name = "main";
  c.requests = toResources(job.requests);
  cls.usage = job.usage ? toResources(*job.usage) : c.requests;
  for (const auto& [k, v] : c.requests.extended) cls.usage.set(k, v);  // extended resources: used as requested

  if (s.karpenter) {
    // Pods as written under Karpenter: a NodePool over both capacity types launches either, and a workflow
    // that must stay on on-demand says so with a karpenter.sh/capacity-type node selector (here: its
    // spotfit.io/capacity-type annotation read as that selector).
    auto it = ann.find(vocab::kAnnotationCapacityType);
    const std::string ct = it == ann.end() ? "" : it->second;
    cls.info.capacityPolicy = ct == "on-demand" ? pl::CapacityPolicy::OnDemand
                              : ct == "spot"    ? pl::CapacityPolicy::Spot
                                                : pl::CapacityPolicy::SpotPreferred;
    cls.info.doNotDisrupt = s.karpenterDoNotDisrupt;
    cls.info.containers.push_back(c);
    cls.requests = pl::podRequests(cls.info);
    return cls;
  }
  if (!usesWebhook(s)) {
    // No webhook: requests as written, and a cluster without spot capacity.
    cls.info.capacityPolicy = pl::CapacityPolicy::OnDemand;
    cls.info.containers.push_back(c);
    cls.requests = pl::podRequests(cls.info);
    return cls;
  }

  json::Document doc;
  buildTemplate(wf, job, ann, doc);
  wh::WebhookConfig cfg;
  cfg.tolerations.enabled = s.spot;
  cfg.affinity.enabled = true;
  cfg.rightSizing.enabled = s.rightSize;
  cfg.checkpoint.enabled = s.checkpointHooks;
  cfg.checkpoint.command = "/checkpoint";  // the site's default checkpoint command
  wh::PodTemplate tmpl(doc, doc.GetAllocator());
  // The webhook's scope rule: a simulated job's pod is owned by its batch/v1 Job, so it is always in scope;
  // asked anyway so a change to the rule cannot leave the simulator mutating what the webhook would not.
  if (wh::podScope(tmpl.metadata(), cfg) == wh::PodScope::NotBatch) {
    cls.info.containers.push_back(c);
    cls.requests = pl::podRequests(cls.info);
    return cls;
  }
  auto opts = wh::parseOptions(tmpl.metadata());
  if (!opts) return opts.error();
  // Without spot in the strategy the cluster has on-demand capacity only.
  if (!s.spot) opts->capacityType = wh::CapacityType::OnDemand;

  wh::PolicyInput in;
  in.config = &cfg;
  in.options = *opts;
  in.workflow = opts->workflow.value_or(wf.name);
  if (profileSized(s, ann)) {
    // No VPA: requests as written until the profile has its runs, then the webhook's profile rule.
    cls.profileJob = true;
    if (learned) {
      if (auto requests = wh::profileRequests(*learned, cfg.rightSizing.profile)) {
        in.vpa = std::move(requests);
        in.vpaFromProfile = true;
        cls.profileLearned = true;
      }
    }
  } else if (job.usage && (job.usage->cpuMilli > 0 || job.usage->memoryBytes > 0)) {
    auto vpa = std::make_shared<wh::Vpa>();
    vpa->namespace_ = "default";
    vpa->name = wf.name + "-" + job.name;
    vpa->targetKind = "Job";
    vpa->targetName = job.name;
    auto& target = vpa->targets["main"];
    const double margin = w.spotfit.rightSizeMargin;
    if (job.usage->cpuMilli > 0) target["cpu"] = pl::formatMilliCpu(rightSized(job.usage->cpuMilli, margin, 10));
    if (job.usage->memoryBytes > 0)
      target["memory"] = pl::formatBytes(rightSized(job.usage->memoryBytes, margin, int64_t{1} << 20));
    in.vpa = vpa;
  }
  wh::PolicyOutcome outcome = wh::mutatePodTemplate(tmpl, in);
  cls.mutations = outcome.changes;
  if (auto st = readBack(doc, cfg, *opts, outcome, cls); !st) return st.error();
  cls.requests = pl::podRequests(cls.info);
  return cls;
}

PodClass mutatePod(const Workload& w, const StrategyConfig& s, const WorkflowSpec& wf, const JobSpec& job,
                   const std::map<std::string, std::string>& ann, const profile::WorkflowProfile* learned) {
  auto cls = admitPod(w, s, wf, job, ann, learned);
  if (cls) {
    cls->checkpointed = cls->checkpointHook && job.resumable;
    // The program resumes from the site's default checkpoint: what the scaler's consolidation reads.
    if (cls->checkpointed) cls->info.annotations[vocab::kAnnotationResumable] = "true";
    return *cls;
  }
  // The workload parser validated every annotation the policy reads, so this is a defect; fall back to
  // the pod as written rather than simulating something else silently.
  PodClass plain;
  basePod(wf, job, ann, plain.info);
  plain.info.containers.push_back(pl::Container{"main", toResources(job.requests), {}, false, {}, {}});
  plain.requests = pl::podRequests(plain.info);
  plain.usage = job.usage ? toResources(*job.usage) : plain.requests;
  plain.mutations.push_back("admission-error: " + cls.error().message);
  return plain;
}

}  // namespace spotfit::sim

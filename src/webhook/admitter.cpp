#include "webhook/admitter.hpp"

#include <algorithm>
#include <chrono>
#include <exception>

#include "base/time.hpp"
#include "webhook/gang_stamp.hpp"
#include "webhook/json_patch.hpp"
#include "webhook/options.hpp"
#include "webhook/pdb.hpp"
#include "webhook/policy.hpp"
#include "webhook/scope.hpp"

namespace spotfit::webhook {
namespace {

enum class ObjectKind { Pod, Job, Other };

ObjectKind classify(const GroupVersionKind& gvk) {
  if (gvk.group.empty() && gvk.kind == "Pod") return ObjectKind::Pod;
  if (gvk.group == "batch" && gvk.kind == "Job") return ObjectKind::Job;
  return ObjectKind::Other;
}

std::string_view kindLabel(ObjectKind k) {
  switch (k) {
    case ObjectKind::Pod:
      return "Pod";
    case ObjectKind::Job:
      return "Job";
    case ObjectKind::Other:
      break;
  }
  return "other";
}

Admission finish(Admission a, std::string_view apiVersion) {
  a.body = encodeAdmissionReview(apiVersion, a.response);
  return a;
}

Admission allowUnchanged(const AdmissionRequest& req, ReviewResult result) {
  Admission a;
  a.result = result;
  a.response.uid = req.uid;
  return finish(std::move(a), req.apiVersion);
}

Admission refuse(const AdmissionRequest& req, ReviewResult result, int code, std::string reason, std::string message) {
  Admission a;
  a.result = result;
  a.response.uid = req.uid;
  a.response.allowed = false;
  a.response.status = AdmissionStatus{code, std::move(reason), std::move(message)};
  return finish(std::move(a), req.apiVersion);
}

}  // namespace

Admitter::Admitter(WebhookConfig config, AdmitterPorts ports) : config_(std::move(config)), ports_(ports) {}

Admission Admitter::review(std::string_view body) const {
  const auto start = std::chrono::steady_clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count(); };
  if (body.size() > config_.maxBodyBytes) {
    Admission a;
    a.httpStatus = 413;
    a.result = ReviewResult::BadRequest;
    a.response.allowed = false;
    a.response.status = AdmissionStatus{413, "RequestEntityTooLarge",
                                        "AdmissionReview body of " + std::to_string(body.size()) +
                                            " bytes exceeds the limit of " + std::to_string(config_.maxBodyBytes)};
    a = finish(std::move(a), kAdmissionV1);
    if (ports_.metrics) ports_.metrics->request("other", "other", a.result, elapsed());
    return a;
  }
  DecodeResult d = decodeAdmissionReview(body);
  if (!d.request) {
    Admission a;
    a.httpStatus = 400;
    a.result = ReviewResult::BadRequest;
    a.response.uid = d.failure.uid;
    a.response.allowed = false;
    a.response.status = AdmissionStatus{400, "BadRequest", d.failure.message};
    a = finish(std::move(a), d.failure.apiVersion);
    if (ports_.metrics) ports_.metrics->request("other", "other", a.result, elapsed());
    return a;
  }
  Admission a = admit(*d.request);
  if (ports_.metrics) {
    ports_.metrics->request(kindLabel(classify(d.request->kind)), d.request->operation, a.result, elapsed());
  }
  return a;
}

Admission Admitter::admit(const AdmissionRequest& req) const {
  try {
    return admitChecked(req);
  } catch (const std::exception& e) {
    if (ports_.metrics) ports_.metrics->internalError();
    Admission a;
    a.result = ReviewResult::Error;
    a.response.uid = req.uid;
    a.response.warnings.push_back(std::string("spotfit: internal error, admitted unchanged: ") + e.what());
    return finish(std::move(a), req.apiVersion);
  } catch (...) {
    if (ports_.metrics) ports_.metrics->internalError();
    Admission a;
    a.result = ReviewResult::Error;
    a.response.uid = req.uid;
    a.response.warnings.emplace_back("spotfit: internal error, admitted unchanged");
    return finish(std::move(a), req.apiVersion);
  }
}

Admission Admitter::admitChecked(const AdmissionRequest& req) const {
  const ObjectKind kind = classify(req.kind);
  if (kind == ObjectKind::Other || req.operation != "CREATE" || !req.subResource.empty() || !req.object) {
    return allowUnchanged(req, ReviewResult::Skipped);
  }
  json::Value& original = *req.object;
  const std::string where = kind == ObjectKind::Pod ? "Pod" : "Job";
  if (Status s = validateObjectMetaShape(original, where); !s) {
    Admission a = allowUnchanged(req, ReviewResult::Error);
    a.response.warnings.push_back("spotfit: not mutated: " + s.error().message);
    if (ports_.metrics) ports_.metrics->internalError();
    return finish(std::move(a), req.apiVersion);
  }
  // Read-only view of the original for scope decisions (ObjectMeta only writes on set*).
  json::Document scratch;
  ObjectMeta objMeta(original, scratch.GetAllocator());

  std::string ns = req.namespace_.empty() ? std::string(objMeta.namespace_()) : req.namespace_;
  if (ns == config_.ownNamespace || std::find(config_.excludedNamespaces.begin(), config_.excludedNamespaces.end(),
                                              ns) != config_.excludedNamespaces.end()) {
    return allowUnchanged(req, ReviewResult::Skipped);
  }
  if (config_.requireNamespaceLabel && ports_.namespaces) {
    if (auto labels = ports_.namespaces->labels(ns)) {
      auto it = labels->find(std::string(kLabelEnabled));
      if (it == labels->end() || it->second != "true") return allowUnchanged(req, ReviewResult::Skipped);
    }
  }
  if (objMeta.label(kLabelSkip) == std::string_view("true")) return allowUnchanged(req, ReviewResult::Skipped);
  // Batch only (scope.hpp): a Deployment's, StatefulSet's or DaemonSet's pod, or a bare pod, is left alone
  // unless it carries a spotfit.io/ annotation.
  if (kind == ObjectKind::Pod && podScope(objMeta, config_) == PodScope::NotBatch) {
    return allowUnchanged(req, ReviewResult::Skipped);
  }

  json::Value* tmplOriginal = &original;
  if (kind == ObjectKind::Job) {
    json::Value* spec = json::object(original, "spec");
    tmplOriginal = spec ? json::object(*spec, "template") : nullptr;
    if (!tmplOriginal) {
      Admission a = allowUnchanged(req, ReviewResult::Error);
      a.response.warnings.emplace_back("spotfit: not mutated: Job.spec.template is missing");
      return finish(std::move(a), req.apiVersion);
    }
  }
  if (Status s = validatePodTemplateShape(*tmplOriginal, kind == ObjectKind::Pod ? "Pod" : "Job.spec.template"); !s) {
    Admission a = allowUnchanged(req, ReviewResult::Error);
    a.response.warnings.push_back("spotfit: not mutated: " + s.error().message);
    if (ports_.metrics) ports_.metrics->internalError();
    return finish(std::move(a), req.apiVersion);
  }
  ObjectMeta tmplMetaOriginal(*tmplOriginal, scratch.GetAllocator());
  if (kind == ObjectKind::Job && tmplMetaOriginal.label(kLabelSkip) == std::string_view("true")) {
    return allowUnchanged(req, ReviewResult::Skipped);
  }

  // Options: a Job's annotations, overridden by its template's; a Pod's own.
  Result<SpotfitOptions> options = parseOptions(objMeta);
  if (options && kind == ObjectKind::Job) options = parseOptions(tmplMetaOriginal, *options);
  if (!options) return refuse(req, ReviewResult::Invalid, 422, "Invalid", "spotfit: " + options.error().message);

  PolicyInput in;
  in.config = &config_;
  in.options = *options;
  std::string jobName;                     // the Job this object is or belongs to
  std::string cronJobName;                 // its CronJob, when known
  std::optional<OwnerReference> jobOwner;  // a Pod's batch/v1 Job (not another group's Job kind)
  if (kind == ObjectKind::Job) {
    jobName = std::string(objMeta.name());
    if (auto cron = objMeta.ownerOf("batch", "CronJob")) cronJobName = cron->name;
  } else if ((jobOwner = objMeta.ownerOf("batch", "Job"))) {
    jobName = jobOwner->name;
  }
  std::optional<JobInfo> jobInfo;
  if (kind == ObjectKind::Pod && !jobName.empty() && ports_.jobs) {
    jobInfo = ports_.jobs->find(ns, jobName);
    if (jobInfo) cronJobName = jobInfo->cronJob;
  }
  // Workflow identity (scope.hpp): a CronJob's runs add up to one workflow; a generateName Job is named
  // by its owner or its prefix.
  const WorkflowIdentity identity = kind == ObjectKind::Job ? defaultJobWorkflow(objMeta, config_)
                                                            : defaultPodWorkflow(objMeta, cronJobName, config_);
  in.workflow = options->workflow ? *options->workflow : identity.workflow;
  in.run = identity.run;

  Admission a;
  a.response.uid = req.uid;
  if (options->rightSizeUnknown) {
    a.response.warnings.push_back("spotfit: " + std::string(kAnnRightSize) + "=\"" + *options->rightSizeUnknown +
                                  "\" is not one of profile, vpa, off: requests left as written");
  }

  // Budget gate (placement/budget.hpp: the same rule the extender and the scaler apply).
  if (config_.budgets.enabled && options->budgetUsd && ports_.spend && !in.workflow.empty()) {
    const placement::BudgetRule rule{*options->budgetUsd, options->budgetAction};
    const std::optional<double> spent = ports_.spend->spendUsd(ns, in.workflow);
    const placement::BudgetVerdict verdict = placement::decideBudget(rule, spent);
    if (ports_.metrics) ports_.metrics->budget(placement::budgetVerdictName(verdict));
    const std::string summary =
        verdict == placement::BudgetVerdict::Within ? "" : placement::budgetSummary(in.workflow, *spent, rule.limitUsd);
    switch (verdict) {
      case placement::BudgetVerdict::Within:
        break;
      case placement::BudgetVerdict::Deny:
        // Decided at the Job: refusing a Job's pods would only make the Job controller retry forever. A pod
        // of a Job admitted before the budget ran out is admitted; the scaler gives it no new capacity.
        if (jobOwner) {
          a.response.warnings.push_back("spotfit: " + summary + "; deny applies when a Job is created");
          break;
        }
        return refuse(req, ReviewResult::Denied, 403, "Forbidden",
                      "spotfit: " + summary + " (spotfit.io/budget-action=deny)");
      case placement::BudgetVerdict::SpotOnly:
        in.forceSpot = true;
        a.response.warnings.push_back("spotfit: " + summary + "; spot capacity required");
        break;
      case placement::BudgetVerdict::Alert:
        a.response.warnings.push_back("spotfit: " + summary);
        if (ports_.events && !req.dryRun) {
          EventRecord e;
          e.namespace_ = ns;
          e.involvedKind = jobName.empty() ? "Pod" : "Job";
          e.involvedName = jobName.empty() ? std::string(objMeta.name()) : jobName;
          e.involvedUid = jobOwner ? jobOwner->uid : std::string(objMeta.uid());
          e.type = "Warning";
          e.reason = "BudgetExceeded";
          e.message = summary;
          ports_.events->record(e);
        }
        break;
    }
  }

  // BudgetPolicies (budget_gate.hpp): the same rule per namespace, team, CronJob or workflow and window.
  BudgetGateOutcome policyGate;
  if (config_.budgets.enabled && ports_.budgetPolicies) {
    const placement::BudgetSubject subject{ns, in.workflow, cronJobName, metadataLabels(original)};
    policyGate = gateBudgetPolicies(
        ports_.budgetPolicies->decide(subject, kind == ObjectKind::Job ? placement::EnforcementPoint::JobAdmission
                                                                       : placement::EnforcementPoint::PodAdmission),
        kind == ObjectKind::Job, jobOwner.has_value());
    if (policyGate.refuse) return refuse(req, ReviewResult::Denied, 403, "Forbidden", *policyGate.refuse);
    if (policyGate.forceSpot) in.forceSpot = true;
    if (policyGate.warning) a.response.warnings.push_back(*policyGate.warning);
    if (policyGate.event && ports_.events && !req.dryRun) {
      EventRecord e;
      e.namespace_ = ns;
      e.involvedKind = jobName.empty() ? "Pod" : "Job";
      e.involvedName = jobName.empty() ? std::string(objMeta.name()) : jobName;
      e.involvedUid = jobOwner ? jobOwner->uid : std::string(objMeta.uid());
      e.type = "Warning";
      e.reason = "BudgetExceeded";
      e.message = policyGate.message;
      ports_.events->record(e);
    }
  }

  // VPA: targetRef is the Job, or the CronJob that owns it.
  if (config_.rightSizing.enabled && options->rightSize && ports_.vpas) {
    if (!jobName.empty()) in.vpa = ports_.vpas->find(ns, "Job", jobName);
    if (!in.vpa && !cronJobName.empty()) in.vpa = ports_.vpas->find(ns, "CronJob", cronJobName);
  }
  // No VPA: the workflow's profile (docs/profiles.md), once it has enough runs. A VPA always wins.
  if (config_.rightSizing.enabled && config_.rightSizing.profiles && options->rightSizeProfile && !in.vpa &&
      ports_.profiles && !in.workflow.empty()) {
    if (auto book = ports_.profiles->profiles()) {
      if (const profile::WorkflowProfile* p = book->find({ns, in.workflow})) {
        if (auto requests = profileRequests(*p, config_.rightSizing.profile)) {
          auto named = std::make_shared<Vpa>(*requests);
          named->name = in.workflow;
          in.vpa = std::move(named);
          in.vpaFromProfile = true;
        }
      }
    }
  }

  // Spot cool-off (spot_cooloff.hpp): one look-up under a mutex.
  std::optional<scaler::TimePoint> coolOffUntil;
  if (ports_.spotCoolOff && (coolOffUntil = ports_.spotCoolOff->until())) in.spotCoolOff = true;

  // Mutate a copy, then diff.
  auto mutated = std::make_shared<json::Document>();
  mutated->CopyFrom(original, mutated->GetAllocator());
  json::Value* tmplMutated = mutated.get();
  if (kind == ObjectKind::Job) tmplMutated = &(*mutated)["spec"]["template"];
  PodTemplate tmpl(*tmplMutated, mutated->GetAllocator());
  ObjectMeta tmplMeta = tmpl.metadata();
  bool inherited = false;
  if (kind == ObjectKind::Job) {
    ObjectMeta jobMeta(*mutated, mutated->GetAllocator());
    inherited = inheritJobAnnotations(jobMeta, tmplMeta);
    if (stampIndexedJobGang((*mutated)["spec"], tmplMeta)) inherited = true;  // gang_stamp.hpp
  }
  PolicyOutcome outcome = mutatePodTemplate(tmpl, in);
  if (policyGate.suspend && suspendForBudget(*mutated, policyGate.policy, mutated->GetAllocator())) {
    outcome.changes.emplace_back("budget-suspend");
  }
  if (kind == ObjectKind::Job && addsPodFailurePolicy(config_) &&
      addDisruptionPodFailurePolicy((*mutated)["spec"], mutated->GetAllocator())) {
    outcome.changes.emplace_back("pod-failure-policy");
    if (config_.labels.enabled) recordChanges(tmplMeta, outcome.changes);
  }
  if (inherited) {
    outcome.changes.emplace_back("annotations");
    if (config_.labels.enabled) recordChanges(tmplMeta, outcome.changes);
  }
  for (auto& w : outcome.warnings) a.response.warnings.push_back(std::move(w));
  if (outcome.coolOff) {
    a.response.warnings.push_back("spotfit: spot cool-off until " + base::formatTime(*coolOffUntil) + " after " +
                                  std::to_string(ports_.spotCoolOff->interruptions()) +
                                  " spot interruptions: placed on on-demand capacity");
    if (ports_.metrics) ports_.metrics->spotCoolOffPlacement();
  }

  // Never strand a pod silently: a required capacity term this admission wrote that no Ready node
  // satisfies (wrong preset, no on-demand nodes yet) is reported on the response and counted.
  if (ports_.nodes && outcome.capacity != CapacityType::SpotPreferred &&
      std::find(outcome.changes.begin(), outcome.changes.end(), "capacity-affinity") != outcome.changes.end()) {
    const bool spot = outcome.capacity == CapacityType::Spot;
    if (ports_.nodes->readyNodes(spot) == std::optional<size_t>(0)) {
      a.response.warnings.push_back("spotfit: no Ready node has " + requiredCapacityTerm(config_.affinity, spot) +
                                    " (required " + std::string(capacityTypeName(outcome.capacity)) + ")");
      if (ports_.metrics) ports_.metrics->unsatisfiableRequiredTerm();
    }
  }

  // PDB for pods of a parallel Job (side effect: queued, never on dry run).
  // Without a Job look-up the writer verifies the Job's parallelism itself (one GET per Job).
  const bool parallelJob =
      jobOwner && (!ports_.jobs || (jobInfo && jobInfo->parallelism >= config_.pdb.minParallelism &&
                                    (jobInfo->uid.empty() || jobInfo->uid == jobOwner->uid)));
  if (kind == ObjectKind::Pod && config_.pdb.enabled && ports_.pdbs && jobOwner && !jobOwner->uid.empty() &&
      parallelJob && !req.dryRun) {
    PdbRequest p;
    p.namespace_ = ns;
    p.jobName = jobName;
    p.jobUid = jobOwner->uid;
    p.minAvailable = options->minAvailable.value_or(config_.pdb.defaultMinAvailable);
    if (jobInfo) p.pods = jobPodsAtOnce(*jobInfo);  // else the writer reads the Job (verifyMinParallelism)
    if (objMeta.label("batch.kubernetes.io/controller-uid")) {
      p.selectorKey = "batch.kubernetes.io/controller-uid";
    } else {
      p.selectorKey = "controller-uid";
    }
    p.selectorValue = jobOwner->uid;
    if (!ports_.jobs) p.verifyMinParallelism = config_.pdb.minParallelism;
    ports_.pdbs->ensure(p);
  }

  JsonPatch patch = diff(original, *mutated, kMaxPatchBytes);
  if (patch.tooLarge) {  // fail open: admitting the object unchanged beats an answer the apiserver refuses
    if (ports_.metrics) ports_.metrics->internalError();
    Admission big = allowUnchanged(req, ReviewResult::Error);
    big.response.warnings.push_back("spotfit: not mutated: the patch would exceed " + std::to_string(kMaxPatchBytes) +
                                    " bytes");
    return finish(std::move(big), req.apiVersion);
  }
  a.changes = std::move(outcome.changes);
  if (ports_.metrics) {
    for (const auto& c : a.changes) ports_.metrics->mutation(c);
  }
  a.result = patch.empty() ? ReviewResult::Unchanged : ReviewResult::Patched;
  if (!patch.empty()) a.response.patch = std::move(patch.json);
  a.mutated = std::move(mutated);
  return finish(std::move(a), req.apiVersion);
}

server::Response Admitter::handle(const server::Request& request) const {
  Admission a = review(request.body);
  return server::Response::json(a.httpStatus, std::move(a.body));
}

void registerRoutes(server::Router& router, const Admitter& admitter) {
  router.add(
      "POST", "/mutate", [&admitter](const server::Request& r) { return admitter.handle(r); }, "/mutate");
}

}  // namespace spotfit::webhook

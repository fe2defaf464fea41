#include "webhook/pdb_reconciler.hpp"

#include <utility>
#include <vector>

#include "kube/json.hpp"
#include "webhook/kube_adapters.hpp"
#include "webhook/options.hpp"
#include "webhook/pdb.hpp"

namespace spotfit::webhook {
namespace {

constexpr std::string_view kManagedBy = "app.kubernetes.io/managed-by";
constexpr std::string_view kAlwaysAllow = "AlwaysAllow";

bool spotfitPdb(const kube::PodDisruptionBudget& pdb) {
  return pdb.meta.labels.get(kManagedBy) == "spotfit";
}

// The Job that owns a spotfit PDB, if any.
const kube::OwnerReference* owningJob(const kube::PodDisruptionBudget& pdb) {
  for (const auto& o : pdb.meta.ownerReferences) {
    if (o.kind == "Job" && (o.apiVersion.empty() || o.apiVersion == "batch/v1")) return &o;
  }
  return nullptr;
}

std::string pdbKeyFor(const kube::Job& job) {
  PdbRequest r;
  r.jobName = job.meta.name;
  return job.meta.namespace_ + "/" + r.pdbName();
}

}  // namespace

std::optional<std::string> pdbReconcilePatch(const kube::PodDisruptionBudget& pdb, const kube::Job& job) {
  if (!spotfitPdb(pdb)) return std::nullopt;
  const kube::OwnerReference* owner = owningJob(pdb);
  if (!owner || owner->name != job.meta.name || owner->uid != job.meta.uid) return std::nullopt;
  if (job.finished() || job.suspend) return std::nullopt;  // no pods to protect or to evict

  // The setting: the annotation, else what an older spotfit wrote into minAvailable itself.
  std::string setting;
  const bool annotated = pdb.meta.annotations.contains(kAnnMinAvailable);
  if (annotated) {
    setting = std::string(*pdb.meta.annotations.get(kAnnMinAvailable));
  } else if (pdb.minAvailable) {
    setting = std::to_string(pdb.minAvailable->value) + (pdb.minAvailable->isPercent ? "%" : "");
  } else {
    return std::nullopt;  // maxUnavailable: not a shape spotfit writes
  }
  const int64_t want = pdbMinAvailable(setting, jobPodsAtOnce(jobInfoFromKube(job)));
  const bool minOk = pdb.minAvailable && !pdb.minAvailable->isPercent && !pdb.minAvailable->isString &&
                     pdb.minAvailable->value == want;
  // An annotated PDB was written with unhealthyPodEvictionPolicy AlwaysAllow (PdbRequest::manifest); older
  // ones get it with the annotation.
  if (minOk && annotated) return std::nullopt;

  std::string body = "{";
  if (!annotated) {
    body += R"("metadata":{"annotations":{)" + kube::json::quoted(kAnnMinAvailable) + ":" +
            kube::json::quoted(setting) + "}},";
  }
  body += R"("spec":{"minAvailable":)" + std::to_string(want) + R"(,"unhealthyPodEvictionPolicy":)" +
          kube::json::quoted(kAlwaysAllow) + "}}";
  return body;
}

PdbReconciler::PdbReconciler(kube::KubeClient& client, const kube::Store<kube::Job>& jobs,
                             const kube::Store<kube::PodDisruptionBudget>& pdbs, Observer observer,
                             kube::Timeout timeout)
    : client_(client),
      jobs_(jobs),
      pdbs_(pdbs),
      observer_(std::move(observer)),
      timeout_(timeout),
      worker_([this] { reconcileOnce(); }, [this] { return pending() > 0; }) {}

PdbReconciler::~PdbReconciler() {
  stop();
}

void PdbReconciler::jobChanged(const std::string& jobKey) {
  {
    std::lock_guard lock(mu_);
    pending_.insert(jobKey);
  }
  worker_.kick();
}

void PdbReconciler::pdbChanged(const kube::PodDisruptionBudget& pdb) {
  if (!spotfitPdb(pdb)) return;
  if (const kube::OwnerReference* owner = owningJob(pdb)) jobChanged(pdb.meta.namespace_ + "/" + owner->name);
}

PdbReconciler::PassResult PdbReconciler::reconcileOnce() {
  std::set<std::string> work;
  {
    std::lock_guard lock(mu_);
    work.swap(pending_);
  }
  PassResult r;
  std::vector<std::string> retry;
  for (const auto& jobKey : work) {
    auto job = jobs_.get(jobKey);
    if (!job) continue;  // deleted: the garbage collector removes its PDB
    const std::string pdbKey = pdbKeyFor(*job);
    auto pdb = pdbs_.get(pdbKey);
    if (!pdb) continue;  // not created yet: its informer event queues the Job again
    auto patch = pdbReconcilePatch(*pdb, *job);
    if (!patch) continue;
    kube::WriteOptions o;
    o.timeout = timeout_;
    auto res = client_.patch(kube::resources::kPodDisruptionBudgets, pdb->meta.namespace_, pdb->meta.name,
                             kube::PatchType::Merge, *patch, o);
    Status s = res.ok() || kube::isNotFound(res.error()) ? Status{} : Status(res.error());
    if (observer_) observer_(pdbKey, s);
    if (s.ok()) {
      ++r.patched;
    } else {
      ++r.failed;
      retry.push_back(jobKey);
    }
  }
  if (!retry.empty()) {
    std::lock_guard lock(mu_);
    pending_.insert(retry.begin(), retry.end());
  }
  return r;
}

size_t PdbReconciler::pending() const {
  std::lock_guard lock(mu_);
  return pending_.size();
}

void PdbReconciler::start(std::chrono::milliseconds retry) {
  worker_.start(retry);
}

void PdbReconciler::stop() {
  worker_.stop();
}

void feedFrom(kube::Informer<kube::Job>& informer, PdbReconciler& reconciler) {
  kube::InformerHandlers<kube::Job> h;
  h.onAdd = [&reconciler](const kube::Job& j) { reconciler.jobChanged(j.meta.key()); };
  h.onUpdate = [&reconciler](const kube::Job& a, const kube::Job& b) {
    if (a.parallelism != b.parallelism || a.completions != b.completions || a.succeeded != b.succeeded ||
        a.suspend != b.suspend || a.finished() != b.finished() || a.meta.uid != b.meta.uid) {
      reconciler.jobChanged(b.meta.key());
    }
  };
  informer.addHandler(std::move(h));
}

void feedFrom(kube::Informer<kube::PodDisruptionBudget>& informer, PdbReconciler& reconciler) {
  kube::InformerHandlers<kube::PodDisruptionBudget> h;
  h.onAdd = [&reconciler](const kube::PodDisruptionBudget& p) { reconciler.pdbChanged(p); };
  h.onUpdate = [&reconciler](const kube::PodDisruptionBudget&, const kube::PodDisruptionBudget& p) {
    reconciler.pdbChanged(p);
  };
  informer.addHandler(std::move(h));
}

}  // namespace spotfit::webhook

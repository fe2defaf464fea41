#pragma once
// Which objects spotfit mutates, who their coordinators are and which workflow they belong to: pure
// decisions over an object's metadata and the `webhook.scope` config, shared by the admission path, the
// simulator (sim/mutation.cpp) and `spotfit mutate`.
//
//  - Batch only: a Pod is mutated when it is owned by a batch kind (matched by API group AND kind, so a
//    batch.volcano.sh Job is not a batch/v1 Job), carries a batch label (Spark's `spark-role`), or carries
//    a spotfit.io/ annotation (the user asked). Deployment/ReplicaSet/StatefulSet/DaemonSet pods and
//    unannotated bare pods are left alone. A batch/v1 Job is always batch.
//  - Coordinators (Spark driver, Ray head, Kubeflow master/launcher) stay on on-demand capacity unless
//    spotfit.io/capacity-type says otherwise; their workers keep spot.
//  - Workflow identity: the spotfit.io/workflow annotation, else the CronJob that created the Job (the
//    Job's own name becomes the run), else the batch owner, else the Job's name, else its generateName
//    prefix (a Job from generateName has no name at admission).

#include <optional>
#include <string>
#include <string_view>

#include "webhook/config.hpp"
#include "webhook/pod_template.hpp"

namespace spotfit::webhook {

// "batch/v1" -> "batch"; "v1" -> "" (the core group).
std::string_view apiGroup(std::string_view apiVersion);

// `ref` is one of cfg.scope.batchOwners ("group/Kind"; core kinds as "Kind").
bool isBatchOwner(const OwnerReference& ref, const WebhookConfig& cfg);

enum class PodScope {
  BatchOwned,     // owned by a batch kind (a Job, a Workflow, a RayCluster, ...)
  BatchLabelled,  // carries a batch pod label (spark-role)
  Annotated,      // not batch, but carries a spotfit.io/ annotation
  NotBatch,       // left alone
};
PodScope podScope(const ObjectMeta& pod, const WebhookConfig& cfg);
std::string_view podScopeName(PodScope s);  // batch-owner, batch-label, annotated, not-batch

// "spark-role=driver" when the template's labels mark a run's coordinator (cfg.scope.coordinators).
std::optional<std::string> coordinatorRole(const ObjectMeta& tmpl, const WebhookConfig& cfg);

struct WorkflowIdentity {
  std::string workflow;  // empty when nothing names it
  std::string run;       // set when a CronJob is the workflow: this Job (one run of it)
};

// A batch/v1 Job's default workflow (the spotfit.io/workflow annotation, when set, wins over this).
WorkflowIdentity defaultJobWorkflow(const ObjectMeta& job, const WebhookConfig& cfg);
// A Pod's default workflow. `cronJob` is the CronJob owning the pod's batch/v1 Job when known (Job index).
WorkflowIdentity defaultPodWorkflow(const ObjectMeta& pod, std::string_view cronJob, const WebhookConfig& cfg);

// "train-" -> "train": a generateName prefix as a workflow id.
std::string workflowFromGenerateName(std::string_view generateName);

}  // namespace spotfit::webhook

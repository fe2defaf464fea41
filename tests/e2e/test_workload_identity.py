"""Issue 13 items 3-5 against the real kube-apiserver and controller-manager, in an opted-in namespace with
spotfit's mutations in force: a StatefulSet's pod is left alone while a Job's pod is mutated; a Job a
CronJob owns (as `kubectl create job --from=cronjob/...` and the CronJob controller create them) and the
pods the Job controller makes get the CronJob's workflow with the Job as the run; a generateName Job over
a deny budget (the scaler's cost-ledger ConfigMap, written before spotfit starts) is refused once, at the
Job, so the Job controller never creates a pod to refuse."""

import json
import unittest

from e2e_common import WAIT, ClusterTestCase, kubeapi, unique, wait_for
import spotfitproc

SPENT_USD = 50.0
CONTAINER = {"name": "work", "image": "registry.invalid/e2e/work:1",
             "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}


def job_spec(parallelism=1):
    return {"parallelism": parallelism, "completions": parallelism,
            "template": {"spec": {"restartPolicy": "Never", "containers": [dict(CONTAINER)]}}}


def ledger_json(namespace, workflow, usd):
    """A cost ledger as scaler::CostLedger::toJson writes it: one closed workflow, nothing running."""
    return json.dumps({"version": 1, "workflows": [{"namespace": namespace, "workflow": workflow, "usd": usd}],
                       "namespaces": {namespace: usd}, "spotSavingsUsd": 0.0, "running": []}, separators=(",", ":"))


def annotations(obj):
    return obj["metadata"].get("annotations") or {}


def labels(obj):
    return obj["metadata"].get("labels") or {}


def template_annotations(job):
    return (job["spec"]["template"].get("metadata") or {}).get("annotations") or {}


class WorkloadIdentityTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.ns = unique("identity")
        cls.kube.create_namespace("spotfit")
        cls.kube.create_namespace("spotfit-system")
        cls.kube.create("/api/v1/namespaces/spotfit-system/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "spotfit-cost-ledger"},
            "data": {"ledger.json": ledger_json(cls.ns, "train", SPENT_USD)}})
        cls.spotfit = spotfitproc.Spotfit(cls.cluster, config_text="webhook:\n  ownNamespace: spotfit\n")
        cls.spotfit.start()
        cls.webhook_name = cls.spotfit.register_webhook()
        cls.kube.create_namespace(cls.ns, {"spotfit.io/enabled": "true"})
        cls.kube.wait_default_service_account(cls.ns, WAIT)
        probe = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": unique("probe")}, "spec": job_spec()}
        wait_for("the apiserver to call the new webhook", lambda: "spotfit.io/mutated" in template_annotations(
            cls.kube.create(f"/apis/batch/v1/namespaces/{cls.ns}/jobs", probe, dryRun="All")), WAIT)

    def pods_of(self, selector, count):
        return wait_for(f"{count} pod(s) for {selector}", lambda: (lambda p: p if len(p) == count else None)(
            self.kube.pods(self.ns, selector)), WAIT)

    def test_a_statefulset_pod_is_left_alone_while_a_jobs_pod_is_mutated(self):
        self.kube.create(f"/apis/apps/v1/namespaces/{self.ns}/statefulsets", {
            "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "postgres"},
            "spec": {"serviceName": "postgres", "replicas": 1, "selector": {"matchLabels": {"app": "postgres"}},
                     "template": {"metadata": {"labels": {"app": "postgres"}},
                                  "spec": {"containers": [dict(CONTAINER, name="postgres")]}}}})
        self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs",
                         {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "etl"}, "spec": job_spec()})
        postgres = self.pods_of("app=postgres", 1)[0]
        self.assertEqual(postgres["metadata"]["name"], "postgres-0")
        self.assertEqual(postgres["metadata"]["ownerReferences"][0]["kind"], "StatefulSet")
        self.assertNotIn("spotfit.io/mutated", annotations(postgres))
        # (the apiserver adds its own not-ready/unreachable tolerations; none of spotfit's)
        self.assertEqual([t for t in postgres["spec"].get("tolerations", []) if "spotfit" in t.get("key", "")], [])
        self.assertNotIn("spotfit.io/workflow", labels(postgres))
        self.assertNotIn("affinity", postgres["spec"])
        etl = self.pods_of("batch.kubernetes.io/job-name=etl", 1)[0]
        self.assertIn("tolerations", annotations(etl)["spotfit.io/mutated"].split(","))
        self.assertEqual(labels(etl)["spotfit.io/workflow"], "etl")

    def test_a_job_of_a_cronjob_gets_the_cronjobs_workflow_and_is_its_run(self):
        cron = self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/cronjobs", {
            "apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 3 * * *", "suspend": True, "jobTemplate": {"spec": job_spec(2)}}})
        # What `kubectl create job --from=cronjob/nightly` (and the CronJob controller) sends.
        run = "nightly-29437380"
        created = self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": run, "ownerReferences": [{
                "apiVersion": "batch/v1", "kind": "CronJob", "name": "nightly", "uid": cron["metadata"]["uid"],
                "controller": True}]},
            "spec": job_spec(2)})
        template = created["spec"]["template"]["metadata"]
        self.assertEqual(template["labels"]["spotfit.io/workflow"], "nightly")
        self.assertEqual(template["annotations"]["spotfit.io/workflow"], "nightly")
        self.assertEqual(template["labels"]["spotfit.io/run"], run)
        for pod in self.pods_of(f"batch.kubernetes.io/job-name={run}", 2):
            self.assertEqual(labels(pod)["spotfit.io/workflow"], "nightly", pod["metadata"]["name"])
            self.assertEqual(labels(pod)["spotfit.io/run"], run)

    def test_a_generate_name_job_over_a_deny_budget_is_refused_once_at_the_job(self):
        deny = {"spotfit.io/budget": "$40", "spotfit.io/budget-action": "deny"}
        before_job = self.spotfit.metric("spotfit_webhook_admissions_total", kind="Job", result="denied")
        before_pod = self.spotfit.metric("spotfit_webhook_admissions_total", kind="Pod", result="denied")
        with self.assertRaises(kubeapi.ApiError) as caught:
            self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs", {
                "apiVersion": "batch/v1", "kind": "Job",
                "metadata": {"generateName": "train-", "annotations": deny}, "spec": job_spec(2)})
        message = caught.exception.message
        self.assertIn(f'admission webhook "{self.webhook_name}" denied the request', message)
        self.assertIn("workflow train has spent $50.00 of its $40.00 budget", message)
        self.assertEqual(caught.exception.code, 403)
        self.assertEqual([j["metadata"]["name"] for j in self.kube.get(f"/apis/batch/v1/namespaces/{self.ns}/jobs")[
            "items"] if j["metadata"]["name"].startswith("train-")], [])
        self.assertEqual(self.spotfit.metric("spotfit_webhook_admissions_total", kind="Job", result="denied"),
                         before_job + 1)
        self.assertEqual(self.spotfit.metric("spotfit_webhook_admissions_total", kind="Pod", result="denied"),
                         before_pod)
        # Within budget (the same workflow's spend is below $100) the same Job is admitted and runs.
        created = self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"generateName": "train-", "annotations": dict(deny, **{"spotfit.io/budget": "100"})},
            "spec": job_spec(1)})
        self.assertEqual(created["spec"]["template"]["metadata"]["labels"]["spotfit.io/workflow"], "train")
        self.pods_of(f"batch.kubernetes.io/job-name={created['metadata']['name']}", 1)


if __name__ == "__main__":
    unittest.main()

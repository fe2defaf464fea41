"""Scenario 1: the real kube-apiserver calls spotfit's `POST /mutate` (`spotfit serve` with the webhook
plugin, certificates from `spotfit certs`, manifests/webhook's MutatingWebhookConfiguration pointed at it
by URL with its caBundle). Asserts on the stored Job, the pods the Job controller creates, the PDB, a
namespace without the opt-in label, a server-side dry run and an invalid annotation, VPA-sized requests
(a minimal VerticalPodAutoscaler CRD installed before spotfit starts, so its informer lists it) and
scenario 6, a `deny` budget refused at admission from the scaler's cost-ledger ConfigMap (written before
spotfit starts: the webhook re-reads it every 30 s)."""

import json
import unittest

from e2e_common import WAIT, ClusterTestCase, kubeapi, unique, wait_for
import spotfitproc

CHECKPOINT = "/bin/save-checkpoint --to s3://bucket/ckpt"


def job(name, annotations=None, parallelism=2):
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"parallelism": parallelism, "completions": parallelism,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [
                         {"name": "work", "image": "registry.invalid/e2e/work:1",
                          "resources": {"requests": {"cpu": "250m", "memory": "256Mi"}}}]}}}}


# The part of the autoscaling.k8s.io/v1 VerticalPodAutoscaler CRD spotfit reads; no status subresource,
# so the test can write a recommendation as the VPA recommender would.
VPA_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    # *.k8s.io groups need this annotation; the upstream VPA CRD carries the same one.
    "metadata": {"name": "verticalpodautoscalers.autoscaling.k8s.io",
                 "annotations": {"api-approved.kubernetes.io": "https://github.com/kubernetes/kubernetes/pull/63797"}},
    "spec": {"group": "autoscaling.k8s.io", "scope": "Namespaced",
             "names": {"plural": "verticalpodautoscalers", "singular": "verticalpodautoscaler",
                       "kind": "VerticalPodAutoscaler", "shortNames": ["vpa"]},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {
                 "type": "object", "properties": {
                     "spec": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                     "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}}}}}]}}

LEDGER_SPEND_USD = 42.5  # what the ledger says the over-budget workflow has spent


def ledger_json(namespace, workflow, usd):
    """A cost ledger as scaler::CostLedger::toJson writes it: one closed workflow, nothing running."""
    return json.dumps({"version": 1, "workflows": [{"namespace": namespace, "workflow": workflow, "usd": usd}],
                       "namespaces": {namespace: usd}, "spotSavingsUsd": 0.0, "running": []},
                      separators=(",", ":"))


def bare_pod(name, annotations):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": annotations},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "work", "image": "registry.invalid/e2e/work:1",
                 "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}


def mutated(obj):
    """spotfit.io/mutated of a Job's pod template (where the webhook records a Job's changes) or a Pod."""
    meta = obj["spec"]["template"].get("metadata", {}) if obj["kind"] == "Job" else obj["metadata"]
    return meta.get("annotations", {}).get("spotfit.io/mutated", "")


def histogram(metrics, family, name):
    """(count, sum) of one webhook's series of a Prometheus histogram, summed over its other labels."""
    count = total = 0.0
    for line in metrics.splitlines():
        if f'name="{name}"' not in line:
            continue
        if line.startswith(family + "_count{"):
            count += float(line.rsplit(" ", 1)[1])
        elif line.startswith(family + "_sum{"):
            total += float(line.rsplit(" ", 1)[1])
    return count, total


class WebhookTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kube.create_namespace("spotfit")
        cls.opted_in = unique("team")
        # Before spotfit starts: the VPA CRD (so the webhook's VPA informer finds the resource) and the
        # scaler's cost ledger in its default namespace (the webhook reads it at start, then every 30 s).
        cls.kube.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", VPA_CRD)

        def vpa_served():
            crd = cls.kube.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                               "verticalpodautoscalers.autoscaling.k8s.io")
            return any(c["type"] == "Established" and c["status"] == "True"
                       for c in (crd.get("status") or {}).get("conditions") or []) and cls.kube.exists(
                "/apis/autoscaling.k8s.io/v1/verticalpodautoscalers")

        wait_for("the VerticalPodAutoscaler CRD to be served", vpa_served, WAIT)
        cls.kube.create_namespace("spotfit-system")
        cls.kube.create("/api/v1/namespaces/spotfit-system/configmaps", {
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "spotfit-cost-ledger"},
            "data": {"ledger.json": ledger_json(cls.opted_in, "nightly", LEDGER_SPEND_USD)}})
        cls.spotfit = spotfitproc.Spotfit(cls.cluster, config_text="webhook:\n  ownNamespace: spotfit\n")
        cls.spotfit.start()
        cls.webhook_name = cls.spotfit.register_webhook()
        cls.kube.create_ready_node(unique("node"), cpu="16", memory="64Gi",
                                   labels={"spotfit.io/capacity-type": "spot"},
                                   taints=[{"key": "spotfit.io/capacity-type", "value": "spot",
                                            "effect": "NoSchedule"}])
        cls.kube.create_namespace(cls.opted_in, {"spotfit.io/enabled": "true"})
        cls.plain = unique("plain")
        cls.kube.create_namespace(cls.plain)
        cls.kube.wait_default_service_account(cls.opted_in, WAIT)
        cls.kube.wait_default_service_account(cls.plain, WAIT)
        # The apiserver may not use a just-created webhook configuration for a moment: wait until a
        # server-side dry run comes back mutated.
        wait_for("the apiserver to call the new webhook", lambda: mutated(cls.kube.create(
            f"/apis/batch/v1/namespaces/{cls.opted_in}/jobs", job(unique("probe")), dryRun="All")), WAIT)

    def assert_mutated_pod_spec(self, spec, where):
        tolerations = spec.get("tolerations", [])
        self.assertIn({"key": "spotfit.io/capacity-type", "operator": "Equal", "value": "spot",
                       "effect": "NoSchedule"}, tolerations, where)
        preferred = spec["affinity"]["nodeAffinity"]["preferredDuringSchedulingIgnoredDuringExecution"]
        keys = [(t["weight"], e["key"], e["operator"], e.get("values"))
                for t in preferred for e in t["preference"]["matchExpressions"]]
        self.assertIn((100, "spotfit.io/capacity-type", "In", ["spot"]), keys, where)
        container = spec["containers"][0]
        self.assertEqual(container["lifecycle"]["preStop"]["exec"]["command"], ["/bin/sh", "-c", CHECKPOINT], where)
        self.assertGreaterEqual(spec["terminationGracePeriodSeconds"], 120, where)

    def test_job_and_its_pods_are_mutated_and_get_a_pdb_owned_by_the_job(self):
        created = self.kube.create(f"/apis/batch/v1/namespaces/{self.opted_in}/jobs",
                                   job("train", {"spotfit.io/checkpoint": CHECKPOINT}))
        self.assertEqual(set(mutated(created).split(",")),
                         {"annotations", "capacity-affinity", "grace-period", "prestop", "tolerations", "workflow"})
        template = created["spec"]["template"]
        self.assert_mutated_pod_spec(template["spec"], "job template")
        self.assertEqual(template["metadata"]["labels"]["spotfit.io/workflow"], "train")

        pods = wait_for("the Job's two pods", lambda: (lambda p: p if len(p) == 2 else None)(
            self.kube.pods(self.opted_in, "batch.kubernetes.io/job-name=train")), WAIT)
        for pod in pods:
            pod["kind"] = "Pod"
            self.assertEqual(mutated(pod), mutated(created))
            self.assert_mutated_pod_spec(pod["spec"], pod["metadata"]["name"])
            self.assertEqual(pod["metadata"]["labels"]["spotfit.io/workflow"], "train")
        # The pods tolerate the spot taint, so the only (tainted, spot) node takes them.
        wait_for("the pods to be bound to the tainted spot node",
                 lambda: all(p["spec"].get("nodeName") for p in
                             self.kube.pods(self.opted_in, "batch.kubernetes.io/job-name=train")), WAIT)

        pdb = wait_for("the Job's PodDisruptionBudget", lambda: self.find_pdb(self.opted_in, "train"), WAIT)
        owners = pdb["metadata"]["ownerReferences"]
        self.assertEqual([(o["kind"], o["name"], o["uid"]) for o in owners],
                         [("Job", "train", created["metadata"]["uid"])])
        # 50% of parallelism 2 as an integer: the disruption controller refuses a percentage for Job pods.
        self.assertEqual(pdb["spec"]["minAvailable"], 1)
        self.assertEqual(pdb["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow")
        self.assertEqual(pdb["metadata"]["annotations"]["spotfit.io/min-available"], "50%")
        self.assertEqual(pdb["spec"]["selector"]["matchLabels"]["batch.kubernetes.io/controller-uid"]
                         if "batch.kubernetes.io/controller-uid" in pdb["spec"]["selector"].get("matchLabels", {})
                         else pdb["spec"]["selector"]["matchLabels"]["controller-uid"], created["metadata"]["uid"])

    def find_pdb(self, namespace, job_name):
        for pdb in self.kube.get(f"/apis/policy/v1/namespaces/{namespace}/poddisruptionbudgets")["items"]:
            if any(o["kind"] == "Job" and o["name"] == job_name for o in pdb["metadata"].get("ownerReferences", [])):
                return pdb
        return None

    def test_namespace_without_the_label_is_untouched(self):
        created = self.kube.create(f"/apis/batch/v1/namespaces/{self.plain}/jobs",
                                   job("train", {"spotfit.io/checkpoint": CHECKPOINT}))
        self.assertEqual(mutated(created), "")
        spec = created["spec"]["template"]["spec"]
        self.assertNotIn("tolerations", spec)
        self.assertNotIn("affinity", spec)
        self.assertNotIn("lifecycle", spec["containers"][0])
        pods = wait_for("the Job's two pods", lambda: (lambda p: p if len(p) == 2 else None)(
            self.kube.pods(self.plain, "batch.kubernetes.io/job-name=train")), WAIT)
        for pod in pods:
            self.assertNotIn("spotfit.io/mutated", pod["metadata"].get("annotations", {}))
            self.assertNotIn("spotfit.io/workflow", pod["metadata"].get("labels", {}))

    def test_server_side_dry_run_is_mutated_without_side_effects(self):
        dry = self.kube.create(f"/apis/batch/v1/namespaces/{self.opted_in}/jobs", job("dry-run-job"), dryRun="All")
        self.assertIn("tolerations", mutated(dry))
        self.assertFalse(self.kube.exists(f"/apis/batch/v1/namespaces/{self.opted_in}/jobs/dry-run-job"))
        # A real Job admitted after it gets its PDB; by then a PDB for the dry run would exist too.
        self.kube.create(f"/apis/batch/v1/namespaces/{self.opted_in}/jobs", job("after-dry-run"))
        wait_for("the real Job's PodDisruptionBudget", lambda: self.find_pdb(self.opted_in, "after-dry-run"), WAIT)
        names = [p["metadata"]["name"] for p in
                 self.kube.get(f"/apis/policy/v1/namespaces/{self.opted_in}/poddisruptionbudgets")["items"]]
        self.assertFalse([n for n in names if n.startswith("dry-run-job")], names)

    def test_invalid_annotation_is_refused_with_the_message(self):
        with self.assertRaises(kubeapi.ApiError) as caught:
            self.kube.create(f"/apis/batch/v1/namespaces/{self.opted_in}/jobs",
                             job("bad", {"spotfit.io/capacity-type": "cheapest"}))
        message = caught.exception.message
        self.assertIn(f'admission webhook "{self.webhook_name}" denied the request', message)
        self.assertIn("spotfit.io/capacity-type", message)
        self.assertIn("cheapest", message)
        self.assertFalse(self.kube.exists(f"/apis/batch/v1/namespaces/{self.opted_in}/jobs/bad"))

    def test_vpa_recommendation_sizes_the_job_and_its_pods(self):
        self.kube.create(f"/apis/autoscaling.k8s.io/v1/namespaces/{self.opted_in}/verticalpodautoscalers", {
            "apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
            "metadata": {"name": "sized"},
            "spec": {"targetRef": {"apiVersion": "batch/v1", "kind": "Job", "name": "sized"},
                     "updatePolicy": {"updateMode": "Initial"}},
            "status": {"recommendation": {"containerRecommendations": [
                {"containerName": "work", "target": {"cpu": "1500m", "memory": "3Gi"},
                 "lowerBound": {"cpu": "1", "memory": "2Gi"}, "upperBound": {"cpu": "2", "memory": "4Gi"}}]}}})
        recommended = {"cpu": "1500m", "memory": "3Gi"}

        def requests(obj):
            return obj["spec"]["template"]["spec"]["containers"][0]["resources"].get("requests")

        # The webhook's informer sees the VPA a moment after it is stored: probe with dry runs.
        wait_for("the webhook to size a dry-run Job from the VPA", lambda: requests(self.kube.create(
            f"/apis/batch/v1/namespaces/{self.opted_in}/jobs", job("sized"), dryRun="All")) == recommended, WAIT)
        created = self.kube.create(f"/apis/batch/v1/namespaces/{self.opted_in}/jobs", job("sized"))
        self.assertEqual(requests(created), recommended)
        self.assertIn("requests", mutated(created).split(","))
        pods = wait_for("the Job's two pods", lambda: (lambda p: p if len(p) == 2 else None)(
            self.kube.pods(self.opted_in, "batch.kubernetes.io/job-name=sized")), WAIT)
        for pod in pods:
            self.assertEqual(pod["spec"]["containers"][0]["resources"]["requests"], recommended,
                             pod["metadata"]["name"])
        # A Job the VPA does not target keeps what it asked for.
        other = self.kube.create(f"/apis/batch/v1/namespaces/{self.opted_in}/jobs", job("not-sized"))
        self.assertEqual(requests(other), {"cpu": "250m", "memory": "256Mi"})

    def test_workflow_over_a_deny_budget_gets_its_next_pod_refused(self):
        over = {"spotfit.io/workflow": "nightly", "spotfit.io/budget": "10", "spotfit.io/budget-action": "deny"}
        with self.assertRaises(kubeapi.ApiError) as caught:
            self.kube.create(f"/api/v1/namespaces/{self.opted_in}/pods", bare_pod("nightly-next", over))
        message = caught.exception.message
        self.assertIn(f'admission webhook "{self.webhook_name}" denied the request', message)
        self.assertIn("workflow nightly has spent $42.50 of its $10.00 budget", message)
        self.assertFalse(self.kube.exists(f"/api/v1/namespaces/{self.opted_in}/pods/nightly-next"))
        # The same workflow with a budget above its spend, and another workflow, are admitted.
        self.kube.create(f"/api/v1/namespaces/{self.opted_in}/pods",
                         bare_pod("nightly-richer", dict(over, **{"spotfit.io/budget": "100"})))
        self.kube.create(f"/api/v1/namespaces/{self.opted_in}/pods",
                         bare_pod("weekly-next", dict(over, **{"spotfit.io/workflow": "weekly"})))
        self.assertIn("spotfit.io/mutated", self.kube.get(
            f"/api/v1/namespaces/{self.opted_in}/pods/weekly-next")["metadata"]["annotations"])

    def test_zz_apiserver_observed_admission_latency(self):
        """Runs last (name order): reports what the apiserver measured for every call above."""
        count, total = histogram(self.cluster.metrics(), "apiserver_admission_webhook_admission_duration_seconds",
                                 self.webhook_name)
        self.assertGreater(count, 0)
        print(f"\nspotfit webhook as seen by kube-apiserver: {int(count)} calls, mean "
              f"{1000 * total / count:.2f} ms (apiserver_admission_webhook_admission_duration_seconds)")


if __name__ == "__main__":
    unittest.main()

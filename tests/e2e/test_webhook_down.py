"""manifests/webhook against a real kube-apiserver while spotfit is unreachable (scenario 5, admission
side): the MutatingWebhookConfiguration is accepted with a URL client config and spotfit's caBundle, the
apiserver really calls it for opted-in namespaces only, and `failurePolicy: Ignore` lets Jobs and their
pods be created unchanged. The webhook's RBAC grants what docs/webhook.md says it needs."""

import base64
import json
import os
import re
import unittest

from e2e_common import SOURCE_DIR, WAIT, ClusterTestCase, controlplane, unique, wait_for
import spotfitproc

WEBHOOK_MANIFESTS = os.path.join(SOURCE_DIR, "manifests", "webhook")


def job(name, parallelism=2):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"parallelism": parallelism, "completions": parallelism,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [
                         {"name": "work", "image": "registry.invalid/e2e/work:1",
                          "resources": {"requests": {"cpu": "100m"}}}]}}}}


def webhook_calls(metrics, name):
    """The apiserver's counts for one webhook: requests by HTTP code, and fail-open admissions."""
    calls = {}
    for line in metrics.splitlines():
        if f'name="{name}"' not in line:
            continue
        if line.startswith("apiserver_admission_webhook_request_total{"):
            key = re.search(r'code="([^"]*)"', line).group(1)
        elif line.startswith("apiserver_admission_webhook_fail_open_count{"):
            key = "fail_open"
        else:
            continue
        calls[key] = calls.get(key, 0) + float(line.rsplit(" ", 1)[1])
    return calls


class WebhookWithSpotfitDownTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        rendered = cls.cluster.kubectl("create", "--dry-run=client", "-o", "json", "-f",
                                       os.path.join(WEBHOOK_MANIFESTS, "mutatingwebhookconfiguration.yaml")).stdout
        manifest = json.loads(rendered)
        cls.webhook_name = manifest["webhooks"][0]["name"]
        # spotfit's own namespace, as the manifests name it (the Service the webhook points at lives there).
        cls.own_namespace = manifest["webhooks"][0]["clientConfig"]["service"]["namespace"]
        cls.kube.create_namespace(cls.own_namespace)
        dead_url = f"https://127.0.0.1:{controlplane._free_port(cls.cluster.ports)}"
        with open(os.path.join(cls.cluster.pki, "ca.crt"), "rb") as f:
            ca_bundle = base64.b64encode(f.read()).decode()
        config = spotfitproc.point_webhook_configuration(manifest, dead_url, ca_bundle)
        cls.kube.create("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", config)
        cls.kube.create_ready_node(unique("node"), cpu="8", memory="16Gi")

    def run_job(self, namespace_labels):
        ns = unique("down")
        self.kube.create_namespace(ns, namespace_labels)
        self.kube.wait_default_service_account(ns, WAIT)
        before = webhook_calls(self.cluster.metrics(), self.webhook_name)
        created = self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", job("work"))
        pods = wait_for("the Job's two pods", lambda: (lambda p: p if len(p) == 2 else None)(
            self.kube.pods(ns, "batch.kubernetes.io/job-name=work")), WAIT)
        after = webhook_calls(self.cluster.metrics(), self.webhook_name)
        calls = {code: after.get(code, 0) - before.get(code, 0) for code in after}
        return created, pods, {c: n for c, n in calls.items() if n}

    def test_opted_in_namespace_calls_the_webhook_and_failure_policy_ignore_admits(self):
        created, pods, calls = self.run_job({"spotfit.io/enabled": "true"})
        # One Job and two Pods were sent to the webhook; every call failed (the apiserver counts a refused
        # connection as 503) and was admitted anyway because of failurePolicy: Ignore.
        self.assertEqual(calls, {"503": 3.0, "fail_open": 3.0})
        self.assertNotIn("spotfit.io/mutated", created["metadata"].get("annotations", {}))
        for pod in pods:
            self.assertEqual([t for t in pod["spec"].get("tolerations", []) if "spot" in t.get("key", "")], [])
            self.assertNotIn("spotfit.io/mutated", pod["metadata"].get("annotations", {}))

    def test_namespace_without_the_label_is_never_sent_to_the_webhook(self):
        _, pods, calls = self.run_job({})
        self.assertEqual(len(pods), 2)
        self.assertEqual(calls, {})

    def test_webhook_rbac_grants_what_the_webhook_reads_and_writes(self):
        self.cluster.kubectl("apply", "-f", os.path.join(WEBHOOK_MANIFESTS, "rbac.yaml"))
        self.cluster.kubectl("apply", "-f", os.path.join(WEBHOOK_MANIFESTS, "service.yaml"))
        user = f"system:serviceaccount:{self.own_namespace}:spotfit"

        def allowed(verb, group, resource, namespace="team-a"):
            review = self.kube.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
                "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {"user": user, "groups": ["system:serviceaccounts", f"system:serviceaccounts:{self.own_namespace}"],
                         "resourceAttributes": {"namespace": namespace, "verb": verb, "group": group,
                                                "resource": resource}}})
            return review["status"]["allowed"]

        self.assertTrue(allowed("create", "policy", "poddisruptionbudgets"))
        self.assertTrue(allowed("patch", "policy", "poddisruptionbudgets"))  # the reconciler (parallelism)
        self.assertTrue(allowed("watch", "policy", "poddisruptionbudgets"))
        self.assertTrue(allowed("watch", "", "namespaces", ""))
        self.assertTrue(allowed("list", "autoscaling.k8s.io", "verticalpodautoscalers"))
        self.assertTrue(allowed("get", "batch", "jobs"))
        self.assertTrue(allowed("create", "", "events"))
        self.assertFalse(allowed("delete", "policy", "poddisruptionbudgets"))
        self.assertFalse(allowed("create", "", "pods"))


if __name__ == "__main__":
    unittest.main()

"""The project's manifests are accepted by a real kube-apiserver: the NodePool CRD (schema validation,
status subresource, printer columns, cluster scope) and the second scheduler's RBAC and Deployment."""

import base64
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from e2e_common import SOURCE_DIR, WAIT, ClusterTestCase, kubeapi, unique, wait_for

MANIFESTS = os.path.join(SOURCE_DIR, "manifests")


def node_pool(name, capacity_types=("spot", "on-demand")):
    return {
        "apiVersion": "spotfit.io/v1alpha1", "kind": "SpotfitPool",
        "metadata": {"name": name},
        "spec": {
            "capacityTypes": list(capacity_types),
            "instanceTypes": [{"name": "m5.large", "cpu": "2", "memory": "8Gi", "onDemandPrice": 0.096,
                               "spotPrice": 0.035}],
            "minNodes": 0, "maxNodes": 10,
            "provider": {"type": "kwok"}}}


class ManifestsTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster.kubectl("apply", "-k", os.path.join(MANIFESTS, "crd"))

        def established():
            crd = cls.kube.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/spotfitpools.spotfit.io")
            return any(c["type"] == "Established" and c["status"] == "True"
                       for c in (crd.get("status") or {}).get("conditions") or [])

        wait_for("the NodePool CRD to be Established", established, WAIT)
        # Discovery for a just-established group can lag a moment behind the condition.
        wait_for("spotfitpools to be served", lambda: cls.kube.get("/apis/spotfit.io/v1alpha1/spotfitpools") is not None,
                 WAIT)

    def test_valid_node_pool_is_stored_cluster_scoped(self):
        name = unique("pool")
        created = self.kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", node_pool(name))
        self.assertNotIn("namespace", created["metadata"])
        stored = self.kube.get(f"/apis/spotfit.io/v1alpha1/spotfitpools/{name}")
        self.assertEqual(stored["spec"]["instanceTypes"][0]["name"], "m5.large")

    def test_schema_refuses_unknown_capacity_type_and_missing_provider(self):
        bad = node_pool(unique("bad"), capacity_types=("cheap",))
        with self.assertRaises(kubeapi.ApiError) as caught:
            self.kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", bad)
        self.assertEqual(caught.exception.code, 422)
        self.assertIn("spec.capacityTypes[0]", caught.exception.message)
        self.assertIn("Unsupported value", caught.exception.message)

        missing = node_pool(unique("bad"))
        del missing["spec"]["provider"]
        with self.assertRaises(kubeapi.ApiError) as caught:
            self.kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", missing)
        self.assertIn("spec.provider: Required value", caught.exception.message)

    def test_status_is_a_subresource(self):
        name = unique("pool")
        path = f"/apis/spotfit.io/v1alpha1/spotfitpools/{name}"
        self.kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", node_pool(name))
        # Status written through the main resource is dropped...
        self.kube.merge_patch(path, {"status": {"desiredNodes": 7}})
        self.assertNotIn("desiredNodes", self.kube.get(path).get("status", {}))
        # ...and accepted through /status, which leaves the spec alone.
        self.kube.merge_patch(path + "/status", {"status": {"desiredNodes": 3, "nodes": {"total": 2, "ready": 1},
                                                            "conditions": [{"type": "Valid", "status": "True"}]}})
        stored = self.kube.get(path)
        self.assertEqual(stored["status"]["desiredNodes"], 3)
        self.assertEqual(stored["spec"]["maxNodes"], 10)

    def test_printer_columns_show_capacity_provider_and_status(self):
        name = unique("pool")
        path = f"/apis/spotfit.io/v1alpha1/spotfitpools/{name}"
        self.kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", node_pool(name))
        self.kube.merge_patch(path + "/status", {"status": {"desiredNodes": 4, "nodes": {"total": 3, "ready": 2},
                                                            "conditions": [{"type": "Valid", "status": "True"}]}})
        out = self.cluster.kubectl("get", "spotfitpools", name).stdout.splitlines()
        header, row = out[0].split(), out[1].split()
        self.assertEqual(header, ["NAME", "CAPACITY", "PROVIDER", "NODES", "READY", "DESIRED", "VALID", "AGE"])
        self.assertEqual(row[:7], [name, '["spot","on-demand"]', "kwok", "3", "2", "4", "True"])
        # The short name and the category resolve too.
        self.assertIn(name, self.cluster.kubectl("get", "sfpool", "-o", "name").stdout)
        self.assertIn(name, self.cluster.kubectl("get", "spotfit", "-o", "name").stdout)

    def test_second_scheduler_rbac_lets_its_service_account_schedule(self):
        if not self.kube.exists("/api/v1/namespaces/spotfit-system"):
            self.kube.create_namespace("spotfit-system")
        self.cluster.kubectl("apply", "-f",
                             os.path.join(MANIFESTS, "scheduler", "second-scheduler", "rbac.yaml"))
        user = "system:serviceaccount:spotfit-system:spotfit-scheduler"

        def allowed(namespace, verb, group, resource, name="", subresource=""):
            review = self.kube.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
                "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
                "spec": {"user": user, "groups": ["system:serviceaccounts", "system:serviceaccounts:spotfit-system"],
                         "resourceAttributes": {"namespace": namespace, "verb": verb, "group": group,
                                                "resource": resource, "name": name,
                                                "subresource": subresource}}})
            return review["status"]["allowed"]

        self.assertTrue(allowed("default", "create", "", "pods", subresource="binding"))
        self.assertTrue(allowed("", "list", "", "nodes"))
        self.assertTrue(allowed("spotfit-system", "update", "coordination.k8s.io", "leases", "spotfit-scheduler"))
        self.assertTrue(allowed("kube-system", "get", "", "configmaps", "extension-apiserver-authentication"))
        # Binding is what it needs, not everything: it may not delete nodes.
        self.assertFalse(allowed("", "delete", "", "nodes"))

    def test_second_scheduler_kustomization_passes_server_side_dry_run(self):
        if not self.kube.exists("/api/v1/namespaces/spotfit-system"):
            self.kube.create_namespace("spotfit-system")
        work = tempfile.mkdtemp(prefix="spotfit-e2e-manifests-")
        self.addCleanup(shutil.rmtree, work, True)
        source = os.path.join(MANIFESTS, "scheduler")
        before = sorted(os.path.join(d, f) for d, _, files in os.walk(source) for f in files)
        scheduler = os.path.join(work, "scheduler")
        subprocess.run(["bash", os.path.join(source, "render.sh"), "--ca", os.path.join(self.cluster.pki, "ca.crt"),
                        "--out", scheduler, "--service-ip", "10.0.0.42"],
                       check=True, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        # render.sh writes only under --out, nothing into the source tree.
        self.assertEqual(sorted(os.path.join(d, f) for d, _, files in os.walk(source) for f in files), before)
        self.assertTrue(os.path.exists(os.path.join(scheduler, "default-profile", "scheduler-config.yaml")))
        refused = subprocess.run(["bash", os.path.join(source, "render.sh"), "--ca",
                                  os.path.join(self.cluster.pki, "ca.crt"), "--out", os.path.join(source, "out")],
                                 stdin=subprocess.DEVNULL, capture_output=True, text=True)
        self.assertEqual(refused.returncode, 2, refused.stderr)
        self.assertFalse(os.path.exists(os.path.join(source, "out")))
        result = self.cluster.kubectl("apply", "--dry-run=server", "-k",
                                      os.path.join(scheduler, "second-scheduler"))
        self.assertIn("deployment.apps/spotfit-scheduler created (server dry run)", result.stdout)
        self.assertIn("configmap/spotfit-scheduler-config-", result.stdout)
        # Dry run: nothing was persisted.
        self.assertFalse(self.kube.exists("/apis/apps/v1/namespaces/spotfit-system/deployments/spotfit-scheduler"))
        # The rendered configuration carries our CA for the extender's TLS.
        with open(os.path.join(scheduler, "second-scheduler", "scheduler-config.rendered.yaml")) as f:
            rendered = f.read()
        with open(os.path.join(self.cluster.pki, "ca.crt"), "rb") as f:
            self.assertIn(base64.b64encode(f.read()).decode(), rendered)


if __name__ == "__main__":
    unittest.main()

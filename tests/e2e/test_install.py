"""Install (part of issue 14): every object the Helm chart and the kustomize base ship is accepted by the real
kube-apiserver as shipped (schemas, the webhook's service reference, the CRD becoming Established), the
chart's accounts hold the same least-privilege rights as the kustomize base's (RBAC asked through
SubjectAccessReviews), and uninstalling removes them again. Running spotfit itself from the shipped objects
(ServiceAccount token, Service routing, audit log) is test_install_run.py.

The cert-manager objects (tls.mode certManager, the chart's default) and the Prometheus Operator objects
(monitoring.*) need CRDs this control plane does not have: the chart is applied with tls.mode selfSigned and
monitoring off, and the kustomize base is checked with a server-side dry run.
"""

import json
import os
import subprocess
import unittest

from e2e_common import SOURCE_DIR, WAIT, ClusterTestCase, wait_for

NAMESPACE = "spotfit-system"


def helm():
    r = subprocess.run(["bash", os.path.join(SOURCE_DIR, "scripts", "build-helm.sh")], capture_output=True,
                       text=True, timeout=3600)
    if r.returncode != 0:
        raise AssertionError(f"scripts/build-helm.sh failed: {r.stderr}")
    return r.stdout.strip().splitlines()[-1]


def render_chart(*sets):
    args = [helm(), "template", "spotfit", os.path.join(SOURCE_DIR, "charts", "spotfit"), "--namespace", NAMESPACE,
            "--include-crds", "--set", "tls.mode=selfSigned"]
    for s in sets:
        args += ["--set", s]
    r = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise AssertionError(f"helm template failed: {r.stderr}")
    return r.stdout


class Install(ClusterTestCase):
    def kubectl_json(self, *args):
        return json.loads(self.cluster.kubectl(*args, "-o", "json").stdout)

    def allowed(self, account, verb, group, resource, namespace="", name="", subresource=""):
        review = self.kube.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": f"system:serviceaccount:{NAMESPACE}:{account}",
                     "groups": ["system:serviceaccounts", f"system:serviceaccounts:{NAMESPACE}"],
                     "resourceAttributes": {"namespace": namespace, "verb": verb, "group": group,
                                            "resource": resource, "name": name, "subresource": subresource}}})
        return review["status"]["allowed"]

    def test_chart_objects_are_accepted_as_shipped_and_uninstall_removes_them(self):
        print("skipped: cert-manager Issuer/Certificate (no cert-manager CRDs; tls.mode=selfSigned instead) and "
              "ServiceMonitor/PrometheusRule (no Prometheus Operator CRDs)")
        rendered = render_chart()
        self.kube.create_namespace(NAMESPACE)
        applied = self.cluster.kubectl("apply", "--server-side", "--field-manager=helm", "-f", "-",
                                       input_text=rendered).stdout
        # A failed assertion must not leave the objects behind for the kustomize dry run (it expects "created").
        self.addCleanup(self.cluster.kubectl, "delete", "--ignore-not-found", "--wait=true", "-f", "-", check=False,
                        input_text=rendered)
        for line in ("customresourcedefinition.apiextensions.k8s.io/spotfitpools.spotfit.io serverside-applied",
                     "mutatingwebhookconfiguration.admissionregistration.k8s.io/spotfit serverside-applied",
                     "deployment.apps/spotfit serverside-applied",
                     "poddisruptionbudget.policy/spotfit serverside-applied",
                     "resourcequota/spotfit-critical-pods serverside-applied",
                     "secret/spotfit-tls serverside-applied",
                     "clusterrole.rbac.authorization.k8s.io/spotfit-scaler serverside-applied",
                     "deployment.apps/spotfit-scaler serverside-applied",
                     "serviceaccount/spotfit-scaler serverside-applied",
                     "configmap/spotfit-cost-ledger serverside-applied",
                     "networkpolicy.networking.k8s.io/spotfit serverside-applied",
                     "networkpolicy.networking.k8s.io/spotfit-scaler serverside-applied",
                     "service/spotfit serverside-applied"):
            self.assertIn(line, applied)

        wait_for("the NodePool CRD to be Established", lambda: any(
            c["type"] == "Established" and c["status"] == "True"
            for c in self.kube.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/spotfitpools.spotfit.io")
            .get("status", {}).get("conditions", [])), WAIT)

        webhook = self.kube.get("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/spotfit")
        client = webhook["webhooks"][0]["clientConfig"]
        self.assertEqual(client["service"], {"name": "spotfit", "namespace": NAMESPACE, "path": "/mutate", "port": 443})
        secret = self.kube.get(f"/api/v1/namespaces/{NAMESPACE}/secrets/spotfit-tls")
        self.assertEqual(client["caBundle"], secret["data"]["ca.crt"])
        for name, account in (("spotfit", "spotfit"), ("spotfit-scaler", "spotfit-scaler")):
            pod = self.kube.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}")["spec"]["template"]["spec"]
            volumes = {v["name"]: v for v in pod["volumes"]}
            self.assertEqual(volumes["tls"]["secret"]["secretName"], "spotfit-tls", name)
            self.assertEqual(pod["serviceAccountName"], account)
            self.assertEqual(pod["securityContext"]["runAsGroup"], 65532)
        scaler = self.kube.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/spotfit-scaler")
        self.assertEqual(scaler["spec"]["template"]["spec"]["containers"][0]["args"][-1], "--scaler-only")
        policy = self.kube.get(f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies/spotfit-scaler")
        self.assertEqual([r["ports"][0]["port"] for r in policy["spec"]["ingress"]], [8080])
        # The quota admits the priority class of spotfit's own pods (GKE's rule for system-cluster-critical).
        quota = self.kube.get(f"/api/v1/namespaces/{NAMESPACE}/resourcequotas/spotfit-critical-pods")
        self.assertEqual(quota["spec"]["scopeSelector"]["matchExpressions"][0]["values"], ["system-cluster-critical"])

        # The same least privilege as the kustomize base (test_access.py): the webhook/extender account reads,
        # only the scaler's account writes nodes, and the Lease and the ledger only by name.
        ns = NAMESPACE
        self.assertTrue(self.allowed("spotfit", "list", "", "nodes"))
        self.assertTrue(self.allowed("spotfit", "get", "", "configmaps", ns, "spotfit-cost-ledger"))
        for verb, group, resource, namespace, name, sub in (
                ("create", "", "nodes", "", "", ""),
                ("create", "", "pods", "team-a", "p", "eviction"),
                ("update", "coordination.k8s.io", "leases", ns, "spotfit-scaler", ""),
                ("patch", "", "configmaps", ns, "spotfit-cost-ledger", ""),
                ("create", "", "configmaps", ns, "", "")):
            self.assertFalse(self.allowed("spotfit", verb, group, resource, namespace, name, sub),
                             f"spotfit may {verb} {group}/{resource}/{sub} {name}")
        self.assertTrue(self.allowed("spotfit-scaler", "delete", "", "nodes", "", "n1"))
        self.assertTrue(self.allowed("spotfit-scaler", "create", "", "pods", "team-a", "p", "eviction"))
        self.assertTrue(self.allowed("spotfit-scaler", "update", "coordination.k8s.io", "leases", ns,
                                     "spotfit-scaler"))
        self.assertFalse(self.allowed("spotfit-scaler", "update", "coordination.k8s.io", "leases", ns,
                                      "spotfit-scheduler"))
        self.assertTrue(self.allowed("spotfit-scaler", "patch", "", "configmaps", ns, "spotfit-cost-ledger"))
        self.assertFalse(self.allowed("spotfit-scaler", "patch", "", "configmaps", ns, "spotfit-config"))
        self.assertFalse(self.allowed("spotfit-scaler", "create", "", "configmaps", ns))

        # Uninstall: every rendered object goes, the CRD too (Helm keeps CRDs; this is `kubectl delete crd`).
        self.cluster.kubectl("delete", "--wait=true", "-f", "-", input_text=rendered)
        self.assertIsNone(self.kube.get_or_none(
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/spotfit"))
        for kind in ("clusterroles", "clusterrolebindings"):
            left = [o["metadata"]["name"] for o in self.kube.get(f"/apis/rbac.authorization.k8s.io/v1/{kind}")["items"]
                    if o["metadata"]["name"].startswith("spotfit")]
            self.assertEqual(left, [], kind)
        for path in (f"/api/v1/namespaces/{NAMESPACE}/configmaps", f"/api/v1/namespaces/{NAMESPACE}/serviceaccounts",
                     f"/apis/networking.k8s.io/v1/namespaces/{NAMESPACE}/networkpolicies"):
            left = [o["metadata"]["name"] for o in self.kube.get(path)["items"]
                    if o["metadata"]["name"].startswith("spotfit")]
            self.assertEqual(left, [], path)

    def test_kustomize_base_is_accepted_by_the_apiserver(self):
        if self.kube.get_or_none(f"/api/v1/namespaces/{NAMESPACE}") is None:
            self.kube.create_namespace(NAMESPACE)  # a dry run would not create it for the objects in it
        out = self.cluster.kubectl("apply", "--dry-run=server", "-k", os.path.join(SOURCE_DIR, "manifests")).stdout
        self.assertIn("mutatingwebhookconfiguration.admissionregistration.k8s.io/spotfit created (server dry run)", out)
        self.assertIn("deployment.apps/spotfit created (server dry run)", out)


if __name__ == "__main__":
    unittest.main()

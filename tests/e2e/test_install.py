"""Install (part of issue 14): every object the Helm chart and the kustomize base ship is accepted by the real
kube-apiserver as shipped (schemas, the webhook's service reference, the CRD becoming Established), and
uninstalling removes them again. Running spotfit itself from the shipped objects (ServiceAccount token,
Service routing) is not covered here yet.

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

    def test_chart_objects_are_accepted_as_shipped_and_uninstall_removes_them(self):
        print("skipped: cert-manager Issuer/Certificate (no cert-manager CRDs; tls.mode=selfSigned instead) and "
              "ServiceMonitor/PrometheusRule (no Prometheus Operator CRDs)")
        rendered = render_chart()
        self.kube.create_namespace(NAMESPACE)
        applied = self.cluster.kubectl("apply", "--server-side", "--field-manager=helm", "-f", "-",
                                       input_text=rendered).stdout
        for line in ("customresourcedefinition.apiextensions.k8s.io/nodepools.spotfit.io serverside-applied",
                     "mutatingwebhookconfiguration.admissionregistration.k8s.io/spotfit serverside-applied",
                     "deployment.apps/spotfit serverside-applied",
                     "poddisruptionbudget.policy/spotfit serverside-applied",
                     "resourcequota/spotfit-critical-pods serverside-applied",
                     "secret/spotfit-serving serverside-applied",
                     "clusterrole.rbac.authorization.k8s.io/spotfit-scaler serverside-applied",
                     "service/spotfit serverside-applied"):
            self.assertIn(line, applied)

        wait_for("the NodePool CRD to be Established", lambda: any(
            c["type"] == "Established" and c["status"] == "True"
            for c in self.kube.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/nodepools.spotfit.io")
            .get("status", {}).get("conditions", [])), WAIT)

        webhook = self.kube.get("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/spotfit")
        client = webhook["webhooks"][0]["clientConfig"]
        self.assertEqual(client["service"], {"name": "spotfit", "namespace": NAMESPACE, "path": "/mutate", "port": 443})
        secret = self.kube.get(f"/api/v1/namespaces/{NAMESPACE}/secrets/spotfit-serving")
        self.assertEqual(client["caBundle"], secret["data"]["ca.crt"])
        deployment = self.kube.get(f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/spotfit")
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        self.assertEqual(volumes["tls"]["secret"]["secretName"], "spotfit-serving")
        # The quota admits the priority class of spotfit's own pods (GKE's rule for system-cluster-critical).
        quota = self.kube.get(f"/api/v1/namespaces/{NAMESPACE}/resourcequotas/spotfit-critical-pods")
        self.assertEqual(quota["spec"]["scopeSelector"]["matchExpressions"][0]["values"], ["system-cluster-critical"])

        # Uninstall: every rendered object goes, the CRD too (Helm keeps CRDs; this is `kubectl delete crd`).
        self.cluster.kubectl("delete", "--wait=true", "-f", "-", input_text=rendered)
        self.assertIsNone(self.kube.get_or_none(
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/spotfit"))
        for kind in ("clusterroles", "clusterrolebindings"):
            left = [o["metadata"]["name"] for o in self.kube.get(f"/apis/rbac.authorization.k8s.io/v1/{kind}")["items"]
                    if o["metadata"]["name"].startswith("spotfit")]
            self.assertEqual(left, [], kind)
        left = [o["metadata"]["name"] for o in self.kube.get(f"/api/v1/namespaces/{NAMESPACE}/configmaps")["items"]
                if o["metadata"]["name"].startswith("spotfit")]
        self.assertEqual(left, [])

    def test_kustomize_base_is_accepted_by_the_apiserver(self):
        if self.kube.get_or_none(f"/api/v1/namespaces/{NAMESPACE}") is None:
            self.kube.create_namespace(NAMESPACE)  # a dry run would not create it for the objects in it
        out = self.cluster.kubectl("apply", "--dry-run=server", "-k", os.path.join(SOURCE_DIR, "manifests")).stdout
        self.assertIn("mutatingwebhookconfiguration.admissionregistration.k8s.io/spotfit created (server dry run)", out)
        self.assertIn("deployment.apps/spotfit created (server dry run)", out)


if __name__ == "__main__":
    unittest.main()

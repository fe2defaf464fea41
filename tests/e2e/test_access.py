"""Who can reach what (issue 15c) against a real control plane:

- mTLS: `spotfit serve --client-ca-file` with certificates from `spotfit certs --client`. The kube-apiserver
  presents client-kube-apiserver.crt to the webhook through its AdmissionConfiguration (a WebhookAdmission
  kubeconfig, as docs/operations.md describes), and admission mutates Jobs while a caller without a
  certificate is refused; a second kube-scheduler from manifests/scheduler/second-scheduler presents
  client-kube-scheduler.crt through the extender's tlsConfig certFile/keyFile and its pods are filtered by
  spotfit.
- The kustomize base as the real API validates it: the NetworkPolicies are stored as shipped, the whole
  base passes a server-side dry run, and SubjectAccessReviews show the webhook/extender account cannot
  delete nodes, evict, write Cluster API objects, Leases or ConfigMaps while the scaler account can, but
  only its own Lease and the ledger ConfigMap."""

import json
import os
import re
import ssl
import tempfile
import shutil
import unittest
import urllib.error
import urllib.request

from e2e_common import SOURCE_DIR, SPOTFIT_BINARY, WAIT, ClusterTestCase, controlplane, unique, wait_for
import spotfitproc

MANIFESTS = os.path.join(SOURCE_DIR, "manifests")


def admission_configuration(workdir, client_cert, client_key):
    """kube-apiserver's --admission-control-config-file: the webhook plugins present this client
    certificate to every webhook ("*"; a user named after the Service DNS name or host:port would pick
    one webhook)."""
    kubeconfig = os.path.join(workdir, "webhook-admission-kubeconfig.json")
    with open(kubeconfig, "w") as f:
        json.dump({"apiVersion": "v1", "kind": "Config",
                   "users": [{"name": "*", "user": {"client-certificate": client_cert, "client-key": client_key}}]},
                  f, indent=1)
    path = os.path.join(workdir, "admission-configuration.json")
    with open(path, "w") as f:
        json.dump({"apiVersion": "apiserver.config.k8s.io/v1", "kind": "AdmissionConfiguration",
                   "plugins": [{"name": name, "configuration": {
                       "apiVersion": "apiserver.config.k8s.io/v1", "kind": "WebhookAdmissionConfiguration",
                       "kubeConfigFile": kubeconfig}}
                       for name in ("MutatingAdmissionWebhook", "ValidatingAdmissionWebhook")]}, f, indent=1)
    return path


def with_client_certificate(scheduler_configuration, cert_file, key_file):
    """The extender's tlsConfig of a KubeSchedulerConfiguration (YAML text) with certFile/keyFile added."""
    text, n = re.subn(r"^([ \t]+)caData:(.*)$", lambda m: f"{m.group(0)}\n{m.group(1)}certFile: {cert_file}\n"
                      f"{m.group(1)}keyFile: {key_file}", scheduler_configuration, count=1, flags=re.M)
    if n != 1:
        raise AssertionError("no tlsConfig.caData in the scheduler configuration")
    return text


def job(name):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"parallelism": 1, "completions": 1,
                     "template": {"spec": {"restartPolicy": "Never", "containers": [
                         {"name": "work", "image": "registry.invalid/e2e/work:1",
                          "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}}


class AccessTest(ClusterTestCase):

    @classmethod
    def make_cluster(cls):
        # spotfit's CA and the callers' client certificates exist before the apiserver starts: its
        # admission configuration names the certificate it presents.
        cls.certs_dir = tempfile.mkdtemp(prefix="spotfit-e2e-access-")
        cls.addClassCleanup(shutil.rmtree, cls.certs_dir, True)
        binary = SPOTFIT_BINARY or spotfitproc.spotfit_binary()
        cls.certs = spotfitproc.make_certs(binary, os.path.join(cls.certs_dir, "certs"),
                                           clients=("kube-apiserver", "kube-scheduler"))
        config = admission_configuration(cls.certs_dir, os.path.join(cls.certs, "client-kube-apiserver.crt"),
                                         os.path.join(cls.certs, "client-kube-apiserver.key"))
        return controlplane.Cluster(apiserver_args=[f"--admission-control-config-file={config}"])

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kube.create_namespace("spotfit-system")
        cls.spotfit = spotfitproc.Spotfit(cls.cluster, certs=cls.certs,
                                          extra_args=["--client-ca-file", os.path.join(cls.certs, "ca.crt")])
        cls.spotfit.start()

    # -- mTLS ------------------------------------------------------------------------------------------

    def post_mutate(self, client=None):
        """POST /mutate straight to spotfit, as an arbitrary pod would: the HTTP status, or the TLS error."""
        context = ssl.create_default_context(cafile=os.path.join(self.certs, "ca.crt"))
        context.check_hostname = False
        if client:
            context.load_cert_chain(os.path.join(self.certs, f"client-{client}.crt"),
                                    os.path.join(self.certs, f"client-{client}.key"))
        request = urllib.request.Request(self.spotfit.https_url + "/mutate", data=b"{}", method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code
        except (urllib.error.URLError, OSError) as error:
            return f"refused: {error}"

    def test_callers_without_a_client_certificate_are_refused(self):
        self.assertIn("refused", str(self.post_mutate()))
        # A client certificate of the right CA gets through to the webhook ("{}" is no AdmissionReview).
        self.assertEqual(self.post_mutate("kube-scheduler"), 400)

    def test_admission_works_with_client_certificates_required(self):
        self.spotfit.register_webhook()
        # Removed afterwards: the whole-base dry run applies the manifest's own (service-based) version.
        self.addCleanup(self.kube.delete, "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/spotfit")
        ns = unique("access")
        self.kube.create_namespace(ns, labels={"spotfit.io/enabled": "true"})

        def mutated(obj):
            return obj["spec"]["template"].get("metadata", {}).get("annotations", {}).get("spotfit.io/mutated")

        # The apiserver may not use a just-created webhook configuration for a moment; a call that fails
        # (no client certificate) would admit unmutated (failurePolicy: Ignore) until the wait runs out.
        wait_for("the apiserver to call the webhook with its client certificate", lambda: mutated(self.kube.create(
            f"/apis/batch/v1/namespaces/{ns}/jobs", job(unique("probe")), dryRun="All")), WAIT)
        stored = self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", job(unique("job")))
        self.assertTrue(mutated(stored), "the apiserver's call did not reach the webhook")
        self.assertGreaterEqual(self.spotfit.metric("spotfit_http_requests_total", route="/mutate", code="200"), 1)
        # The apiserver did not fail open: no webhook call error.
        metrics = self.cluster.metrics()
        self.assertEqual(spotfitproc.metric_sum(metrics, "apiserver_admission_webhook_fail_open_count"), 0)

    def test_the_scheduler_extender_presents_its_client_certificate(self):
        config = with_client_certificate(self.spotfit.second_scheduler_configuration(),
                                         os.path.join(self.certs, "client-kube-scheduler.crt"),
                                         os.path.join(self.certs, "client-kube-scheduler.key"))
        scheduler_name = spotfitproc.scheduler_name(config)
        self.cluster.start_extra_scheduler("spotfit-scheduler", config)
        ns = unique("sched")
        self.kube.create_namespace(ns)
        self.kube.wait_default_service_account(ns, WAIT)
        self.kube.create_ready_node("access-spot", cpu="8", memory="32Gi", labels={"spotfit.io/capacity-type": "spot"})
        self.kube.create_ready_node("access-on-demand", cpu="8", memory="32Gi",
                                    labels={"spotfit.io/capacity-type": "on-demand"})
        before = self.spotfit.metric("spotfit_extender_requests_total", verb="filter")
        self.kube.create(f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "on-demand-only", "annotations": {"spotfit.io/capacity-type": "on-demand"}},
            "spec": {"schedulerName": scheduler_name, "containers": [
                {"name": "c", "image": "registry.invalid/e2e/work:1", "resources": {"requests": {"cpu": "500m"}}}]}})
        node = wait_for("the pod to be bound",
                        lambda: self.kube.get(f"/api/v1/namespaces/{ns}/pods/on-demand-only")["spec"].get("nodeName"),
                        WAIT)
        # Only spotfit's filter tells the two nodes apart (the extender is ignorable: without the client
        # certificate the pod would still bind, on either node, and the counter would not move).
        self.assertEqual(node, "access-on-demand")
        self.assertGreater(self.spotfit.metric("spotfit_extender_requests_total", verb="filter"), before)

    # -- manifests -------------------------------------------------------------------------------------

    def test_network_policies_are_stored_as_shipped(self):
        self.cluster.kubectl("apply", "-f", os.path.join(MANIFESTS, "base", "networkpolicy.yaml"))
        web = self.kube.get("/apis/networking.k8s.io/v1/namespaces/spotfit-system/networkpolicies/spotfit")
        ports = {r["ports"][0]["port"]: r["from"] for r in web["spec"]["ingress"]}
        self.assertEqual(sorted(ports), [8080, 8443])
        self.assertEqual(ports[8443][0]["ipBlock"], {"cidr": "0.0.0.0/0", "except": ["10.244.0.0/16"]})
        self.assertEqual(ports[8443][1]["namespaceSelector"]["matchLabels"],
                         {"kubernetes.io/metadata.name": "kube-system"})
        scaler = self.kube.get("/apis/networking.k8s.io/v1/namespaces/spotfit-system/networkpolicies/spotfit-scaler")
        self.assertEqual([r["ports"][0]["port"] for r in scaler["spec"]["ingress"]], [8080])
        # The API's validation refuses what a careless edit could produce (an except outside the CIDR).
        bad = json.loads(json.dumps(web))
        for key in ("resourceVersion", "uid", "creationTimestamp", "generation", "managedFields", "annotations"):
            bad["metadata"].pop(key, None)
        bad["metadata"]["name"] = "spotfit-bad"
        bad["spec"]["ingress"][0]["from"][0]["ipBlock"] = {"cidr": "10.0.0.0/16", "except": ["10.244.0.0/16"]}
        result = self.cluster.kubectl("create", "-f", "-", check=False, input_text=json.dumps(bad))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("must be a strict subset of `cidr`", result.stderr)

    def test_the_whole_base_passes_a_server_side_dry_run(self):
        result = self.cluster.kubectl("apply", "--dry-run=server", "-k", MANIFESTS)
        for created in ("networkpolicy.networking.k8s.io/spotfit", "networkpolicy.networking.k8s.io/spotfit-scaler",
                        "deployment.apps/spotfit-scaler", "serviceaccount/spotfit-scaler",
                        "configmap/spotfit-cost-ledger"):
            self.assertIn(created, result.stdout)

    def allowed(self, account, verb, group, resource, namespace="", name="", subresource=""):
        review = self.kube.create("/apis/authorization.k8s.io/v1/subjectaccessreviews", {
            "apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
            "spec": {"user": f"system:serviceaccount:spotfit-system:{account}",
                     "groups": ["system:serviceaccounts", "system:serviceaccounts:spotfit-system"],
                     "resourceAttributes": {"namespace": namespace, "verb": verb, "group": group,
                                            "resource": resource, "name": name, "subresource": subresource}}})
        return review["status"]["allowed"]

    def test_each_account_holds_only_its_roles_rights(self):
        for path in ("base/rbac.yaml", "webhook/rbac.yaml"):
            self.cluster.kubectl("apply", "-f", os.path.join(MANIFESTS, path))
        ns = "spotfit-system"
        # The webhook/extender account, reachable on 8443.
        self.assertTrue(self.allowed("spotfit", "list", "", "nodes"))
        self.assertTrue(self.allowed("spotfit", "watch", "", "pods"))
        self.assertTrue(self.allowed("spotfit", "get", "", "configmaps", ns, "spotfit-cost-ledger"))
        for verb, group, resource, namespace, name, sub in (
                ("delete", "", "nodes", "", "n1", ""),
                ("create", "", "nodes", "", "", ""),
                ("create", "", "pods", "team-a", "p", "eviction"),
                ("patch", "cluster.x-k8s.io", "machinedeployments", "default", "md", "scale"),
                ("update", "cluster.x-k8s.io", "machines", "default", "m", ""),
                ("update", "coordination.k8s.io", "leases", ns, "spotfit-scaler", ""),
                ("create", "coordination.k8s.io", "leases", ns, "", ""),
                ("patch", "", "configmaps", ns, "spotfit-cost-ledger", ""),
                ("create", "", "configmaps", ns, "", "")):
            self.assertFalse(self.allowed("spotfit", verb, group, resource, namespace, name, sub),
                             f"spotfit may {verb} {group}/{resource}/{sub} {name}")
        # The scaler account: what scaling needs, and by name where the API allows it.
        self.assertTrue(self.allowed("spotfit-scaler", "delete", "", "nodes", "", "n1"))
        self.assertTrue(self.allowed("spotfit-scaler", "create", "", "pods", "team-a", "p", "eviction"))
        self.assertTrue(self.allowed("spotfit-scaler", "patch", "cluster.x-k8s.io", "machinedeployments",
                                     "default", "md", "scale"))
        self.assertTrue(self.allowed("spotfit-scaler", "update", "coordination.k8s.io", "leases", ns,
                                     "spotfit-scaler"))
        self.assertFalse(self.allowed("spotfit-scaler", "update", "coordination.k8s.io", "leases", ns,
                                      "spotfit-scheduler"))
        self.assertTrue(self.allowed("spotfit-scaler", "patch", "", "configmaps", ns, "spotfit-cost-ledger"))
        self.assertFalse(self.allowed("spotfit-scaler", "patch", "", "configmaps", ns, "spotfit-config"))
        self.assertFalse(self.allowed("spotfit-scaler", "create", "", "configmaps", ns))
        self.assertFalse(self.allowed("spotfit-scaler", "patch", "", "configmaps", "kube-system",
                                      "spotfit-cost-ledger"))


if __name__ == "__main__":
    unittest.main()

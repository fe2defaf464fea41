"""The real Kueue (sigs.k8s.io/kueue) next to the e2e control plane (Python 3 standard library only). The manager
comes from scripts/e2e/build-kueue.sh (Go module proxy, cached in ~/.cache/spotfit-kueue); its CRDs and webhook
configurations are applied from its downloaded module directory.

Kueue's webhooks must be reachable from the apiserver: the cluster must run with aggregator_routing=True, and the
Service kueue-webhook-service gets an FQDN EndpointSlice "127.0.0.1" at the manager's webhook port (as
tests/e2e/test_install_run.py does for spotfit's). Kueue's internal certificate management issues the serving
certificate (its v0.17.0 manager otherwise wants metrics certificates at a fixed /etc path) and injects its CA
into the webhook configurations and the conversion webhooks of the CRDs it converts. Only the webhooks of batch/v1 Jobs and of
Kueue's own objects are registered (the only integration enabled is batch/job).

    env = kueue.Kueue(cluster)
    env.start()     # CRDs, namespace kueue-system, Service + EndpointSlice, webhooks, the manager
"""

import base64
import json
import os
import socket
import subprocess
import time

import controlplane
import karpenter
import kubeapi

HERE = os.path.dirname(os.path.abspath(__file__))
NAMESPACE = "kueue-system"
SERVICE = "kueue-webhook-service"
READY_TIMEOUT = float(os.environ.get("SPOTFIT_E2E_READY_TIMEOUT", "180"))
API = "/apis/kueue.x-k8s.io/v1beta2"
SECRET = "kueue-webhook-server-cert"
# The CRDs whose conversion webhook Kueue's certificate rotator injects its CA into (it waits for them).
CONVERTED = {"localqueues.kueue.x-k8s.io", "clusterqueues.kueue.x-k8s.io", "workloads.kueue.x-k8s.io",
             "cohorts.kueue.x-k8s.io", "multikueueclusters.kueue.x-k8s.io"}


def build():
    """Runs build-kueue.sh; returns (cache entry, {KUEUE_VERSION, GO_TOOLCHAIN})."""
    result = subprocess.run(["bash", os.path.join(HERE, "build-kueue.sh")], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    if result.returncode != 0:
        raise controlplane.ClusterError(f"building Kueue failed (exit {result.returncode}); see stderr")
    entry = result.stdout.strip().splitlines()[-1]
    versions = {}
    with open(os.path.join(entry, "versions.env")) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key:
                versions[key] = value
    return entry, versions


class Kueue(controlplane.StartStop):
    def __init__(self, cluster):
        self.cluster = cluster
        self.process = None

    def start(self):
        entry, versions = build()
        module = karpenter.module_dir("sigs.k8s.io/kueue", versions["KUEUE_VERSION"], versions["GO_TOOLCHAIN"])
        kube = self.cluster.kube
        bases = os.path.join(module, "config", "components", "crd", "bases")
        for crd in self.objects([os.path.join(bases, n) for n in sorted(os.listdir(bases)) if n.endswith(".yaml")]):
            if crd["metadata"]["name"] in CONVERTED:  # as Kueue's kustomize patches install them
                crd["spec"]["conversion"] = {"strategy": "Webhook", "webhook": {
                    "conversionReviewVersions": ["v1"], "clientConfig": {"service": {
                        "name": SERVICE, "namespace": NAMESPACE, "path": "/convert", "port": 443}}}}
            kube.create("/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)
        for plural in ("clusterqueues", "localqueues", "resourceflavors", "admissionchecks",
                       "provisioningrequestconfigs", "workloads"):
            kubeapi.wait_for(f"{plural} to be served", lambda p=plural: kube.get(f"{API}/{p}") is not None,
                             READY_TIMEOUT)
        kube.create_namespace(NAMESPACE)
        # Kueue's internal certificate management issues the serving certificate, writes it to cert_dir and
        # injects its CA into the webhook configurations and the CRDs' conversion webhooks.
        cert_dir = os.path.join(self.cluster.workdir, "kueue-certs")
        os.makedirs(cert_dir, exist_ok=True)
        kube.create(f"/api/v1/namespaces/{NAMESPACE}/secrets", {
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": SECRET}})
        port = controlplane._free_port(self.cluster.ports)
        health = controlplane._free_port(self.cluster.ports)
        kube.create(f"/api/v1/namespaces/{NAMESPACE}/services", {
            "apiVersion": "v1", "kind": "Service", "metadata": {"name": SERVICE},
            "spec": {"ports": [{"port": 443, "protocol": "TCP", "targetPort": 9443}]}})
        kube.create(f"/apis/discovery.k8s.io/v1/namespaces/{NAMESPACE}/endpointslices", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{SERVICE}-e2e", "labels": {"kubernetes.io/service-name": SERVICE,
                                                                "endpointslice.kubernetes.io/managed-by": "e2e.spotfit.io"}},
            "addressType": "FQDN", "endpoints": [{"addresses": ["127.0.0.1"], "conditions": {"ready": True}}],
            "ports": [{"name": "", "port": port, "protocol": "TCP"}]})
        self.webhooks(os.path.join(module, "config", "components", "webhook", "manifests.yaml"))
        config = os.path.join(self.cluster.workdir, "kueue-config.yaml")
        with open(config, "w") as f:
            f.write(f"""apiVersion: config.kueue.x-k8s.io/v1beta2
kind: Configuration
namespace: {NAMESPACE}
health:
  healthProbeBindAddress: 127.0.0.1:{health}
metrics:
  bindAddress: "0"
webhook:
  port: {port}
  host: 127.0.0.1
  certDir: {cert_dir}
leaderElection:
  leaderElect: false
internalCertManagement:
  enable: true
  webhookServiceName: {SERVICE}
  webhookSecretName: {SECRET}
integrations:
  frameworks: ["batch/job"]
""")
        env = dict(os.environ, KUBECONFIG=self.cluster.kubeconfig)
        env.pop("GOTOOLCHAIN", None)
        # The on-demand visibility API server needs in-cluster delegated authentication: off here.
        self.process = self.cluster.add_process("kueue", [os.path.join(entry, "bin", "kueue"), f"--config={config}",
                                                          "--feature-gates=VisibilityOnDemand=false"], env=env)
        deadline = time.monotonic() + READY_TIMEOUT
        while not controlplane.http_ok(f"http://127.0.0.1:{health}/readyz"):
            self.sync_secret(cert_dir)  # what the kubelet does for the Secret volume of Kueue's pod
            if not self.process.alive():
                raise controlplane.ClusterError(f"kueue exited before /readyz:\n{self.process.tail()}")
            if time.monotonic() > deadline:
                raise controlplane.ClusterError(f"timed out waiting for kueue /readyz:\n{self.process.tail()}")
            time.sleep(0.25)
        # /readyz can pass before the webhook server listens: wait for its port too.
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or not self.process.alive():
                    raise controlplane.ClusterError(f"kueue's webhook port never opened:\n{self.process.tail()}")
                self.sync_secret(cert_dir)
                time.sleep(0.25)

    def objects(self, paths):
        """The YAML files' documents as JSON objects (kubectl converts; the standard library has no YAML)."""
        args = ["create", "--dry-run=client", "-o", "json"]
        for path in paths:
            args += ["-f", path]
        out = self.cluster.kubectl(*args).stdout
        decoder, items, at = json.JSONDecoder(), [], 0
        while True:
            while at < len(out) and out[at].isspace():
                at += 1
            if at == len(out):
                return items
            item, at = decoder.raw_decode(out, at)
            items += item["items"] if item.get("kind") == "List" else [item]

    def sync_secret(self, cert_dir):
        """Copies the rotator's Secret into cert_dir, as the kubelet keeps a Secret volume up to date."""
        data = self.cluster.kube.get(f"/api/v1/namespaces/{NAMESPACE}/secrets/{SECRET}").get("data") or {}
        for key in ("tls.crt", "tls.key", "ca.crt"):
            if key in data:
                path = os.path.join(cert_dir, key)
                content = base64.b64decode(data[key])
                if os.path.exists(path):
                    with open(path, "rb") as f:
                        if f.read() == content:
                            continue
                with open(path, "wb") as f:
                    f.write(content)

    def webhooks(self, manifests):
        """Kueue's webhook configurations, only the batch/v1 Job and kueue.x-k8s.io ones, pointing at SERVICE."""
        items = self.objects([manifests])
        for item in items:
            kept = []
            for hook in item.get("webhooks", []):
                path = hook["clientConfig"]["service"]["path"]
                if "batch-v1-job" not in path and "kueue-x-k8s-io" not in path:
                    continue
                hook["clientConfig"]["service"].update({"name": SERVICE, "namespace": NAMESPACE})
                kept.append(hook)
            item["webhooks"] = kept
            item["metadata"]["name"] = "kueue-" + item["metadata"]["name"]
            kind = item["kind"].lower() + "s"
            self.cluster.kube.create(f"/apis/admissionregistration.k8s.io/v1/{kind}", item)

    def stop(self):
        if self.process is not None:
            self.cluster.stop_process(self.process)
            self.process = None

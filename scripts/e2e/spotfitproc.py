"""spotfit itself next to the e2e control plane: serving certificates from `spotfit certs`, `spotfit serve`
on loopback ports with the cluster's kubeconfig, and the project's webhook/scheduler manifests pointed at
it (Python 3 standard library only)."""

import base64
import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.request

import controlplane

SOURCE_DIR = os.environ.get("SPOTFIT_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
SERVICE_DNS = "spotfit.spotfit-system.svc"


def spotfit_binary():
    binary = os.environ.get("SPOTFIT_BINARY") or os.path.join(SOURCE_DIR, "build", "spotfit")
    if not os.access(binary, os.X_OK):
        raise controlplane.ClusterError(f"spotfit binary {binary} not found (set SPOTFIT_BINARY)")
    return binary


def render_scheduler_configuration(variant, https_url, ca_bundle):
    """manifests/scheduler/<variant>/scheduler-config.yaml with the CA bundle filled in and the extender
    URL pointed at https_url (the serving cert keeps the Service DNS name for TLS, as in a cluster)."""
    path = os.path.join(SOURCE_DIR, "manifests", "scheduler", variant, "scheduler-config.yaml")
    with open(path) as f:
        text = f.read()
    url = re.search(r"urlPrefix:\s*(https://\S+)", text)
    if not url or "CA_BUNDLE_BASE64" not in text:
        raise controlplane.ClusterError(f"{path}: no https urlPrefix or CA_BUNDLE_BASE64 placeholder")
    path_part = re.sub(r"^https://[^/]+", "", url.group(1))
    return text.replace(url.group(1), https_url + path_part).replace("CA_BUNDLE_BASE64", ca_bundle)


def scheduler_name(configuration_text):
    """The first profile's schedulerName in a KubeSchedulerConfiguration's YAML text."""
    match = re.search(r"^[ \t]*-?[ \t]*schedulerName:[ \t]*([A-Za-z0-9.-]+)[ \t]*$", configuration_text, re.M)
    if not match:
        raise controlplane.ClusterError("scheduler configuration names no schedulerName")
    return match.group(1)


def point_webhook_configuration(manifest_json, https_url, ca_bundle):
    """A MutatingWebhookConfiguration (dict, e.g. from `kubectl create --dry-run=client -o json`) with every
    webhook's clientConfig pointed at https_url (keeping the service's path) with the caBundle."""
    config = json.loads(json.dumps(manifest_json))
    config.get("metadata", {}).get("annotations", {}).pop("cert-manager.io/inject-ca-from", None)
    for hook in config.get("webhooks", []):
        client = hook.get("clientConfig", {})
        path = (client.get("service") or {}).get("path") or "/mutate"
        hook["clientConfig"] = {"url": https_url + path, "caBundle": ca_bundle}
    return config


def make_certs(binary, out, clients=()):
    """`spotfit certs` into `out`: CA, serving pair for the Service name and localhost, and a client certificate
    client-NAME.crt/.key per name in `clients`. Returns `out`."""
    argv = [binary, "certs", "--out", out, "--dns", SERVICE_DNS, "--dns", "localhost"]
    for name in clients:
        argv += ["--client", name]
    result = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise controlplane.ClusterError(f"spotfit certs failed ({result.returncode}): {result.stdout.strip()}")
    return out


def metric_sum(metrics_text, name, **labels):
    """Sums the samples of `name` in a Prometheus text exposition (with or without labels) that carry every
    label in `labels`; 0 when there is none."""
    total = 0.0
    for line in metrics_text.splitlines():
        if not (line.startswith(name + "{") or line.startswith(name + " ")):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


class Spotfit(controlplane.StartStop):
    """`spotfit serve` for a Cluster. Context manager; start()/stop() may be called again (restart)."""

    def __init__(self, cluster, config_text=None, scaler=False, extra_args=(), certs=None, name="spotfit",
                 kubeconfig=None):
        """certs: a directory `spotfit certs --dns spotfit.spotfit-system.svc --dns localhost` already wrote
        (e.g. with client certificates the control plane was started with), or one with the same files taken
        from a Secret; default: a fresh one. name: the process and its directory under the cluster's work
        directory (several spotfits at once). kubeconfig: default the cluster's admin kubeconfig."""
        self.cluster = cluster
        self.binary = spotfit_binary()
        self.name = name
        self.kubeconfig = kubeconfig or cluster.kubeconfig
        self.dir = os.path.join(cluster.workdir, name)
        os.makedirs(self.dir, exist_ok=True)
        self.config_text = config_text
        self.scaler = scaler
        self.extra_args = list(extra_args)
        self.process = None
        self.https_port = controlplane._free_port(cluster.ports)
        self.metrics_port = controlplane._free_port(cluster.ports)
        self.certs = certs or make_certs(self.binary, os.path.join(self.dir, "certs"))
        with open(os.path.join(self.certs, "ca-bundle.b64")) as f:
            self.ca_bundle = f.read().strip()
        with open(os.path.join(self.certs, "ca.crt"), "rb") as f:
            if base64.b64decode(self.ca_bundle) != f.read():
                raise controlplane.ClusterError("spotfit certs: ca-bundle.b64 is not base64 of ca.crt")

    @property
    def https_url(self):
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def metrics_url(self):
        return f"http://127.0.0.1:{self.metrics_port}"

    def start(self, timeout=60):
        argv = [self.binary, "serve", f"--https-addr=127.0.0.1:{self.https_port}",
                f"--metrics-addr=127.0.0.1:{self.metrics_port}",
                f"--tls-cert-file={self.certs}/tls.crt", f"--tls-key-file={self.certs}/tls.key",
                f"--kubeconfig={self.kubeconfig}", "--log-level=debug"]
        if self.config_text is not None:
            path = os.path.join(self.dir, "config.yaml")
            with open(path, "w") as f:
                f.write(self.config_text)
            argv.append(f"--config={path}")
        if self.scaler:
            argv.append("--scaler")
        argv += self.extra_args
        self.process = self.cluster.add_process(self.name, argv)
        deadline = time.monotonic() + timeout
        while not self._get_ok("/readyz"):
            if not self.process.alive():
                raise controlplane.ClusterError(
                    f"spotfit serve exited with {self.process.popen.returncode}:\n{self.process.tail()}")
            if time.monotonic() > deadline:
                raise controlplane.ClusterError(
                    f"spotfit serve not ready after {timeout}s: {self.readyz()}\n{self.process.tail()}")
            time.sleep(0.2)

    def stop(self):
        """SIGTERM; returns the exit code (None when not running)."""
        return self._end(self.cluster.stop_process)

    def kill(self):
        """SIGKILL (a crash): no lease release, no final ledger save, no drain. start() restarts it."""
        return self._end(self.cluster.kill_process)

    def _end(self, how):
        if self.process is None:
            return None
        code = how(self.process)
        self.process = None
        return code

    def _get_ok(self, path):
        try:
            with urllib.request.urlopen(self.metrics_url + path, timeout=5) as resp:
                return resp.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def readyz(self):
        try:
            with urllib.request.urlopen(self.metrics_url + "/readyz?verbose", timeout=5) as resp:
                return resp.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.read().decode(errors="replace")
        except (urllib.error.URLError, OSError) as error:
            return str(error)

    def metrics(self):
        with urllib.request.urlopen(self.metrics_url + "/metrics", timeout=10) as resp:
            return resp.read().decode(errors="replace")

    def metric(self, name, **labels):
        """The sum of every sample of metric `name` (counter or gauge) whose labels include `labels`."""
        return metric_sum(self.metrics(), name, **labels)

    def extender_request_counts(self):
        """Every spotfit_extender_* counter sample in /metrics, by its full sample name with labels."""
        counts = {}
        for line in self.metrics().splitlines():
            if line.startswith("spotfit_extender") and "_total" in line.split(" ")[0]:
                name, value = line.rsplit(" ", 1)
                counts[name] = float(value)
        return counts

    # -- manifests pointed at this spotfit -----------------------------------------------------------

    def second_scheduler_configuration(self):
        """The second scheduler's manifest configuration pointed at this process."""
        return render_scheduler_configuration("second-scheduler", self.https_url, self.ca_bundle)

    def webhook_configuration(self, manifest_json):
        """The MutatingWebhookConfiguration manifest pointed at this process."""
        return point_webhook_configuration(manifest_json, self.https_url, self.ca_bundle)

    def register_webhook(self):
        """Creates manifests/webhook's MutatingWebhookConfiguration (converted by kubectl) pointed at this
        process; returns the webhook's name."""
        manifest = json.loads(self.cluster.kubectl(
            "create", "--dry-run=client", "-o", "json", "-f",
            os.path.join(SOURCE_DIR, "manifests", "webhook", "mutatingwebhookconfiguration.yaml")).stdout)
        self.cluster.kube.create("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations",
                                 self.webhook_configuration(manifest))
        return manifest["webhooks"][0]["name"]

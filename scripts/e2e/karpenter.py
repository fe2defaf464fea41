"""The real Karpenter (its kwok cloud provider) and the kwok controller next to the e2e control plane
(Python 3 standard library only). Binaries come from scripts/e2e/build-karpenter.sh (Go module proxy,
cached); Karpenter's CRDs are applied from its downloaded module directory; the kwok Stages are
scripts/e2e/kwok/stages.yaml (spotfit's own: kwok v0.8.0 ships none).

    env = karpenter.Karpenter(cluster, instance_types=[...catalog entries...])
    env.start()                                  # CRDs, kwok controller, Karpenter (leader election off)
    cluster.kube.create(NODEPOOLS, karpenter.node_pool("default", ...))
"""

import json
import os
import shutil
import subprocess
import tempfile
import time

import catalog
import controlplane
import kubeapi

HERE = os.path.dirname(os.path.abspath(__file__))
STAGES = os.path.join(HERE, "kwok", "stages.yaml")
NODEPOOLS = "/apis/karpenter.sh/v1/nodepools"
NODECLAIMS = "/apis/karpenter.sh/v1/nodeclaims"
NODECLASSES = "/apis/karpenter.kwok.sh/v1alpha1/kwoknodeclasses"
BOOT_DELAY_ANNOTATION = "e2e.spotfit.io/boot-delay"   # read by the spotfit-node-boot stage
DURATION_ANNOTATION = "e2e.spotfit.io/duration"       # read by the spotfit-pod-complete stage
START_DELAY_ANNOTATION = "e2e.spotfit.io/start-delay"  # read by the spotfit-pod-run stage
READY_TIMEOUT = float(os.environ.get("SPOTFIT_E2E_READY_TIMEOUT", "180"))


def build():
    """Runs build-karpenter.sh; returns (cache entry, {KARPENTER_VERSION, KWOK_VERSION, GO_TOOLCHAIN})."""
    result = subprocess.run(["bash", os.path.join(HERE, "build-karpenter.sh")], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    if result.returncode != 0:
        raise controlplane.ClusterError(f"building Karpenter/kwok failed (exit {result.returncode}); see stderr")
    entry = result.stdout.strip().splitlines()[-1]
    versions = {}
    with open(os.path.join(entry, "versions.env")) as f:
        for line in f:
            key, _, value = line.strip().partition("=")
            if key:
                versions[key] = value
    return entry, versions


def module_dir(module, version, toolchain):
    """The module's directory in the Go module cache (downloading it if the cache was cleaned)."""
    env = dict(os.environ, GOTOOLCHAIN=toolchain, GOFLAGS="-mod=mod")
    with tempfile.TemporaryDirectory(prefix="spotfit-gomod-") as tmp:
        result = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=tmp, env=env,
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if result.returncode != 0:
        raise controlplane.ClusterError(f"go mod download {module}@{version} failed: {result.stderr.strip()}")
    directory = json.loads(result.stdout).get("Dir")
    if not directory or not os.path.isdir(directory):
        raise controlplane.ClusterError(f"go mod download {module}@{version} reported no directory")
    return directory


def crd_files(karpenter_dir):
    """Karpenter's CRDs for the kwok provider: NodePool, NodeClaim, NodeOverlay, CapacityBuffer and
    KWOKNodeClass."""
    charts = os.path.join(karpenter_dir, "kwok", "charts", "crds")
    files = sorted(os.path.join(charts, name) for name in os.listdir(charts) if name.endswith(".yaml"))
    files.append(os.path.join(karpenter_dir, "kwok", "apis", "crds", "karpenter.kwok.sh_kwoknodeclasses.yaml"))
    for path in files:
        if not os.path.isfile(path):
            raise controlplane.ClusterError(f"Karpenter CRD {path} missing")
    return files


def node_class(name="default", registration_delay=None):
    spec = {}
    if registration_delay:
        spec["nodeRegistrationDelay"] = registration_delay
    return {"apiVersion": "karpenter.kwok.sh/v1alpha1", "kind": "KWOKNodeClass", "metadata": {"name": name},
            "spec": spec}


def node_pool(name, capacity_types=("spot", "on-demand"), consolidation_policy="WhenEmptyOrUnderutilized",
              consolidate_after="30s", budgets=None, boot_delay=None, instance_types=None, cpu_limit=1000,
              node_class_name="default", labels=None, taints=None):
    """A karpenter.sh/v1 NodePool over the kwok node class. boot_delay (a Go duration) becomes the nodes'
    e2e.spotfit.io/boot-delay annotation: the kwok stage reports them Ready that long after they appear."""
    requirements = [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": list(capacity_types)},
                    {"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]
    if instance_types:
        requirements.append({"key": "node.kubernetes.io/instance-type", "operator": "In",
                             "values": list(instance_types)})
    template = {"spec": {"requirements": requirements, "expireAfter": "Never",
                         "nodeClassRef": {"group": "karpenter.kwok.sh", "kind": "KWOKNodeClass",
                                          "name": node_class_name}}}
    metadata = {}
    if boot_delay:
        metadata["annotations"] = {BOOT_DELAY_ANNOTATION: boot_delay}
    if labels:
        metadata["labels"] = dict(labels)
    if metadata:
        template["metadata"] = metadata
    if taints:
        template["spec"]["taints"] = list(taints)
    disruption = {"consolidationPolicy": consolidation_policy, "consolidateAfter": consolidate_after}
    if budgets is not None:
        disruption["budgets"] = budgets
    return {"apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": name},
            "spec": {"template": template, "disruption": disruption, "limits": {"cpu": str(cpu_limit)}}}


class Karpenter(controlplane.StartStop):
    """Karpenter's CRDs, the kwok controller and Karpenter's kwok provider for a started Cluster; the
    processes live and die with the cluster (stop() also stops them early).

    instance_types: catalog entries (scripts/e2e/catalog.py) written as INSTANCE_TYPES_FILE_PATH.
    batch_idle / batch_max: Karpenter's BATCH_IDLE_DURATION / BATCH_MAX_DURATION.
    karpenter: False starts only the CRD-free part (kwok controller), e.g. for spotfit's own provider.
    """

    def __init__(self, cluster, instance_types, batch_idle="1s", batch_max="10s", karpenter=True, log_level="info"):
        self.cluster = cluster
        self.instance_types = list(instance_types)
        self.batch_idle = batch_idle
        self.batch_max = batch_max
        self.with_karpenter = karpenter
        self.log_level = log_level
        self.kwok = None
        self.karpenter = None
        self.entry = None
        self.versions = None

    def start(self):
        self.entry, self.versions = build()
        bin_dir = os.path.join(self.entry, "bin")
        self.kwok = self.start_kwok(bin_dir)
        if self.with_karpenter:
            self.install_crds()
            self.karpenter = self.start_karpenter(bin_dir)

    def install_crds(self):
        directory = module_dir("sigs.k8s.io/karpenter", self.versions["KARPENTER_VERSION"],
                               self.versions["GO_TOOLCHAIN"])
        args = ["create"]
        for path in crd_files(directory):
            args += ["-f", path]
        # create, not apply: the NodePool CRD is larger than apply's last-applied annotation allows.
        self.cluster.kubectl(*args)
        for path in (NODEPOOLS, NODECLAIMS, NODECLASSES):
            kubeapi.wait_for(f"{path} to be served", lambda p=path: self.cluster.kube.get(p) is not None,
                             READY_TIMEOUT)

    def start_kwok(self, bin_dir):
        """The kwok controller: manages nodes annotated kwok.x-k8s.io/node=fake (Karpenter's kwok nodes and
        spotfit's) and their pods with scripts/e2e/kwok/stages.yaml."""
        stages = os.path.join(self.cluster.workdir, "kwok-stages.yaml")
        shutil.copyfile(STAGES, stages)
        port = controlplane._free_port(self.cluster.ports)
        process = self.cluster.add_process("kwok", [
            os.path.join(bin_dir, "kwok"), f"--config={stages}", f"--kubeconfig={self.cluster.kubeconfig}",
            "--manage-all-nodes=false", "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
            f"--server-address=127.0.0.1:{port}", "--node-lease-duration-seconds=0", "--cidr=10.128.0.0/12",
            "--node-ip=10.127.0.1"])
        self._wait(process, "kwok /healthz", f"http://127.0.0.1:{port}/healthz")
        return process

    def start_karpenter(self, bin_dir):
        path = catalog.write_karpenter_instance_types(
            self.instance_types, os.path.join(self.cluster.workdir, "karpenter-instance-types.json"))
        metrics_port = controlplane._free_port(self.cluster.ports)
        health_port = controlplane._free_port(self.cluster.ports)
        env = dict(os.environ, KUBECONFIG=self.cluster.kubeconfig, DISABLE_LEADER_ELECTION="true",
                   INSTANCE_TYPES_FILE_PATH=path, METRICS_PORT=str(metrics_port),
                   HEALTH_PROBE_PORT=str(health_port), LOG_LEVEL=self.log_level,
                   BATCH_IDLE_DURATION=self.batch_idle, BATCH_MAX_DURATION=self.batch_max,
                   SYSTEM_NAMESPACE="kube-system", KUBE_CLIENT_QPS="200", KUBE_CLIENT_BURST="300")
        env.pop("GOTOOLCHAIN", None)
        process = self.cluster.add_process("karpenter", [os.path.join(bin_dir, "karpenter-kwok")], env=env)
        process.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
        self._wait(process, "karpenter /readyz", f"http://127.0.0.1:{health_port}/readyz")
        return process

    def _wait(self, process, what, url):
        deadline = time.monotonic() + READY_TIMEOUT
        while not controlplane.http_ok(url):
            if not process.alive():
                raise controlplane.ClusterError(
                    f"{process.name} exited with {process.popen.returncode} before {what}:\n{process.tail()}")
            if time.monotonic() > deadline:
                raise controlplane.ClusterError(f"timed out waiting for {what}:\n{process.tail()}")
            time.sleep(0.25)

    def create_node_class(self, name="default", registration_delay=None):
        """A KWOKNodeClass; its status is set Ready as a node-class controller would (the kwok provider has
        none, and Karpenter does not launch for a NodePool whose class is not Ready)."""
        kube = self.cluster.kube
        obj = kube.create(NODECLASSES, node_class(name, registration_delay))
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        kube.merge_patch(f"{NODECLASSES}/{name}/status", {"status": {"conditions": [
            {"type": "Ready", "status": "True", "reason": "Ready", "message": "",
             "lastTransitionTime": now, "observedGeneration": obj["metadata"].get("generation", 1)}]}})
        return obj

    def stop(self):
        for process in (self.karpenter, self.kwok):
            if process is not None:
                self.cluster.stop_process(process)
        self.karpenter = self.kwok = None

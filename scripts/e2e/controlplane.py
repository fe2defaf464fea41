#!/usr/bin/env python3
"""A real Kubernetes control plane on loopback for spotfit's end-to-end tests (Python 3 stdlib only).

Starts etcd, kube-apiserver, kube-controller-manager and kube-scheduler built by
scripts/e2e/build-control-plane.sh, each on 127.0.0.1 with ports outside the kernel's ephemeral range
(so they cannot collide with other tests binding port 0), with generated certificates,
service-account keys and an admin kubeconfig. There are no kubelets: tests register Ready Nodes
through the API as kwok does. Everything started is stopped on exit, also when starting fails, and
every child is killed by the kernel if this process dies (PR_SET_PDEATHSIG).

By hand:  python3 scripts/e2e/controlplane.py up [--dir DIR]   (prints the kubeconfig; Ctrl-C stops)
"""

import argparse
import ctypes
import json
import os
import random
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import kubeapi  # noqa: E402

SERVICE_CIDR = "10.0.0.0/24"
READY_TIMEOUT = float(os.environ.get("SPOTFIT_E2E_READY_TIMEOUT", "180"))


def http_ok(url):
    """True when `url` answers 200 within 5 s; any connection error is False."""
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError):
        return False


class ClusterError(Exception):
    pass


def build_control_plane():
    """Returns the directory with the binaries, building them on first use (cached by version)."""
    script = os.path.join(HERE, "build-control-plane.sh")
    result = subprocess.run(["bash", script], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    if result.returncode != 0:
        raise ClusterError(f"building the control plane failed (exit {result.returncode}); see stderr above")
    return result.stdout.strip().splitlines()[-1]


def _free_port(taken):
    """A port in 20000-32000, below the ephemeral range used by bind(0), currently bindable."""
    rng = random.SystemRandom()
    for _ in range(200):
        port = rng.randrange(20000, 32000)
        if port in taken:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise ClusterError("no free port found in 20000-32000")


def _openssl(*args, cwd):
    result = subprocess.run(["openssl", *args], cwd=cwd, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if result.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed: {result.stdout.strip()}")


def _make_cert(pki, name, subject, extensions):
    ext = os.path.join(pki, f"{name}.ext")
    with open(ext, "w") as f:
        f.write(extensions)
    _openssl("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", subject, cwd=pki)
    _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
             "-days", "3", "-out", f"{name}.crt", "-extfile", ext, cwd=pki)


def generate_pki(pki):
    """CA, apiserver serving cert, admin client cert (system:masters) and the service-account key pair."""
    os.makedirs(pki, exist_ok=True)
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "ca.key", "-out", "ca.crt", "-days", "3", "-subj", "/CN=spotfit-e2e-ca",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature", cwd=pki)
    _make_cert(pki, "apiserver", "/CN=kube-apiserver",
               "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
               "extendedKeyUsage=serverAuth\n"
               "subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,"
               "DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local\n")
    _make_cert(pki, "admin", "/O=system:masters/CN=spotfit-e2e-admin",
               "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\n"
               "extendedKeyUsage=clientAuth\n")
    # The aggregation layer's request-header CA, so the controllers' delegated authentication is complete.
    _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
             "-keyout", "front-proxy-ca.key", "-out", "front-proxy-ca.crt", "-days", "3",
             "-subj", "/CN=spotfit-e2e-front-proxy-ca", "-addext", "basicConstraints=critical,CA:TRUE", cwd=pki)
    _openssl("genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "sa.key", cwd=pki)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=pki)


def write_kubeconfig(path, server, pki):
    config = {
        "apiVersion": "v1", "kind": "Config", "current-context": "e2e",
        "clusters": [{"name": "e2e", "cluster": {"server": server,
                                                 "certificate-authority": os.path.join(pki, "ca.crt")}}],
        "users": [{"name": "admin", "user": {"client-certificate": os.path.join(pki, "admin.crt"),
                                             "client-key": os.path.join(pki, "admin.key")}}],
        "contexts": [{"name": "e2e", "context": {"cluster": "e2e", "user": "admin"}}],
    }
    with open(path, "w") as f:
        json.dump(config, f, indent=1)


def _die_with_parent():
    # PR_SET_PDEATHSIG = 1: the child gets SIGKILL when the thread that forked it exits.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGKILL, 0, 0, 0)
    os.setpgid(0, 0)


class Process:
    def __init__(self, name, argv, log_path, env=None):
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                      preexec_fn=_die_with_parent, env=env)

    def alive(self):
        return self.popen.poll() is None

    def tail(self, lines=25):
        try:
            with open(self.log_path, "rb") as f:
                text = f.read().decode(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def kill(self):
        """SIGKILL, as a crash or an OOM kill would end it: no shutdown code runs."""
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.popen.wait(10)
        self.log.close()
        return self.popen.returncode

    def stop(self, grace=15):
        if self.alive():
            try:
                os.killpg(self.popen.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.popen.wait(grace)
            except subprocess.TimeoutExpired:
                os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)
        self.log.close()
        return self.popen.returncode


def _https_ok(url, context, timeout=5):
    try:
        with urllib.request.urlopen(url, context=context, timeout=timeout) as resp:
            return resp.status == 200
    except (urllib.error.URLError, OSError, ssl.SSLError):
        return False


class StartStop:
    """Context manager over start()/stop(): stop() runs however the block ends."""

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.stop()
        return False


class Cluster(StartStop):
    """The control plane. Use as a context manager; start() and stop() are also public.

    scheduler_extenders: list of extender dicts placed in the KubeSchedulerConfiguration.
    apiserver_args: extra kube-apiserver flags (e.g. --admission-control-config-file).
    aggregator_routing: --enable-aggregator-routing=true: the apiserver reaches a Service named by a webhook's
        clientConfig.service through the Service's EndpointSlices instead of its cluster IP (there is no
        kube-proxy here), so a test can point an EndpointSlice at a loopback port.
    audit_users: user names whose requests the apiserver's audit log records at level Metadata (nobody
        else's); read them with audit_events().
    keep: leave the work directory behind (logs, certs) for inspection.
    """

    def __init__(self, bin_dir=None, workdir=None, scheduler_extenders=None, keep=None, apiserver_args=(),
                 aggregator_routing=False, audit_users=()):
        self.bin_dir = bin_dir
        self.workdir = workdir
        self.scheduler_extenders = scheduler_extenders or []
        self.apiserver_args = list(apiserver_args)
        self.aggregator_routing = aggregator_routing
        self.audit_users = list(audit_users)
        self.audit_log = None
        self.keep = keep if keep is not None else os.environ.get("SPOTFIT_E2E_KEEP") == "1"
        self.processes = []
        self.ports = set()
        self.kube = None

    # -- lifecycle -----------------------------------------------------------------------------------

    def start(self):
        try:
            self._start()
        except BaseException as error:
            report = self.report()
            self.keep = True  # leave certs and full logs behind for whoever debugs this
            self.stop()
            if isinstance(error, ClusterError):
                raise ClusterError(f"{error} (work dir kept: {self.workdir})\n{report}") from None
            raise

    def _start(self):
        if self.bin_dir is None:
            self.bin_dir = build_control_plane()
        for binary in ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl"):
            if not os.access(os.path.join(self.bin_dir, binary), os.X_OK):
                raise ClusterError(f"{binary} missing in {self.bin_dir}")
        if self.workdir is None:
            self.workdir = tempfile.mkdtemp(prefix="spotfit-e2e-")
            self._own_workdir = True
        else:
            os.makedirs(self.workdir, exist_ok=True)
            self._own_workdir = False
        self.pki = os.path.join(self.workdir, "pki")
        self.logs = os.path.join(self.workdir, "logs")
        os.makedirs(self.logs, exist_ok=True)
        generate_pki(self.pki)

        etcd_client, etcd_peer = _free_port(self.ports), _free_port(self.ports)
        self.apiserver_port = _free_port(self.ports)
        self.server = f"https://127.0.0.1:{self.apiserver_port}"
        self.kubeconfig = os.path.join(self.workdir, "kubeconfig")
        write_kubeconfig(self.kubeconfig, self.server, self.pki)
        self.kube = kubeapi.Kube(self.server, os.path.join(self.pki, "ca.crt"),
                                 os.path.join(self.pki, "admin.crt"), os.path.join(self.pki, "admin.key"))

        deadline = time.monotonic() + READY_TIMEOUT
        etcd = self._spawn("etcd", [
            "--name=e2e", f"--data-dir={self.workdir}/etcd",
            f"--listen-client-urls=http://127.0.0.1:{etcd_client}",
            f"--advertise-client-urls=http://127.0.0.1:{etcd_client}",
            f"--listen-peer-urls=http://127.0.0.1:{etcd_peer}",
            f"--initial-advertise-peer-urls=http://127.0.0.1:{etcd_peer}",
            f"--initial-cluster=e2e=http://127.0.0.1:{etcd_peer}",
            "--unsafe-no-fsync", "--log-level=warn", "--listen-metrics-urls="])
        self._wait(etcd, "etcd health", lambda: http_ok(f"http://127.0.0.1:{etcd_client}/health"), deadline)

        pki = self.pki
        optional = []
        if self.aggregator_routing:
            optional.append("--enable-aggregator-routing=true")
        if self.audit_users:
            policy = os.path.join(self.workdir, "audit-policy.json")
            with open(policy, "w") as f:
                json.dump({"apiVersion": "audit.k8s.io/v1", "kind": "Policy", "omitStages": ["RequestReceived"],
                           "rules": [{"level": "Metadata", "users": self.audit_users}, {"level": "None"}]}, f)
            self.audit_log = os.path.join(self.logs, "audit.log")
            optional += [f"--audit-policy-file={policy}", f"--audit-log-path={self.audit_log}",
                         "--audit-log-format=json", "--audit-log-mode=blocking"]
        self.apiserver = self._spawn("kube-apiserver", [
            f"--etcd-servers=http://127.0.0.1:{etcd_client}",
            "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", f"--secure-port={self.apiserver_port}",
            f"--tls-cert-file={pki}/apiserver.crt", f"--tls-private-key-file={pki}/apiserver.key",
            f"--client-ca-file={pki}/ca.crt",
            f"--service-account-key-file={pki}/sa.pub", f"--service-account-signing-key-file={pki}/sa.key",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--authorization-mode=Node,RBAC",
            # The 'kubernetes' Service cannot point at a loopback address; nothing in-cluster needs it.
            "--endpoint-reconciler-type=none",
            f"--requestheader-client-ca-file={pki}/front-proxy-ca.crt",
            "--requestheader-allowed-names=front-proxy-client", "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group", "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--enable-admission-plugins=MutatingAdmissionWebhook,ValidatingAdmissionWebhook,"
            "ValidatingAdmissionPolicy,NamespaceLifecycle,ServiceAccount,TaintNodesByCondition,Priority,"
            "DefaultTolerationSeconds,DefaultStorageClass,ResourceQuota,LimitRanger",
            "--profiling=false", "--v=1", *optional, *self.apiserver_args])
        ca_context = ssl.create_default_context(cafile=os.path.join(pki, "ca.crt"))
        ca_context.load_cert_chain(os.path.join(pki, "admin.crt"), os.path.join(pki, "admin.key"))
        self._wait(self.apiserver, "kube-apiserver /readyz",
                   lambda: _https_ok(f"{self.server}/readyz", ca_context), deadline)

        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        kcm_port = _free_port(self.ports)
        kcm = self._spawn("kube-controller-manager", [
            f"--kubeconfig={self.kubeconfig}", f"--authentication-kubeconfig={self.kubeconfig}",
            f"--authorization-kubeconfig={self.kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={kcm_port}", f"--cert-dir={self.workdir}/kcm-certs",
            "--leader-elect=false", f"--root-ca-file={pki}/ca.crt",
            f"--service-account-private-key-file={pki}/sa.key", f"--service-cluster-ip-range={SERVICE_CIDR}",
            # No kubelets heartbeat here: give nodes an hour before the node-lifecycle controller would call
            # them unreachable. It still removes the not-ready taint from nodes that report Ready, as for
            # the nodes spotfit's kwok provider creates.
            "--node-monitor-grace-period=1h", "--node-startup-grace-period=1h",
            "--concurrent-job-syncs=10", "--v=1"])
        sched_port = _free_port(self.ports)
        config = os.path.join(self.workdir, "scheduler-config.json")
        with open(config, "w") as f:
            json.dump(self.scheduler_configuration(), f, indent=1)
        scheduler = self._spawn("kube-scheduler", [
            f"--config={config}", f"--authentication-kubeconfig={self.kubeconfig}",
            f"--authorization-kubeconfig={self.kubeconfig}",
            "--bind-address=127.0.0.1", f"--secure-port={sched_port}", f"--cert-dir={self.workdir}/sched-certs",
            "--v=1"])
        self._wait(kcm, "kube-controller-manager /healthz",
                   lambda: _https_ok(f"https://127.0.0.1:{kcm_port}/healthz", insecure), deadline)
        self._wait(scheduler, "kube-scheduler /healthz",
                   lambda: _https_ok(f"https://127.0.0.1:{sched_port}/healthz", insecure), deadline)
        # The controllers are serving; the default ServiceAccount shows the controller-manager reconciles.
        self._wait(kcm, "ServiceAccount default/default",
                   lambda: self.kube.exists("/api/v1/namespaces/default/serviceaccounts/default"), deadline)

    def scheduler_configuration(self):
        return {
            "apiVersion": "kubescheduler.config.k8s.io/v1", "kind": "KubeSchedulerConfiguration",
            "clientConnection": {"kubeconfig": self.kubeconfig, "qps": 500, "burst": 1000},
            "leaderElection": {"leaderElect": False},
            "extenders": self.scheduler_extenders,
        }

    def start_extra_scheduler(self, name, configuration, timeout=None):
        """Starts another kube-scheduler process with the given KubeSchedulerConfiguration (a dict, or YAML
        text; its clientConnection is pointed at this cluster) and waits until it is healthy."""
        if isinstance(configuration, str):
            # YAML text (a manifest): the standard library has no YAML parser, so point the connection at
            # this cluster textually; kube-scheduler's strict decoding refuses anything malformed loudly.
            existing = re.compile(r"^(clientConnection:[ \t]*\n(?:[ \t]+.*\n)*?[ \t]+kubeconfig:)[ \t]*\S+", re.M)
            if existing.search(configuration):
                text = existing.sub(lambda m: f"{m.group(1)} {self.kubeconfig}", configuration, count=1)
            elif re.search(r"^clientConnection:", configuration, re.M):
                raise ClusterError(f"{name}: clientConnection without kubeconfig is not supported")
            else:
                text = f"clientConnection:\n  kubeconfig: {self.kubeconfig}\n{configuration}"
            path = os.path.join(self.workdir, f"{name}-config.yaml")
        else:
            configuration = dict(configuration)
            configuration["clientConnection"] = dict(configuration.get("clientConnection") or {},
                                                     kubeconfig=self.kubeconfig)
            text = json.dumps(configuration, indent=1)
            path = os.path.join(self.workdir, f"{name}-config.json")
        with open(path, "w") as f:
            f.write(text)
        port = _free_port(self.ports)
        process = Process(name, [os.path.join(self.bin_dir, "kube-scheduler"), f"--config={path}",
                                 f"--authentication-kubeconfig={self.kubeconfig}",
                                 f"--authorization-kubeconfig={self.kubeconfig}", "--bind-address=127.0.0.1",
                                 f"--secure-port={port}", f"--cert-dir={self.workdir}/{name}-certs",
                                 "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics", "--v=1"],
                          os.path.join(self.logs, f"{name}.log"))
        process.port = port
        self.processes.append(process)
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        deadline = time.monotonic() + (timeout or READY_TIMEOUT)
        try:
            self._wait(process, f"{name} /healthz",
                       lambda: _https_ok(f"https://127.0.0.1:{port}/healthz", insecure), deadline)
        except ClusterError as error:
            raise ClusterError(f"{error}\n{process.tail()}") from None
        return process

    def stop_process(self, process):
        """Stops one process started by this cluster (an extra scheduler, spotfit)."""
        code = process.stop()
        if process in self.processes:
            self.processes.remove(process)
        return code

    def kill_process(self, process):
        """SIGKILLs one process started by this cluster (a crash)."""
        code = process.kill()
        if process in self.processes:
            self.processes.remove(process)
        return code

    def add_process(self, name, argv, env=None):
        """Starts a process that lives and dies with the cluster (log in logs/<name>.log)."""
        process = Process(name, argv, os.path.join(self.logs, f"{name}.log"), env=env)
        self.processes.append(process)
        return process

    def stop(self):
        codes = {}
        for process in reversed(self.processes):
            codes[process.name] = process.stop()
        self.processes = []
        if self.workdir and getattr(self, "_own_workdir", False) and not self.keep:
            shutil.rmtree(self.workdir, ignore_errors=True)
        return codes

    # -- helpers -------------------------------------------------------------------------------------

    def _spawn(self, name, args):
        process = Process(name, [os.path.join(self.bin_dir, name), *args], os.path.join(self.logs, f"{name}.log"))
        self.processes.append(process)
        return process

    def _wait(self, process, what, probe, deadline):
        while True:
            if not process.alive():
                raise ClusterError(f"{process.name} exited with {process.popen.returncode} before {what}")
            try:
                if probe():
                    return
            except (kubeapi.ApiError, OSError):
                pass
            if time.monotonic() >= deadline:
                raise ClusterError(f"timed out after {READY_TIMEOUT:.0f}s waiting for {what}")
            time.sleep(0.25)

    def report(self):
        """The last log lines of every component, for failure messages."""
        parts = []
        for process in self.processes:
            state = "running" if process.alive() else f"exited {process.popen.returncode}"
            parts.append(f"--- {process.name} ({state}), {process.log_path}:\n{process.tail()}")
        return "\n".join(parts)

    def kubectl(self, *args, check=True, input_text=None):
        result = subprocess.run([os.path.join(self.bin_dir, "kubectl"), f"--kubeconfig={self.kubeconfig}", *args],
                                input=input_text, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                stdin=None if input_text is not None else subprocess.DEVNULL)
        if check and result.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed ({result.returncode}): {result.stderr.strip()}")
        return result

    def audit_events(self):
        """The audit log's events so far (dicts, audit.k8s.io/v1 Event), when started with audit_users."""
        if not self.audit_log:
            raise ClusterError("the cluster was started without audit_users")
        events = []
        try:
            with open(self.audit_log) as f:
                lines = f.read().split("\n")
        except FileNotFoundError:
            return events
        # The last element is "" after a complete line, or a line the apiserver is still writing.
        for line in lines[:-1]:
            if line.strip():
                events.append(json.loads(line))
        return events

    def metrics(self):
        """The apiserver's Prometheus text exposition."""
        return self.kube.request("GET", "/metrics", raw=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the control plane and keep it running until interrupted")
    up.add_argument("--dir", help="work directory (certs, logs, kubeconfig); kept after exit")
    sub.add_parser("build", help="build (or find cached) binaries and print their directory")
    args = parser.parse_args()
    if args.command == "build":
        print(build_control_plane())
        return 0
    cluster = Cluster(workdir=args.dir, keep=True if args.dir else None)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        start = time.monotonic()
        cluster.start()
        print(f"control plane ready in {time.monotonic() - start:.1f}s", flush=True)
        print(f"export KUBECONFIG={cluster.kubeconfig}", flush=True)
        print(f"kubectl: {cluster.bin_dir}/kubectl   logs: {cluster.logs}   (Ctrl-C stops)", flush=True)
        while all(p.alive() for p in cluster.processes):
            time.sleep(1)
        print("a component exited:\n" + cluster.report(), file=sys.stderr)
        return 1
    except ClusterError as error:
        print(f"controlplane: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        cluster.stop()


if __name__ == "__main__":
    sys.exit(main())

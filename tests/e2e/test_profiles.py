"""Workflow profiles learned from the real control plane (issue 18): the leader-elected scaler learns a Job
workflow from its Pods and Jobs (requests, runs, OOM kills) and from a fake metrics.k8s.io PodMetrics
endpoint this test serves (usage), saves the profile in the ledger ConfigMap (key profiles.json), and the
webhook sizes the next run's pods from it; an OOM-killed run raises memory for the run after it.

The fake is reached through `scaler.profiles.metricsServer` (a base URL serving
/apis/metrics.k8s.io/v1beta1/pods directly), not through an APIService: the e2e control plane has no
aggregation layer set up (no requestheader/proxy-client certificates) and no Service network to reach an
aggregated server on. Pods never run on kwok nodes: the test reports them Running and then finished (or
OOMKilled) through pods/status, as a kubelet would; the real Job controller completes the Jobs."""

import http.server
import json
import threading
import unittest

from e2e_common import WAIT, ClusterTestCase, node_pool, unique, wait_for

NAMESPACE = "spotfit-system"
MIN_RUNS = 3
CPU_USAGE_M = 250
MEMORY_USAGE_MI = 100
POOL = "e2e-profiles"


class FakeMetrics:
    """A plain-HTTP metrics.k8s.io PodMetrics list: usage for every pod in `usage` ((ns, name) -> (cpu
    millicores, memory MiB)); counts the lists it served."""

    def __init__(self):
        self.usage = {}
        self.lists = 0
        self.lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                if self.path.split("?")[0] != "/apis/metrics.k8s.io/v1beta1/pods":
                    self.send_error(404)
                    return
                with fake.lock:
                    items = [{"metadata": {"name": name, "namespace": ns}, "timestamp": "2026-01-01T00:00:00Z",
                              "window": "15s", "containers": [{"name": "work", "usage": {
                                  "cpu": f"{cpu}m", "memory": f"{mem}Mi"}}]}
                             for (ns, name), (cpu, mem) in fake.usage.items()]
                    fake.lists += 1
                body = json.dumps({"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1",
                                   "metadata": {}, "items": items}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def served(self):
        with self.lock:
            return self.lists

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def job(name, workflow):
    annotations = {"spotfit.io/workflow": workflow}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "annotations": annotations},
            "spec": {"parallelism": 1, "completions": 1, "backoffLimit": 0, "template": {
                "metadata": {"annotations": annotations},
                "spec": {"restartPolicy": "Never", "containers": [{
                    "name": "work", "image": "registry.invalid/e2e/etl:1",
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}}}}


def oom_killed(kube, namespace, name):
    """Reports the pod's container OOM-killed (exit 137), as the kubelet would: phase Failed."""
    pod = kube.get(f"/api/v1/namespaces/{namespace}/pods/{name}")
    statuses = [{"name": c["name"], "ready": False, "restartCount": 0, "image": c["image"], "imageID": "",
                 "started": False, "state": {"terminated": {"exitCode": 137, "reason": "OOMKilled",
                                                            "startedAt": "2026-01-01T00:00:00Z",
                                                            "finishedAt": "2026-01-01T00:00:05Z"}}}
                for c in pod["spec"]["containers"]]
    return kube.request("PATCH", f"/api/v1/namespaces/{namespace}/pods/{name}/status",
                        {"status": {"phase": "Failed", "containerStatuses": statuses}},
                        content_type="application/strategic-merge-patch+json")


def stored_profile(kube, namespace, workflow):
    """The workflow's entry of profiles.json in the ledger ConfigMap, or None."""
    cm = kube.get_or_none(f"/api/v1/namespaces/{NAMESPACE}/configmaps/spotfit-cost-ledger")
    text = ((cm or {}).get("data") or {}).get("profiles.json")
    if not text:
        return None
    for p in json.loads(text)["profiles"]:
        if p[0] == namespace and p[1] == workflow:
            return p
    return None


def requests_of(pod):
    return pod["spec"]["containers"][0]["resources"]["requests"]


class ProfilesTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.metrics = FakeMetrics()
        cls.addClassCleanup(cls.metrics.stop)
        config = f"""webhook:
  ownNamespace: {NAMESPACE}
  rightSizing: {{minRuns: {MIN_RUNS}, refresh: 1s}}
scaler:
  namespace: {NAMESPACE}
  batchIdle: 1s
  batchMax: 3s
  ledgerFlushInterval: 1s
  profiles: {{metricsInterval: 1s, metricsTimeout: 2s, saveInterval: 1s, metricsServer: "{cls.metrics.url}"}}
"""
        cls.start_scaler(config, [node_pool(POOL, {
            "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192, "spotPrice": 0.07},
            disruption={"consolidateAfter": "1h", "consolidateUnderused": False})], namespace=NAMESPACE)
        cls.webhook_name = cls.spotfit.register_webhook()
        cls.ns = unique("profiles")
        cls.kube.create_namespace(cls.ns, {"spotfit.io/enabled": "true"})
        cls.kube.wait_default_service_account(cls.ns, WAIT)

    def run_pod(self, job_name):
        """Creates the Job and returns its pod once bound (the scaler makes the node for the first)."""
        self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs", job(job_name, "etl"))

        def bound():
            pods = self.kube.pods(self.ns, f"job-name={job_name}")
            return pods[0] if pods and pods[0]["spec"].get("nodeName") else None
        return wait_for(f"the pod of {job_name} bound", bound, 3 * WAIT)

    def wait_sampled(self, name):
        """Usage is served for the running pod; two lists later the learner has polled it while it ran."""
        with self.metrics.lock:
            self.metrics.usage[(self.ns, name)] = (CPU_USAGE_M, MEMORY_USAGE_MI)
        start = self.metrics.served()
        wait_for(f"two PodMetrics polls while {name} runs", lambda: self.metrics.served() >= start + 2, WAIT)

    def job_finished(self, job_name):
        def done():
            j = self.kube.get(f"/apis/batch/v1/namespaces/{self.ns}/jobs/{job_name}")
            return any(c["type"] in ("Complete", "Failed") and c["status"] == "True"
                       for c in j.get("status", {}).get("conditions") or [])
        wait_for(f"{job_name} finished", done, WAIT)

    def test_runs_learned_with_fake_usage_size_the_next_run_and_an_oom_raises_memory(self):
        # Probe until the apiserver calls the just-registered webhook.
        wait_for("the apiserver to call the webhook", lambda: "spotfit.io/mutated" in json.dumps(self.kube.create(
            f"/apis/batch/v1/namespaces/{self.ns}/jobs", job("probe", "probe"), dryRun="All")), WAIT)
        for run in range(1, MIN_RUNS + 1):
            name = f"etl-{run}"
            pod = self.run_pod(name)
            self.assertEqual(requests_of(pod), {"cpu": "1", "memory": "1Gi"}, "as written before it learned")
            self.kube.set_pod_running(self.ns, pod["metadata"]["name"])
            self.wait_sampled(pod["metadata"]["name"])
            self.kube.set_pod_phase(self.ns, pod["metadata"]["name"], "Succeeded")
            self.job_finished(name)

        # The leader saved the profile: three runs, the fake's usage, the requests as written.
        profile = wait_for("profiles.json to hold three runs of etl", lambda: (
            lambda p: p if p and p[2] >= MIN_RUNS else None)(stored_profile(self.kube, self.ns, "etl")), WAIT)
        container = profile[9][0]
        self.assertEqual(container[0], "work")
        self.assertEqual(container[1], 1000)  # requestCpuMilli
        self.assertEqual(container[5], [CPU_USAGE_M] * MIN_RUNS)  # per-pod CPU peaks
        self.assertEqual(container[6], [MEMORY_USAGE_MI << 20] * MIN_RUNS)

        # The next run's pod is sized from the profile: usage x 1.2 headroom, recorded by the webhook.
        # (the webhook re-reads profiles.json every second: retry the Job until it has)
        def sized(run=[MIN_RUNS]):  # noqa: B006 (a counter across calls)
            pod = self.run_pod(f"etl-{run[0] + 1}")
            run[0] += 1
            if requests_of(pod) != {"cpu": "1", "memory": "1Gi"}:
                return pod
            self.kube.set_pod_phase(self.ns, pod["metadata"]["name"], "Succeeded")
            return None
        pod = wait_for("a run sized from the profile", sized, 3 * WAIT, interval=1)
        self.assertEqual(requests_of(pod), {"cpu": "300m", "memory": "120Mi"})
        self.assertIn("requests-profile", self.mutated(pod))

        # That run is OOM-killed at its 120Mi: the run after it asks for more memory than that.
        self.kube.set_pod_running(self.ns, pod["metadata"]["name"])
        oom_killed(self.kube, self.ns, pod["metadata"]["name"])
        wait_for("the OOM kill in profiles.json", lambda: (
            stored_profile(self.kube, self.ns, "etl") or [0, 0, 0, 0, 0])[4] >= 1, WAIT)

        def raised(run=[0]):  # noqa: B006
            run[0] += 1
            p = self.run_pod(f"etl-after-oom-{run[0]}")
            memory = requests_of(p)["memory"]
            if memory != "120Mi":
                return p
            self.kube.set_pod_phase(self.ns, p["metadata"]["name"], "Succeeded")
            return None
        after = wait_for("a run with memory above the OOM-killed 120Mi", raised, 3 * WAIT, interval=1)
        self.assertEqual(requests_of(after)["memory"], "144Mi")  # the killed 120Mi x 1.2
        self.assertIn("requests-profile", self.mutated(after))

    def mutated(self, pod):
        """spotfit.io/mutated of the pod and of its Job (the webhook sizes the Job's template)."""
        job_name = pod["metadata"]["labels"]["job-name"]
        j = self.kube.get(f"/apis/batch/v1/namespaces/{self.ns}/jobs/{job_name}")
        return " ".join(o["metadata"].get("annotations", {}).get("spotfit.io/mutated", "")
                        for o in (pod, j, j["spec"]["template"]))


if __name__ == "__main__":
    unittest.main()

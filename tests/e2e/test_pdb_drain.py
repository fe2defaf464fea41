"""Scenario 3, PDB-limited eviction: the scaler removes an under-used node whose pods are protected by a
PodDisruptionBudget. The real kube-apiserver's Eviction API refuses (429) while the budget's
disruptionsAllowed is 0, and the real kube-controller-manager's disruption controller computes that from the
pods this test marks Running/Ready (the kubelet's part). The test plays the kubelet in a polling loop and
records every sample: at no time are more of the Deployment's pods gone or terminating than the budget
allows, the scaler retries the refused evictions (spotfit_scaler_evictions_total{result="blocked"}), and the
node is removed once the replacements on the other node are Ready."""

import time
import unittest

from e2e_common import WAIT, ClusterTestCase, install_nodepool_crd, kubeapi, node_pool, pool_nodes, unique, wait_for
import spotfitproc

CONFIG = """scaler:
  namespace: spotfit
  batchIdle: 1s
  batchMax: 3s
  scaleDownCooldown: 1s
  evictionRetry: 1s
"""

REPLICAS = 3
MIN_AVAILABLE = 2
# What the fake kubelet waits before it reports a new pod Ready, and before it finishes a terminating pod
# (its preStop and grace period). While a replacement is not Ready the budget allows no eviction.
START_DELAY_S = 2.0
STOP_DELAY_S = 1.0


class FakeKubelet:
    """Marks bound pods Running/Ready START_DELAY_S after first seeing them bound and removes terminating
    pods STOP_DELAY_S after first seeing them terminating, and records what each poll saw."""

    def __init__(self, kube, namespace, selector):
        self.kube, self.namespace, self.selector = kube, namespace, selector
        self.bound_seen, self.terminating_seen = {}, {}
        self.samples = []          # (seconds, healthy, terminating, node names of the healthy pods)
        self.healthy = set()       # names of pods Ready and not terminating at the last poll
        self.vanished = []         # pods that left while healthy, without going through termination
        self.finished = set()      # terminating pods this kubelet removed
        self.started = time.monotonic()

    def poll(self):
        now = time.monotonic()
        pods = self.kube.pods(self.namespace, self.selector)
        names = {p["metadata"]["name"] for p in pods}
        self.vanished += sorted(self.healthy - names - self.finished)
        healthy, terminating, nodes = set(), 0, []
        for pod in pods:
            name = pod["metadata"]["name"]
            if pod["metadata"].get("deletionTimestamp"):
                terminating += 1
                since = self.terminating_seen.setdefault(name, now)
                if now - since >= STOP_DELAY_S:
                    self.kube.delete(f"/api/v1/namespaces/{self.namespace}/pods/{name}", gracePeriodSeconds="0")
                    self.finished.add(name)
                continue
            if kubeapi.is_ready(pod):
                healthy.add(name)
                nodes.append(pod["spec"]["nodeName"])
            elif pod["spec"].get("nodeName"):
                since = self.bound_seen.setdefault(name, now)
                if now - since >= START_DELAY_S:
                    self.kube.set_pod_running(self.namespace, name)
        self.healthy = healthy
        self.samples.append((now - self.started, len(healthy), terminating, nodes))
        return pods


class PdbLimitedDrainTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install_nodepool_crd(cls.cluster)
        cls.kube.create_namespace("spotfit")
        # e2e-web is the cheaper pool, so the Deployment's pods get a node there. It does not consolidate
        # under-used nodes until the test turns that on, once the other node is in place.
        cls.kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", node_pool("e2e-web", {
            "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192, "spotPrice": 0.07},
            disruption={"consolidateAfter": "1h", "consolidateUnderused": False, "unneededTime": "2s",
                        "utilizationThreshold": 0.5}))
        cls.kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", node_pool("e2e-batch", {
            "name": "c5.xlarge", "cpu": "4", "memory": "8Gi", "onDemandPrice": 0.17, "spotPrice": 0.1},
            disruption={"consolidateAfter": "1h", "consolidateUnderused": False}))
        cls.spotfit = spotfitproc.Spotfit(cls.cluster, config_text=CONFIG, scaler=True)
        cls.spotfit.start()

    def test_underused_node_is_drained_no_faster_than_its_pdb_allows(self):
        ns = unique("pdb")
        self.kube.create_namespace(ns)
        self.kube.wait_default_service_account(ns, WAIT)
        web = "app=web"
        kubelet = FakeKubelet(self.kube, ns, web)

        # A Deployment of 3 x 400m pods: unschedulable (no nodes), the scaler makes one e2e-web node for all.
        self.kube.create(f"/apis/apps/v1/namespaces/{ns}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": REPLICAS, "selector": {"matchLabels": {"app": "web"}}, "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"terminationGracePeriodSeconds": 30, "containers": [{
                    "name": "c", "image": "registry.invalid/e2e/web:1",
                    "resources": {"requests": {"cpu": "400m", "memory": "256Mi"}}}]}}}})
        self.kube.create(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
            "spec": {"minAvailable": MIN_AVAILABLE, "selector": {"matchLabels": {"app": "web"}}}})

        def web_ready():
            pods = kubelet.poll()
            return pods if len(kubelet.healthy) == REPLICAS and len(pods) == REPLICAS else None

        pods = wait_for("the Deployment's pods Ready on a new node", web_ready, 3 * WAIT)
        web_nodes = {p["spec"]["nodeName"] for p in pods}
        self.assertEqual(len(web_nodes), 1, web_nodes)
        (drained,) = web_nodes
        self.assertEqual({n["metadata"]["name"] for n in pool_nodes(self.kube, "e2e-web")}, web_nodes)
        original_pods = {p["metadata"]["name"] for p in pods}

        def pdb_status():
            status = self.kube.get(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/web").get("status") or {}
            return status if status.get("currentHealthy") == REPLICAS and status.get(
                "disruptionsAllowed") == REPLICAS - MIN_AVAILABLE else None

        wait_for("the disruption controller to allow one disruption", pdb_status, WAIT)

        # A Job pod (2.5 CPU) that only the e2e-batch pool may run: a second node with room for the web pods.
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "batch"},
            "spec": {"template": {"spec": {
                "restartPolicy": "Never", "nodeSelector": {"spotfit.io/node-pool": "e2e-batch"},
                "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                "resources": {"requests": {"cpu": "2500m", "memory": "1Gi"}}}]}}}})

        def batch_bound():
            pods = [p for p in self.kube.pods(ns, "batch.kubernetes.io/job-name=batch") if p["spec"].get("nodeName")]
            return pods[0] if pods else None

        batch_pod = wait_for("the Job's pod on an e2e-batch node", batch_bound, 3 * WAIT)
        self.kube.set_pod_running(ns, batch_pod["metadata"]["name"])
        target = batch_pod["spec"]["nodeName"]
        self.assertIn(target, {n["metadata"]["name"] for n in pool_nodes(self.kube, "e2e-batch")})
        self.assertEqual(self.spotfit.metric("spotfit_scaler_evictions_total"), 0)

        # Now the e2e-web node (1.2 of 4 CPUs requested) is under-used and its pods fit on the other node.
        self.kube.merge_patch("/apis/spotfit.io/v1alpha1/spotfitpools/e2e-web",
                              {"spec": {"disruption": {"consolidateUnderused": True}}})
        start = time.monotonic()
        kubelet.samples.clear()
        drain_started = node_gone_at = None

        def drained_and_replaced():
            nonlocal drain_started, node_gone_at
            kubelet.poll()
            if drain_started is None and self.spotfit.metric("spotfit_scaler_evictions_total") > 0:
                drain_started = time.monotonic()
            node_gone = not self.kube.exists(f"/api/v1/nodes/{drained}")
            if node_gone and node_gone_at is None:
                node_gone_at = time.monotonic()
            return node_gone and len(kubelet.healthy) == REPLICAS and not kubelet.samples[-1][2]

        wait_for(f"node {drained} to be drained and removed, with every web pod Ready elsewhere",
                 drained_and_replaced, 3 * WAIT, interval=0.1)
        elapsed = node_gone_at - start

        # The budget held at every sample: never fewer than minAvailable web pods Ready.
        least = min(s[1] for s in kubelet.samples)
        most_terminating = max(s[2] for s in kubelet.samples)
        self.assertGreaterEqual(least, MIN_AVAILABLE, kubelet.samples)
        self.assertLessEqual(most_terminating, REPLICAS - MIN_AVAILABLE, kubelet.samples)
        self.assertEqual(kubelet.vanished, [], "pods removed without going through eviction/termination")
        # Every original pod was evicted (none left on the node); their replacements run on the other node.
        pods = self.kube.pods(ns, web)
        self.assertEqual(len(pods), REPLICAS)
        self.assertTrue(original_pods.isdisjoint({p["metadata"]["name"] for p in pods}))
        self.assertEqual({p["spec"]["nodeName"] for p in pods}, {target})
        self.assertEqual(set(kubelet.finished), original_pods)

        metrics = self.spotfit.metrics()
        evicted = spotfitproc.metric_sum(metrics, "spotfit_scaler_evictions_total", result="evicted")
        blocked = spotfitproc.metric_sum(metrics, "spotfit_scaler_evictions_total", result="blocked")
        self.assertEqual(evicted, REPLICAS)
        # One eviction at a time: the second pod's eviction in the drain's first pass is refused, and
        # refused ones are retried (evictionRetry 1s) until the replacement is Ready.
        self.assertGreaterEqual(blocked, 1)
        self.assertEqual(spotfitproc.metric_sum(metrics, "spotfit_scaler_scale_downs_total", reason="underused"), 1)
        events = self.kube.get(f"/api/v1/namespaces/{ns}/events")["items"]
        self.assertTrue(any(e["reason"] == "EvictionBlocked" and e["involvedObject"]["name"] in original_pods
                            for e in events), [e["reason"] for e in events])
        # The batch node and its Job pod were left alone.
        self.assertIsNone(self.kube.get(f"/api/v1/namespaces/{ns}/pods/{batch_pod['metadata']['name']}")
                          ["metadata"].get("deletionTimestamp"))
        self.assertTrue(self.kube.exists(f"/api/v1/nodes/{target}"))
        drain_s = node_gone_at - drain_started
        print(f"\nPDB-limited drain of {REPLICAS} pods (minAvailable {MIN_AVAILABLE}, replacements Ready after "
              f"{START_DELAY_S:.0f}s): node removed {elapsed:.1f}s after consolidation was enabled "
              f"(drain ~{drain_s:.1f}s); evictions evicted={evicted:.0f} blocked={blocked:.0f}; "
              f"least Ready during the drain {least}")


if __name__ == "__main__":
    unittest.main()

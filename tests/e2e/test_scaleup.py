"""Scale-up through the real API (scenario 2, scaler side): NodePool objects of the project's CRD,
`spotfit serve --scaler` with the kwok provider, and unschedulable CPU and GPU pods. The scaler creates
the nodes the plan calls for (bin-packed, no duplicates), the node-lifecycle controller and kube-scheduler
treat them as real nodes, and every pod ends up bound on a node of the right pool."""

import os
import time
import unittest

from e2e_common import SOURCE_DIR, WAIT, ClusterTestCase, node_pool, unique, wait_for
import spotfitproc

CONFIG = """scaler:
  namespace: spotfit
  batchIdle: 1s
  batchMax: 3s
"""


CONSOLIDATE_AFTER_S = 5  # the pool's consolidateAfter in ScaleDownTest


def counter_sum(metrics, name, **labels):
    return spotfitproc.metric_sum(metrics, name, **labels)


class ScaleUpTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster.kubectl("apply", "-k", os.path.join(SOURCE_DIR, "manifests", "crd"))
        wait_for("nodepools to be served",
                 lambda: cls.kube.get("/apis/spotfit.io/v1alpha1/nodepools") is not None, WAIT)
        cls.kube.create_namespace("spotfit")
        cls.kube.create("/apis/spotfit.io/v1alpha1/nodepools", node_pool("e2e-cpu", {
            "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192, "spotPrice": 0.07}))
        cls.kube.create("/apis/spotfit.io/v1alpha1/nodepools", node_pool("e2e-gpu", {
            "name": "g4dn.xlarge", "cpu": "4", "memory": "16Gi", "gpus": 1, "gpuProduct": "Tesla-T4",
            "onDemandPrice": 0.526, "spotPrice": 0.2}))
        cls.spotfit = spotfitproc.Spotfit(cls.cluster, config_text=CONFIG, scaler=True)
        cls.spotfit.start()

    def pool_nodes(self, pool):
        return self.kube.get("/api/v1/nodes", labelSelector=f"spotfit.io/node-pool={pool}")["items"]

    def test_unschedulable_cpu_and_gpu_pods_get_packed_nodes_from_their_pools(self):
        ns = unique("scaleup")
        self.kube.create_namespace(ns)
        self.kube.wait_default_service_account(ns, WAIT)
        cpu_pods = [f"cpu-{i}" for i in range(6)]
        for name in cpu_pods:
            self.kube.create(f"/api/v1/namespaces/{ns}/pods", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                         "resources": {"requests": {"cpu": "1500m", "memory": "2Gi"}}}]}})
        self.kube.create(f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gpu-0"},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                     "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "1"},
                                                   "limits": {"nvidia.com/gpu": "1"}}}]}})

        def all_bound():
            pods = self.kube.pods(ns)
            return pods if len(pods) == 7 and all(p["spec"].get("nodeName") for p in pods) else None

        pods = wait_for("the scaler's nodes to take every pod", all_bound, 3 * WAIT)
        placement = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in pods}
        cpu_request = {p["metadata"]["name"]: 1.5 if p["metadata"]["name"].startswith("cpu") else 1.0 for p in pods}
        nodes = {n["metadata"]["name"]: n for n in self.pool_nodes("e2e-cpu") + self.pool_nodes("e2e-gpu")}

        # Every pod runs on a node the scaler made for it.
        self.assertTrue(set(placement.values()) <= set(nodes), (placement, sorted(nodes)))
        # 10 CPUs of requests on 4-CPU nodes: 3 nodes is the minimum, and the plan takes no more.
        self.assertEqual(len(nodes), 3, sorted(nodes))
        for name, node in nodes.items():
            used = sum(cpu_request[p] for p, n in placement.items() if n == name)
            self.assertLessEqual(used, 4.0, name)
            self.assertGreaterEqual(used, 2.0, f"{name} is barely used: not bin-packed")
        # The GPU pod got the one GPU node, labelled as GPU feature discovery would.
        gpu_nodes = self.pool_nodes("e2e-gpu")
        self.assertEqual([n["metadata"]["name"] for n in gpu_nodes], [placement["gpu-0"]])
        self.assertEqual(gpu_nodes[0]["metadata"]["labels"]["nvidia.com/gpu.product"], "Tesla-T4")
        self.assertEqual(gpu_nodes[0]["status"]["allocatable"]["nvidia.com/gpu"], "1")
        # Spot first: both pools offer spot.
        for node in nodes.values():
            self.assertEqual(node["metadata"]["labels"].get("spotfit.io/capacity-type"), "spot")

        # A settled cluster stays settled: later passes create nothing more.
        self.assertEqual(self.scale_ups(), 3.0)
        metrics = self.spotfit.metrics()
        wait_for("another scaler pass", lambda: self.spotfit.metrics() != metrics, WAIT)
        self.assertEqual(self.scale_ups(), 3.0)
        self.assertEqual(len(self.pool_nodes("e2e-cpu")) + len(self.pool_nodes("e2e-gpu")), 3)

    def scale_ups(self):
        total = 0.0
        for line in self.spotfit.metrics().splitlines():
            if line.startswith("spotfit_scaler_scale_ups_total{"):
                total += float(line.rsplit(" ", 1)[1])
        return total


class ScaleDownTest(ClusterTestCase):
    """Scenario 3: the Job's pods complete (their status set as a kubelet would) and the scaler removes
    the nodes that became empty, and only those, within the pool's consolidateAfter plus a few passes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster.kubectl("apply", "-k", os.path.join(SOURCE_DIR, "manifests", "crd"))
        wait_for("nodepools to be served",
                 lambda: cls.kube.get("/apis/spotfit.io/v1alpha1/nodepools") is not None, WAIT)
        cls.kube.create_namespace("spotfit")
        cls.kube.create("/apis/spotfit.io/v1alpha1/nodepools", node_pool("e2e-cpu", {
            "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192, "spotPrice": 0.07},
            disruption={"consolidateAfter": f"{CONSOLIDATE_AFTER_S}s", "consolidateUnderused": False}))
        cls.spotfit = spotfitproc.Spotfit(cls.cluster, scaler=True,
                                          config_text=CONFIG + "  scaleDownCooldown: 1s\n")
        cls.spotfit.start()

    def test_nodes_emptied_by_completed_jobs_are_removed_and_busy_ones_kept(self):
        ns = unique("scaledown")
        self.kube.create_namespace(ns)
        self.kube.wait_default_service_account(ns, WAIT)
        for job_name, parallelism in (("short", 4), ("long", 2)):
            self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", {
                "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": job_name},
                "spec": {"parallelism": parallelism, "completions": parallelism, "template": {"spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                    "resources": {"requests": {"cpu": "1500m", "memory": "2Gi"}}}]}}}})

        def bound(selector, count):
            pods = self.kube.pods(ns, selector)
            return pods if len(pods) == count and all(p["spec"].get("nodeName") for p in pods) else None

        short = wait_for("the short Job's pods on new nodes", lambda: bound("batch.kubernetes.io/job-name=short", 4),
                         3 * WAIT)
        long_pods = wait_for("the long Job's pods on new nodes", lambda: bound("batch.kubernetes.io/job-name=long", 2),
                             3 * WAIT)
        short_nodes = {p["spec"]["nodeName"] for p in short}
        long_nodes = {p["spec"]["nodeName"] for p in long_pods}
        busy = long_nodes
        emptied = short_nodes - long_nodes
        self.assertEqual(len(short_nodes | long_nodes), 3)
        self.assertTrue(emptied, "every node hosts a long-running pod: nothing to scale down")

        for pod in short:
            self.kube.set_pod_phase(ns, pod["metadata"]["name"], "Succeeded")
        start = time.monotonic()

        def removed():
            names = {n["metadata"]["name"] for n in
                     self.kube.get("/api/v1/nodes", labelSelector="spotfit.io/node-pool=e2e-cpu")["items"]}
            return names if not (names & emptied) else None

        remaining = wait_for("the scaler to remove the emptied nodes", removed, WAIT)
        elapsed = time.monotonic() - start
        print(f"\nemptied nodes removed {elapsed:.1f}s after their pods completed (consolidateAfter 5s)")
        # Issue 7's target: an empty node is gone within consolidateAfter + 10 s, and not before its last pod
        # has been finished for consolidateAfter (the scaler counts from when it first saw that pod finished,
        # even if it never saw it running; 1 s of slack for the status updates above).
        self.assertLessEqual(elapsed, CONSOLIDATE_AFTER_S + 10, "empty nodes removed later than consolidateAfter + 10s")
        self.assertGreaterEqual(elapsed, CONSOLIDATE_AFTER_S - 1, "empty nodes removed before consolidateAfter")
        self.assertEqual(remaining, busy)
        self.assertEqual(counter_sum(self.spotfit.metrics(), "spotfit_scaler_scale_downs_total"), len(emptied))
        # The nodes still running the long Job's pods were left alone and its pods were never evicted.
        for pod in self.kube.pods(ns, "batch.kubernetes.io/job-name=long"):
            self.assertIn(pod["spec"]["nodeName"], busy)
            self.assertIsNone(pod["metadata"].get("deletionTimestamp"))


class InterruptionTest(ClusterTestCase):
    """Scenario 4: a spot interruption notice (the kwok provider's `spotfit.io/interruption-notice` taint,
    as a cloud's termination handler would put it) on a node running a Job's pod: the scaler taints it
    `spotfit.io/disrupting`, creates a replacement node in the same pass and evicts the pod; the Job's
    replacement pod binds on the new node; once the evicted pod is gone (removed here as a kubelet would
    after its preStop) the interrupted node is deleted. The untouched node and its pod are left alone."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster.kubectl("apply", "-k", os.path.join(SOURCE_DIR, "manifests", "crd"))
        wait_for("nodepools to be served",
                 lambda: cls.kube.get("/apis/spotfit.io/v1alpha1/nodepools") is not None, WAIT)
        cls.kube.create_namespace("spotfit")
        # consolidateUnderused off: only the interruption may remove a node here.
        cls.kube.create("/apis/spotfit.io/v1alpha1/nodepools", node_pool("e2e-cpu", {
            "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192, "spotPrice": 0.07},
            disruption={"consolidateAfter": "1h", "consolidateUnderused": False}))
        cls.spotfit = spotfitproc.Spotfit(cls.cluster, config_text=CONFIG, scaler=True)
        cls.spotfit.start()

    def pool_node_names(self):
        return {n["metadata"]["name"] for n in
                self.kube.get("/api/v1/nodes", labelSelector="spotfit.io/node-pool=e2e-cpu")["items"]}

    def test_interruption_notice_gets_a_replacement_node_and_the_pods_evicted(self):
        ns = unique("interrupt")
        self.kube.create_namespace(ns)
        self.kube.wait_default_service_account(ns, WAIT)
        # Two 3-CPU pods on 4-CPU nodes: one node each.
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train"},
            "spec": {"parallelism": 2, "completions": 2, "template": {"spec": {
                "restartPolicy": "Never", "terminationGracePeriodSeconds": 30,
                "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                "resources": {"requests": {"cpu": "3", "memory": "2Gi"}}}]}}}})

        def bound():
            pods = [p for p in self.kube.pods(ns, "batch.kubernetes.io/job-name=train")
                    if not p["metadata"].get("deletionTimestamp")]
            return pods if len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods) else None

        pods = wait_for("the Job's pods on two new nodes", bound, 3 * WAIT)
        original = self.pool_node_names()
        self.assertEqual(len(original), 2, sorted(original))
        victim_pod = pods[0]["metadata"]["name"]
        victim = pods[0]["spec"]["nodeName"]
        survivor_pod, survivor = pods[1]["metadata"]["name"], pods[1]["spec"]["nodeName"]
        self.assertNotEqual(victim, survivor)

        node = self.kube.get(f"/api/v1/nodes/{victim}")
        taints = node["spec"].get("taints", []) + [
            {"key": "spotfit.io/interruption-notice", "value": "true", "effect": "NoSchedule"}]
        self.kube.merge_patch(f"/api/v1/nodes/{victim}", {"spec": {"taints": taints}})

        replacement = wait_for("a replacement node", lambda: (self.pool_node_names() - original) or None, WAIT)
        self.assertEqual(len(replacement), 1, sorted(replacement))
        wait_for("the interrupted node to be tainted spotfit.io/disrupting", lambda: any(
            t["key"] == "spotfit.io/disrupting"
            for t in self.kube.get(f"/api/v1/nodes/{victim}")["spec"].get("taints", [])), WAIT)
        evicted = wait_for("the pod on the interrupted node to be evicted", lambda: self.kube.get(
            f"/api/v1/namespaces/{ns}/pods/{victim_pod}")["metadata"].get("deletionTimestamp"), WAIT)
        self.assertTrue(evicted)
        self.assertEqual(counter_sum(self.spotfit.metrics(), "spotfit_scaler_interruptions_total"), 1.0)

        # The Job replaces the evicted pod; it can only go to the replacement node (the interrupted node is
        # tainted, the other one full).
        def replacement_pod():
            for p in self.kube.pods(ns, "batch.kubernetes.io/job-name=train"):
                if p["metadata"]["name"] not in (victim_pod, survivor_pod) and p["spec"].get("nodeName"):
                    return p
            return None

        new_pod = wait_for("the Job's replacement pod to be bound", replacement_pod, WAIT)
        self.assertIn(new_pod["spec"]["nodeName"], replacement)

        # No kubelet: finish the evicted pod's termination as the kubelet would, then the node goes.
        self.kube.delete(f"/api/v1/namespaces/{ns}/pods/{victim_pod}", gracePeriodSeconds="0")
        wait_for("the interrupted node to be deleted", lambda: victim not in self.pool_node_names(), WAIT)
        self.assertEqual(self.pool_node_names(), {survivor} | replacement)
        survivor_now = self.kube.get(f"/api/v1/namespaces/{ns}/pods/{survivor_pod}")
        self.assertEqual(survivor_now["spec"]["nodeName"], survivor)
        self.assertIsNone(survivor_now["metadata"].get("deletionTimestamp"))


if __name__ == "__main__":
    unittest.main()

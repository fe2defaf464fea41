"""Checkpoint-aware consolidation (issue 20) on the real control plane: two pools, each with two kwok nodes
holding one 1-CPU Job pod apiece (25% used) once the fillers that forced the second node are gone. In the
first pool the Job pods are resumable (spotfit.io/checkpoint) with three hours to go
(spotfit.io/expected-duration): the move pays, so one node is drained, its pod evicted and its Job's new pod
runs on the other node. In the second pool the Job pods have no checkpoint: both nodes stay, with a
ScaleDownBlocked event saying the pod cannot resume. In the third they are resumable but expected to finish
within a minute: the move does not pay and both nodes stay too. The test plays the kubelet (Running,
termination)."""

import time
import unittest

from e2e_common import WAIT, ClusterTestCase, install_nodepool_crd, node_pool, pool_nodes, unique, wait_for
import spotfitproc

CONFIG = """scaler:
  namespace: spotfit
  batchIdle: 1s
  batchMax: 3s
  scaleDownCooldown: 1s
  evictionRetry: 1s
"""

POOLS = ("e2e-resumable", "e2e-plain", "e2e-short")


class CheckpointMovesTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install_nodepool_crd(cls.cluster)
        cls.kube.create_namespace("spotfit")
        for name in POOLS:
            # Consolidation of under-used nodes is off until both nodes of the pool are in place.
            cls.kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", node_pool(name, {
                "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192, "spotPrice": 0.07},
                disruption={"consolidateAfter": "1h", "consolidateUnderused": False, "unneededTime": "2s",
                            "utilizationThreshold": 0.5, "disruptCheckpointedJobs": True,
                            "checkpointRestartTime": "60s", "moveMargin": 0.01}))
        cls.spotfit = spotfitproc.Spotfit(cls.cluster, config_text=CONFIG, scaler=True)
        cls.spotfit.start()

    def job(self, ns, name, pool):
        annotations = {"spotfit.io/expected-duration": "1m" if pool == "e2e-short" else "3h"}
        if pool != "e2e-plain":
            annotations["spotfit.io/checkpoint"] = "/bin/save"
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"backoffLimit": 6, "template": {
                "metadata": {"annotations": annotations},
                "spec": {"restartPolicy": "Never", "nodeSelector": {"spotfit.io/node-pool": pool},
                         "terminationGracePeriodSeconds": 5,
                         "containers": [{"name": "c", "image": "registry.invalid/e2e/train:1",
                                         "resources": {"requests": {"cpu": "1", "memory": "1Gi"}}}]}}}})

    def filler(self, ns, name, pool):
        self.kube.create(f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "labels": {"role": "filler"}},
            "spec": {"nodeSelector": {"spotfit.io/node-pool": pool}, "terminationGracePeriodSeconds": 0,
                     "containers": [{"name": "c", "image": "registry.invalid/e2e/filler:1",
                                     "resources": {"requests": {"cpu": "2500m", "memory": "1Gi"}}}]}})

    def play_kubelet(self, ns):
        """Marks bound, not yet running pods Running and removes terminating ones; returns the pods."""
        pods = self.kube.pods(ns)
        for p in pods:
            name = p["metadata"]["name"]
            if p["metadata"].get("deletionTimestamp"):
                self.kube.delete(f"/api/v1/namespaces/{ns}/pods/{name}", gracePeriodSeconds="0")
            elif p["spec"].get("nodeName") and (p.get("status") or {}).get("phase") == "Pending":
                self.kube.set_pod_running(ns, name)
        return pods

    def test_resumable_pods_move_when_it_pays_and_plain_ones_stay(self):
        ns = unique("ckpt")
        self.kube.create_namespace(ns)
        self.kube.wait_default_service_account(ns, WAIT)

        # Per pool: a filler (2.5 CPU) and a Job pod (1 CPU) share the first node; a second filler and Job
        # pod find no room there (0.5 CPU free) and get a second node.
        for round_ in (1, 2):
            for pool in POOLS:
                tag = pool.removeprefix("e2e-")
                self.filler(ns, f"filler-{tag}-{round_}", pool)
                self.job(ns, f"{tag}-{round_}", pool)

            def placed(round_=round_):
                pods = self.play_kubelet(ns)
                running = [p for p in pods if (p.get("status") or {}).get("phase") == "Running"]
                return running if len(running) == 2 * len(POOLS) * round_ else None

            wait_for(f"round {round_}: fillers and Job pods running", placed, 3 * WAIT)
        for pool in POOLS:
            self.assertEqual(len(pool_nodes(self.kube, pool)), 2, pool)
        for p in self.kube.pods(ns, "role=filler"):
            self.kube.delete(f"/api/v1/namespaces/{ns}/pods/{p['metadata']['name']}", gracePeriodSeconds="0")
        wait_for("the fillers to be gone", lambda: not self.kube.pods(ns, "role=filler"), WAIT)
        before = {pool: {n["metadata"]["name"] for n in pool_nodes(self.kube, pool)} for pool in POOLS}
        resumable_pods = {p["metadata"]["name"] for p in self.kube.pods(ns)
                          if p["spec"]["nodeSelector"]["spotfit.io/node-pool"] == "e2e-resumable"}

        for pool in POOLS:
            self.kube.merge_patch(f"/apis/spotfit.io/v1alpha1/spotfitpools/{pool}",
                                  {"spec": {"disruption": {"consolidateUnderused": True}}})

        def consolidated():
            pods = self.play_kubelet(ns)
            nodes = {n["metadata"]["name"] for n in pool_nodes(self.kube, "e2e-resumable")}
            moved = [p for p in pods if p["spec"]["nodeSelector"]["spotfit.io/node-pool"] == "e2e-resumable"
                     and (p.get("status") or {}).get("phase") == "Running"
                     and not p["metadata"].get("deletionTimestamp")]
            return nodes if len(nodes) == 1 and len(moved) == 2 and {
                p["spec"]["nodeName"] for p in moved} == nodes else None

        (kept,) = wait_for("the resumable pool's two nodes consolidated into one", consolidated, 3 * WAIT)
        self.assertIn(kept, before["e2e-resumable"])
        # One of the original resumable pods was evicted and its Job made a new one.
        now_pods = {p["metadata"]["name"] for p in self.kube.pods(ns)
                    if p["spec"]["nodeSelector"]["spotfit.io/node-pool"] == "e2e-resumable"}
        self.assertEqual(len(resumable_pods - now_pods), 1, (resumable_pods, now_pods))

        # The plain pool: both nodes blocked because its Job pods cannot resume; the short pool because the
        # minute left is not worth a restart.
        for pool, why in (("e2e-plain", "cannot resume"), ("e2e-short", "not more than")):
            def blocked(pool=pool, why=why):
                events = self.kube.get("/api/v1/events")["items"]
                nodes = {e["involvedObject"]["name"] for e in events
                         if e["reason"] == "ScaleDownBlocked" and why in e.get("message", "")}
                return nodes if before[pool] <= nodes else None

            wait_for(f"ScaleDownBlocked ({why}) on both {pool} nodes", blocked, WAIT)
            self.assertEqual({n["metadata"]["name"] for n in pool_nodes(self.kube, pool)}, before[pool])
            for p in self.kube.pods(ns):
                if p["spec"]["nodeSelector"]["spotfit.io/node-pool"] == pool:
                    self.assertIsNone(p["metadata"].get("deletionTimestamp"), p["metadata"]["name"])
        metrics = self.spotfit.metrics()
        self.assertEqual(spotfitproc.metric_sum(metrics, "spotfit_scaler_evictions_total", result="evicted"), 1)
        self.assertEqual(spotfitproc.metric_sum(metrics, "spotfit_scaler_scale_downs_total", reason="underused"), 1)


if __name__ == "__main__":
    unittest.main()

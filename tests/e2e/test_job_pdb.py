"""Issue 13, item 1: the PodDisruptionBudget the webhook writes for a parallel Job lets pods be evicted.

`spotfit serve --scaler` with the webhook (manifests/webhook's configuration pointed at it) in an opted-in
namespace, so every pod carries spotfit's mutations; the scaler's kwok provider makes the nodes, the test
plays the kubelet (test_pdb_drain.FakeKubelet: bound pods Ready after 2 s, terminating pods removed after
1 s). The real kube-controller-manager's disruption controller computes the budget: with a percentage
minAvailable it cannot (`jobs.batch does not implement the scale subresource`, disruptionsAllowed 0 for
the Job's whole life); spotfit writes an integer computed from the Job's parallelism instead.

- A Job of parallelism 4 with `spotfit.io/min-available: 75%`: minAvailable 3, disruptionsAllowed 1 as the
  controller computes it; one Eviction succeeds (201), a second right after is refused (429); scaling the
  Job to 6 patches minAvailable to 5 (the webhook's reconciler).
- A spot interruption notice on the node of a Job of parallelism 4 (default 50%): the scaler drains the
  pods through the Eviction API within the budget (never fewer than 2 Ready), and deletes the node only once
  every one of them was evicted (each terminates, none vanishes with the node), well before the notice's
  drain deadline."""

import time
import unittest

from e2e_common import WAIT, ClusterTestCase, node_pool, unique, wait_for
import spotfitproc
import test_pdb_drain

DRAIN_DEADLINE_S = 60  # an interrupted node is deleted this long after its notice even if pods remain
CONFIG = f"""webhook:
  ownNamespace: spotfit
scaler:
  namespace: spotfit
  batchIdle: 1s
  batchMax: 3s
  scaleDownCooldown: 1s
  evictionRetry: 1s
  interruption: {{window: 10m, threshold: 5, coolOff: 10m, drainDeadline: {DRAIN_DEADLINE_S}s}}
"""
KEPT = {"consolidateAfter": "1h", "consolidateUnderused": False}


def pool(name):
    """A NodePool of 4-CPU nodes (the kwok provider); only the pods that select it (node selector) use it."""
    return node_pool(name, {"name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192,
                            "spotPrice": 0.07}, disruption=KEPT)


def job(name, parallelism, completions, cpu, pool_name, annotations=None):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "annotations": annotations or {}},
            "spec": {"parallelism": parallelism, "completions": completions, "backoffLimit": 20, "template": {"spec": {
                "restartPolicy": "Never", "terminationGracePeriodSeconds": 30,
                "nodeSelector": {"spotfit.io/node-pool": pool_name},
                "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}]}}}}


class JobPdbTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_scaler(CONFIG, [pool("e2e-evict"), pool("e2e-notice")])
        cls.spotfit.register_webhook()

    def opted_in_namespace(self, prefix):
        ns = unique(prefix)
        self.kube.create_namespace(ns, {"spotfit.io/enabled": "true"})
        self.kube.wait_default_service_account(ns, WAIT)
        # The apiserver may not use a just-created webhook configuration for a moment.
        wait_for("the apiserver to call the webhook", lambda: self.kube.create(
            f"/apis/batch/v1/namespaces/{ns}/jobs", job(unique("probe"), 1, 1, "100m", "none"),
            dryRun="All")["spec"]["template"].get("metadata", {}).get("annotations", {}).get("spotfit.io/mutated"),
            WAIT)
        return ns

    def pdb(self, ns, job_name):
        return self.kube.get_or_none(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/{job_name}-spotfit")

    def wait_ready(self, kubelet, count, what):
        def ready():
            pods = [p for p in kubelet.poll() if not p["metadata"].get("deletionTimestamp")]
            return pods if len(kubelet.healthy) == count and len(pods) == count else None
        return wait_for(what, ready, 3 * WAIT, interval=0.2)

    def wait_budget(self, kubelet, ns, job_name, min_available, healthy, allowed):
        """Waits for the real disruption controller's status of the Job's PDB; returns the PDB."""
        def computed():
            kubelet.poll()
            pdb = self.pdb(ns, job_name)
            status = (pdb or {}).get("status") or {}
            if pdb and pdb["spec"].get("minAvailable") == min_available and status.get(
                    "currentHealthy") == healthy and status.get("disruptionsAllowed") == allowed and status.get(
                    "observedGeneration") == pdb["metadata"].get("generation"):
                return pdb
            return None
        return wait_for(f"PDB {job_name}-spotfit: minAvailable {min_available}, {healthy} healthy, "
                        f"disruptionsAllowed {allowed}", computed, WAIT)

    def assert_mutated(self, pods):
        for pod in pods:
            self.assertIn("tolerations", pod["metadata"].get("annotations", {}).get("spotfit.io/mutated", ""))
            self.assertTrue(any(t.get("key") == "spotfit.io/capacity-type" for t in pod["spec"]["tolerations"]))

    def test_the_budget_allows_one_eviction_and_follows_parallelism(self):
        ns = self.opted_in_namespace("evict")
        kubelet = test_pdb_drain.FakeKubelet(self.kube, ns, "batch.kubernetes.io/job-name=train")
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs",
                         job("train", 4, 12, "400m", "e2e-evict", {"spotfit.io/min-available": "75%"}))
        pods = self.wait_ready(kubelet, 4, "the Job's 4 pods Running/Ready")
        self.assert_mutated(pods)

        pdb = self.wait_budget(kubelet, ns, "train", 3, 4, 1)
        self.assertEqual(pdb["spec"]["unhealthyPodEvictionPolicy"], "AlwaysAllow")
        self.assertEqual(pdb["metadata"]["annotations"]["spotfit.io/min-available"], "75%")
        conditions = {c["type"]: c for c in pdb["status"].get("conditions", [])}
        self.assertEqual(conditions["DisruptionAllowed"]["status"], "True", conditions)

        first, second = sorted(p["metadata"]["name"] for p in pods)[:2]
        code, body = self.kube.evict(ns, first)
        self.assertEqual(code, 201, body)
        code, body = self.kube.evict(ns, second)
        self.assertEqual(code, 429, body)
        self.assertIn("disruption budget", str(body))
        self.assertIsNone(self.kube.get(f"/api/v1/namespaces/{ns}/pods/{second}")["metadata"].get("deletionTimestamp"))

        # The evicted pod terminates, the Job replaces it: the budget allows one eviction again.
        self.wait_ready(kubelet, 4, "the evicted pod replaced and Ready")
        self.wait_budget(kubelet, ns, "train", 3, 4, 1)

        # Jobs can be scaled: the webhook's reconciler moves minAvailable with parallelism (75% of 6 = 4.5 -> 5).
        updates = self.spotfit.metric("spotfit_webhook_pdbs_total", result="updated")
        self.kube.merge_patch(f"/apis/batch/v1/namespaces/{ns}/jobs/train", {"spec": {"parallelism": 6}})
        self.wait_ready(kubelet, 6, "the Job's 6 pods Running/Ready")
        self.wait_budget(kubelet, ns, "train", 5, 6, 1)
        self.assertGreaterEqual(self.spotfit.metric("spotfit_webhook_pdbs_total", result="updated"), updates + 1)

    def test_a_spot_interruption_drains_the_jobs_pods_through_evictions(self):
        ns = self.opted_in_namespace("notice")
        kubelet = test_pdb_drain.FakeKubelet(self.kube, ns, "batch.kubernetes.io/job-name=drain")
        # 4 x 800m: one 4-CPU node holds them all.
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", job("drain", 4, 8, "800m", "e2e-notice"))
        pods = self.wait_ready(kubelet, 4, "the Job's 4 pods Running/Ready")
        self.assert_mutated(pods)
        self.wait_budget(kubelet, ns, "drain", 2, 4, 2)
        nodes = {}
        for p in pods:
            nodes.setdefault(p["spec"]["nodeName"], []).append(p["metadata"]["name"])
        victim = max(nodes, key=lambda n: len(nodes[n]))
        victim_pods = set(nodes[victim])
        evicted_before = self.spotfit.metric("spotfit_scaler_evictions_total", result="evicted")
        blocked_before = self.spotfit.metric("spotfit_scaler_evictions_total", result="blocked")

        node = self.kube.get(f"/api/v1/nodes/{victim}")
        self.kube.merge_patch(f"/api/v1/nodes/{victim}", {"spec": {"taints": (node["spec"].get("taints") or []) + [
            {"key": "spotfit.io/interruption-notice", "value": "true", "effect": "NoSchedule"}]}})
        noticed = time.monotonic()
        kubelet.samples.clear()
        gone_at = None

        def drained():
            nonlocal gone_at
            pods_now = kubelet.poll()
            if gone_at is None and not self.kube.exists(f"/api/v1/nodes/{victim}"):
                gone_at = time.monotonic()
                # Every pod of the node had been evicted (terminating or gone) before the node was deleted.
                self.assertEqual([p["metadata"]["name"] for p in pods_now if p["metadata"]["name"] in victim_pods
                                  and not p["metadata"].get("deletionTimestamp")], [])
            return gone_at is not None and len(kubelet.healthy) == 4 and not kubelet.samples[-1][2]

        wait_for(f"node {victim} drained through evictions and deleted, the Job's pods Ready elsewhere", drained,
                 3 * WAIT, interval=0.1)
        self.assertLess(gone_at - noticed, DRAIN_DEADLINE_S - 5, "deleted at the deadline, not after the drain")
        self.assertEqual(kubelet.vanished, [], "pods removed without going through eviction/termination")
        self.assertTrue(victim_pods <= kubelet.finished, (victim_pods, kubelet.finished))
        self.assertGreaterEqual(min(s[1] for s in kubelet.samples), 2, kubelet.samples)
        metrics = self.spotfit.metrics()
        self.assertGreaterEqual(spotfitproc.metric_sum(metrics, "spotfit_scaler_evictions_total", result="evicted")
                                - evicted_before, len(victim_pods))
        # The budget did its part: it allows 2 disruptions, so the first pass's other evictions were refused
        # (429) and retried.
        self.assertGreaterEqual(spotfitproc.metric_sum(metrics, "spotfit_scaler_evictions_total", result="blocked")
                                - blocked_before, len(victim_pods) - 2)
        self.assertEqual(spotfitproc.metric_sum(metrics, "spotfit_scaler_scale_downs_total", reason="interrupted"), 1)
        print(f"\ninterruption drain of {len(victim_pods)} Job pods under their PDB (minAvailable 2): node deleted "
              f"{gone_at - noticed:.1f}s after the notice (deadline {DRAIN_DEADLINE_S}s); least Ready "
              f"{min(s[1] for s in kubelet.samples)}")


if __name__ == "__main__":
    unittest.main()

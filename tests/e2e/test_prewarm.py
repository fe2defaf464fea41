"""Pre-warmed capacity for CronJobs against the real control plane (issue 18): a CronJob firing every
minute (`spotfit.io/prewarm: auto`) on a kwok pool whose nodes report Ready 20 s after they are created.
The real CronJob and Job controllers create the runs; spotfit's scaler learns the pool's launch->Ready time
from its own launches and creates each run's node that long before the fire time, so from the second run
on the node is Ready before the run's pod exists and kube-scheduler binds the pod at once. A suspended
CronJob beside it gets no pre-warm. About three minutes (three fire times)."""

import datetime
import unittest

from e2e_common import WAIT, ClusterTestCase, node_pool, pool_nodes, unique, wait_for

READY_DELAY_S = 20
POOL = "e2e-cron"
SUSPENDED_POOL = "e2e-cron-suspended"
ISOLATED = "e2e.spotfit.io/isolated"
GROUP = "e2e.spotfit.io/group"
CONFIG = """scaler:
  namespace: spotfit
  batchIdle: 1s
  batchMax: 3s
  prewarm: {defaultLead: 40s, grace: 2m}
"""


def pool(name):
    p = node_pool(name, {"name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192,
                         "spotPrice": 0.07}, provider_parameters={"readyDelay": f"{READY_DELAY_S}s"})
    p["spec"]["labels"] = {GROUP: name}
    p["spec"]["taints"] = [{"key": ISOLATED, "value": "true", "effect": "NoSchedule"}]
    return p


def cronjob(name, group, suspend=False):
    """Every minute, one 3-CPU pod (so every run needs a node of its own: pods never finish on kwok)."""
    spec = {"nodeSelector": {GROUP: group}, "restartPolicy": "Never",
            "tolerations": [{"key": ISOLATED, "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{"name": "c", "image": "registry.invalid/e2e/cron:1",
                            "resources": {"requests": {"cpu": "3", "memory": "256Mi"}}}]}
    return {"apiVersion": "batch/v1", "kind": "CronJob",
            "metadata": {"name": name, "annotations": {"spotfit.io/prewarm": "auto"}},
            "spec": {"schedule": "* * * * *", "suspend": suspend, "concurrencyPolicy": "Allow",
                     "jobTemplate": {"spec": {"parallelism": 1, "completions": 1, "backoffLimit": 0,
                                              "template": {"spec": spec}}}}}


def ts(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)


def condition(obj, kind):
    for c in obj.get("status", {}).get("conditions") or []:
        if c["type"] == kind:
            return c
    return None


class PrewarmTest(ClusterTestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_scaler(CONFIG, [pool(POOL), pool(SUSPENDED_POOL)])

    def test_second_run_on_finds_its_node_ready_and_suspended_gets_none(self):
        ns = unique("cron")
        self.kube.create_namespace(ns)
        self.kube.wait_default_service_account(ns, WAIT)
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/cronjobs", cronjob("every", POOL))
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/cronjobs", cronjob("paused", SUSPENDED_POOL, suspend=True))

        def three_runs_bound():
            pods = [p for p in self.kube.pods(ns) if p["spec"].get("nodeName")]
            return sorted(pods, key=lambda p: p["metadata"]["creationTimestamp"]) if len(pods) >= 3 else None

        pods = wait_for("three runs of the CronJob bound", three_runs_bound, 4 * 60 + 3 * WAIT)
        nodes = {n["metadata"]["name"]: n for n in pool_nodes(self.kube, POOL)}
        for pod in pods[1:3]:
            created = ts(pod["metadata"]["creationTimestamp"])
            scheduled = ts(condition(pod, "PodScheduled")["lastTransitionTime"])
            node = nodes[pod["spec"]["nodeName"]]
            ready = ts(condition(node, "Ready")["lastTransitionTime"])
            what = f'{pod["metadata"]["name"]} on {node["metadata"]["name"]}'
            self.assertLessEqual((scheduled - created).total_seconds(), 3, what)  # bound within 3 s
            self.assertLessEqual(ready, created, what)  # its node was Ready before the run's pod existed
        self.assertGreaterEqual(self.spotfit.metric("spotfit_scaler_prewarm_nodes_total", pool=POOL, result="used"), 2)
        events = self.kube.get(f"/api/v1/namespaces/{ns}/events")["items"]
        prewarmed = {e["involvedObject"]["name"] for e in events if e["reason"] == "Prewarm"}
        self.assertIn("every", prewarmed)
        # The suspended CronJob: no pre-warm, no node in its pool.
        self.assertNotIn("paused", prewarmed)
        self.assertEqual(pool_nodes(self.kube, SUSPENDED_POOL), [])
        self.assertEqual(self.spotfit.metric("spotfit_scaler_prewarm_nodes_total", pool=SUSPENDED_POOL), 0)


if __name__ == "__main__":
    unittest.main()

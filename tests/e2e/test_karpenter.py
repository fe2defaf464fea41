"""The real Karpenter on the e2e control plane (the harness of bench/peers and of the coexistence tests):
Karpenter v1.15.0's kwok provider and the kwok controller v0.8.0, built from the Go module proxy by
scripts/e2e/build-karpenter.sh, with a two-type catalog from scripts/e2e/catalog.py and spotfit's kwok
Stages (scripts/e2e/kwok/stages.yaml). A Job is created: Karpenter creates a NodeClaim for the cheapest
offering that fits, kwok boots the node after the NodePool's boot delay, kube-scheduler binds the pod, kwok
runs it for the duration in its annotation and the Job completes; the empty node is then consolidated away."""

import time

from e2e_common import WAIT, ClusterTestCase, unique, wait_for
import catalog
import karpenter

# m5.large spot is the cheapest offering a 1-CPU pod fits; c5.xlarge is cheaper per CPU but costs more.
CATALOG = [
    {"name": "m5.large", "cpu": "2", "memory": "8Gi", "onDemandPrice": 0.096, "spotPrice": 0.035},
    {"name": "c5.xlarge", "cpu": "4", "memory": "8Gi", "onDemandPrice": 0.17, "spotPrice": 0.06},
]
BOOT_DELAY_S = 3
RUN_S = 4
CONSOLIDATE_AFTER_S = 5


class KarpenterSmokeTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = karpenter.Karpenter(cls.cluster, CATALOG, batch_idle="1s", batch_max="3s")
        cls.addClassCleanup(cls.env.stop)
        cls.env.start()
        cls.env.create_node_class()
        cls.kube.create(karpenter.NODEPOOLS, karpenter.node_pool(
            "default", boot_delay=f"{BOOT_DELAY_S}s", consolidate_after=f"{CONSOLIDATE_AFTER_S}s"))

    def job(self, ns, name, cpu):
        return self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"completions": 1, "backoffLimit": 0, "template": {
                "metadata": {"annotations": {karpenter.DURATION_ANNOTATION: f"{RUN_S}s"}},
                "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
                         "containers": [{"name": "work", "image": "registry.invalid/e2e/work:1",
                                         "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]}}}})

    def test_job_gets_a_nodeclaim_runs_completes_and_the_node_is_consolidated(self):
        ns = unique("karpenter")
        self.kube.create_namespace(ns)
        self.kube.wait_default_service_account(ns, WAIT)
        created = time.monotonic()
        self.job(ns, "work", "1")

        claim = wait_for("a NodeClaim for the pending pod", lambda: (self.kube.get(karpenter.NODECLAIMS)["items"]
                                                                      or [None])[0], 2 * WAIT)
        claim_name = claim["metadata"]["name"]

        def launched_node():
            current = self.kube.get_or_none(f"{karpenter.NODECLAIMS}/{claim_name}")
            return current and current.get("status", {}).get("nodeName")

        node_name = wait_for("the NodeClaim's node", launched_node, 2 * WAIT)

        def ready_node():
            node = self.kube.get_or_none(f"/api/v1/nodes/{node_name}")
            conditions = (node or {}).get("status", {}).get("conditions") or []
            return node if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) else None

        node = wait_for("the node to be Ready (kwok stage spotfit-node-boot)", ready_node, 2 * WAIT)
        labels = node["metadata"]["labels"]
        self.assertEqual(labels.get("node.kubernetes.io/instance-type"), "m5.large", labels)
        self.assertEqual(labels.get("karpenter.sh/capacity-type"), "spot", labels)
        self.assertEqual(labels.get("karpenter.sh/nodepool"), "default", labels)
        cpu, memory = catalog.allocatable(CATALOG[0])
        self.assertEqual(catalog.cpu_milli(node["status"]["allocatable"]["cpu"]), cpu)
        self.assertEqual(catalog.memory_mi(node["status"]["allocatable"]["memory"]), memory)
        ready_at = time.monotonic()
        self.assertGreaterEqual(ready_at - created, BOOT_DELAY_S, "the node was Ready before its boot delay")

        pod = wait_for("the Job's pod to be bound", lambda: next(
            (p for p in self.kube.pods(ns, "job-name=work") if p["spec"].get("nodeName")), None), 2 * WAIT)
        self.assertEqual(pod["spec"]["nodeName"], node_name)
        wait_for("the pod to be Running (kwok stage spotfit-pod-run)", lambda: any(
            p["status"].get("phase") in ("Running", "Succeeded") for p in self.kube.pods(ns, "job-name=work")), WAIT)

        def complete():
            job = self.kube.get(f"/apis/batch/v1/namespaces/{ns}/jobs/work")
            return any(c["type"] == "Complete" and c["status"] == "True"
                       for c in job.get("status", {}).get("conditions") or [])

        wait_for("the Job to complete (kwok stage spotfit-pod-complete)", complete, 2 * WAIT)
        pod = self.kube.pods(ns, "job-name=work")[0]
        self.assertEqual(pod["status"]["phase"], "Succeeded")
        state = pod["status"]["containerStatuses"][0]["state"]["terminated"]
        self.assertEqual(state["exitCode"], 0)

        # Empty after the Job: Karpenter consolidates the node away (consolidateAfter, then its validation).
        wait_for("Karpenter to consolidate the empty node", lambda: not self.kube.exists(
            f"{karpenter.NODECLAIMS}/{claim_name}") and not self.kube.exists(f"/api/v1/nodes/{node_name}"), 4 * WAIT)

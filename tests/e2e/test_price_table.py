"""Cost for every node and cost history (issue 16): nodes spotfit did not create, labelled as Karpenter labels its nodes
(node.kubernetes.io/instance-type, karpenter.sh/capacity-type, topology.kubernetes.io/zone), are priced
from `scaler.priceTable`; a Job the real scheduler runs on such a node is charged in the cost ledger at the
table's spot price for that zone. A node no pool and no row prices is counted in
spotfit_scaler_unpriced_nodes and its pods are not charged (not charged as zero either). `spotfit cost`
(the admin kubeconfig, reading the ledger ConfigMap through the API) and the scaler's GET /cost report the
Job's spend for today."""

import json
import subprocess
import unittest
import urllib.request

import ledger_doc
from e2e_common import WAIT, ClusterTestCase, unique, wait_for

NAMESPACE = "spotfit-system"
CONFIG = f"""scaler:
  namespace: {NAMESPACE}
  ledgerFlushInterval: 1s
  priceTable:
    - {{instanceType: m5.large, capacityType: on-demand, price: 72}}
    - {{instanceType: m5.large, capacityType: spot, price: 40}}
    - {{instanceType: m5.large, capacityType: spot, zone: us-east-1a, price: 36}}
"""


def job(name, node):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"spec": {
                "restartPolicy": "Never", "nodeSelector": {"kubernetes.io/hostname": node},
                "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                "resources": {"requests": {"cpu": "2", "memory": "8Gi"}}}]}}}}


class PriceTableTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_scaler(CONFIG, [], namespace=NAMESPACE)
        cls.ns = unique("prices")
        cls.kube.create_namespace(cls.ns)
        cls.kube.wait_default_service_account(cls.ns, WAIT)

    def run_job(self, name, node):
        self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs", job(name, node))

        def bound():
            pods = [p for p in self.kube.pods(self.ns, f"batch.kubernetes.io/job-name={name}")
                    if p["spec"].get("nodeName") == node]
            return pods[0] if pods else None

        pod = wait_for(f"the {name} pod bound on {node}", bound, WAIT)
        self.kube.set_pod_running(self.ns, pod["metadata"]["name"])
        return pod

    def test_a_job_on_a_karpenter_node_gets_a_cost_and_an_unpriced_node_is_reported(self):
        self.kube.create_ready_node("karp-spot-1", cpu="2", memory="8Gi", labels={
            "node.kubernetes.io/instance-type": "m5.large", "karpenter.sh/capacity-type": "spot",
            "karpenter.sh/nodepool": "default", "topology.kubernetes.io/zone": "us-east-1a"})
        self.kube.create_ready_node("mystery-1", cpu="2", memory="8Gi", labels={
            "node.kubernetes.io/instance-type": "x9.huge", "topology.kubernetes.io/zone": "us-east-1a"})
        pod = self.run_job("train", "karp-spot-1")
        self.run_job("untracked", "mystery-1")

        fp = ledger_doc.fingerprint(pod["metadata"]["uid"])

        def charged():
            d = ledger_doc.read(self.kube, NAMESPACE)
            return d if ledger_doc.workflow_usd(d, self.ns, "train") > 0 and fp in ledger_doc.running(
                d, self.ns, "train") else None

        doc = wait_for("the ledger to charge the Job on the Karpenter node", charged, WAIT)
        rate, _ = ledger_doc.running(doc, self.ns, "train")[fp]
        # The whole node (2 CPUs, 8 GiB of a 2-CPU, 8 GiB node) at the us-east-1a spot row: 36 USD/h.
        self.assertAlmostEqual(rate, 36.0, delta=1e-6)
        self.assertGreater(self.spotfit.metric("spotfit_spot_savings_usd"), 0)
        wait_for("the unpriced node to be reported", lambda: self.spotfit.metric(
            "spotfit_scaler_unpriced_nodes") == 1, WAIT)
        self.assertEqual(ledger_doc.running(doc, self.ns, "untracked"), {}, "an unpriced node's pod is not charged")
        self.assertEqual(ledger_doc.workflow_usd(ledger_doc.read(self.kube, NAMESPACE), self.ns, "untracked"), 0.0)

        # Cost history: the CLI through the API, and the same JSON on the metrics port.
        cli = subprocess.run([self.spotfit.binary, "cost", "--kubeconfig", self.cluster.kubeconfig,
                              "--by", "cronjob", "--window", "1d", "-o", "json"],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(cli.returncode, 0, cli.stderr)
        report = json.loads(cli.stdout)
        rows = {(r["namespace"], r["owner"]): r for r in report["rows"]}
        self.assertIn((self.ns, "train"), rows, cli.stdout)
        self.assertGreater(sum(rows[(self.ns, "train")]["days"].values()), 0)  # today's (UTC) window
        self.assertNotIn((self.ns, "untracked"), rows)
        table = subprocess.run([self.spotfit.binary, "cost", "--kubeconfig", self.cluster.kubeconfig],
                               capture_output=True, text=True, timeout=60)
        self.assertEqual(table.returncode, 0, table.stderr)
        self.assertIn(self.ns, table.stdout)

        def served():
            with urllib.request.urlopen(self.spotfit.metrics_url + "/cost?window=1d&by=owner", timeout=10) as r:
                doc = json.loads(r.read())
            return doc if any((r["namespace"], r["owner"]) == (self.ns, "train") for r in doc["rows"]) else None

        doc_served = wait_for("the scaler's /cost to show the Job", served, WAIT)
        self.assertEqual(doc_served["by"], "owner")
        self.assertEqual(len(doc_served["days"]), 1)
        print(f"\nprice table: Job train on Karpenter-labelled karp-spot-1 charged {rate} USD/h, "
              f"${ledger_doc.workflow_usd(doc, self.ns, 'train'):.4f} so far; mystery-1 reported unpriced")


if __name__ == "__main__":
    unittest.main()

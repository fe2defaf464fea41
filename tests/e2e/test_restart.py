"""Scenario 5, spotfit stopped mid-run: `spotfit serve --scaler` (webhook + scaler, kwok provider) is
stopped with SIGTERM while the nodes it created for pending pods are still booting, and later SIGKILLed
(a crash) while pods run and cost accrues. Admission while it is down is covered by test_webhook_down
(`failurePolicy: Ignore`); here the Job created during the crash is simply stored and run. After each
restart the scaler resumes from the Lease and the cost-ledger ConfigMap: booting nodes are adopted instead
of created again (no duplicate nodes for the same pending pods), and the workflow's cost in the ledger is
at least what it was before the stop, includes the time spotfit was down, and keeps growing."""

import time
import unittest

import ledger_doc
from e2e_common import WAIT, ClusterTestCase, kubeapi, node_pool, pool_nodes, unique, wait_for

NAMESPACE = "spotfit-system"  # spotfit's namespace: the Lease and the ledger ConfigMap live here
CONFIG = f"""webhook:
  ownNamespace: {NAMESPACE}
scaler:
  namespace: {NAMESPACE}
  batchIdle: 1s
  batchMax: 3s
  ledgerFlushInterval: 1s
"""
READY_DELAY_S = 10  # the kwok provider reports a new node Ready after this


def ledger(kube):
    """The scaler's cost ledger as stored in its ConfigMap (None before the first save)."""
    return ledger_doc.read(kube, NAMESPACE)


workflow_usd = ledger_doc.workflow_usd
running = ledger_doc.running  # fingerprint -> (USD per hour, accrued up to, ms)


def job(name, parallelism):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"parallelism": parallelism, "completions": parallelism, "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                "resources": {"requests": {"cpu": "3", "memory": "2Gi"}}}]}}}}


class RestartTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # Priced so the ledger moves visibly within seconds (3 CPUs of a 4-CPU node at 36 USD/h).
        cls.start_scaler(CONFIG, [node_pool("e2e-cpu", {
            "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 72, "spotPrice": 36},
            disruption={"consolidateAfter": "1h", "consolidateUnderused": False},
            provider_parameters={"readyDelay": f"{READY_DELAY_S}s"})], namespace=NAMESPACE)
        cls.spotfit.register_webhook()
        cls.ns = unique("restart")
        cls.kube.create_namespace(cls.ns, {"spotfit.io/enabled": "true"})
        cls.kube.wait_default_service_account(cls.ns, WAIT)

    def lease_holder(self):
        lease = self.kube.get(f"/apis/coordination.k8s.io/v1/namespaces/{NAMESPACE}/leases/spotfit-scaler")
        return lease["spec"].get("holderIdentity") or ""

    def wait_new_leader(self, previous):
        return wait_for("a new spotfit scaler to take the Lease",
                        lambda: (lambda h: h if h and h != previous else None)(self.lease_holder()), 2 * WAIT)

    def node_names(self):
        return {n["metadata"]["name"] for n in pool_nodes(self.kube, "e2e-cpu")}

    def pods(self, job_name):
        return self.kube.pods(self.ns, f"batch.kubernetes.io/job-name={job_name}")

    def test_scaler_resumes_from_lease_and_ledger_after_sigterm_and_sigkill(self):
        # -- SIGTERM while the nodes for two pending pods are booting ----------------------------------
        created = self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs", job("train", 2))
        self.assertIn("spotfit.io/mutated", created["spec"]["template"]["metadata"]["annotations"])
        booting = wait_for("two nodes for the Job's pods", lambda: (lambda n: n if len(n) >= 2 else None)(
            self.node_names()), 3 * WAIT, interval=0.1)
        holder = self.lease_holder()
        self.assertTrue(holder)
        self.assertEqual(self.spotfit.stop(), 0, "spotfit serve did not exit cleanly on SIGTERM")
        self.assertEqual(self.node_names(), booting)
        not_ready = [n for n in pool_nodes(self.kube, "e2e-cpu") if not kubeapi.is_ready(n)]
        self.assertEqual(len(not_ready), 2, "nodes became Ready before spotfit was stopped; raise READY_DELAY_S")
        self.assertEqual(self.lease_holder(), "", "SIGTERM should release the Lease")

        self.spotfit.start()
        self.wait_new_leader(holder)
        # The new leader adopts the booting nodes as in flight and plans the pending pods onto them.
        wait_for("the restarted scaler to adopt the two booting nodes", lambda: self.spotfit.metric(
            "spotfit_scaler_inflight_nodes") == 2 and self.spotfit.metric("spotfit_scaler_unschedulable_pods") == 2,
            WAIT)
        time.sleep(5)  # past batchMax (3s): the pending pods' batch has closed and been planned
        self.assertEqual(self.spotfit.metric("spotfit_scaler_scale_ups_total"), 0, "duplicate nodes after SIGTERM")
        self.assertEqual(self.node_names(), booting)
        # The new leader's kwok provider finishes the boot the old one started (the ready-at time is on the
        # Node), so the adopted nodes become Ready without anyone else's help.

        def train_bound():
            pods = self.pods("train")
            return pods if len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods) else None

        train = wait_for("the Job's pods bound on the adopted nodes", train_bound, 2 * WAIT)
        self.assertEqual({p["spec"]["nodeName"] for p in train}, booting)
        for pod in train:
            self.kube.set_pod_running(self.ns, pod["metadata"]["name"])
        # The ledger names running pods by fingerprint (ledger_doc.fingerprint of the uid).
        train_uids = {ledger_doc.fingerprint(p["metadata"]["uid"]) for p in train}

        # -- SIGKILL while the pods run and cost accrues -----------------------------------------------
        before = wait_for("the ledger to charge the running Job", lambda: (lambda d: d if workflow_usd(
            d, self.ns, "train") > 0 and set(running(d, self.ns, "train")) == train_uids else None)(
            ledger(self.kube)), WAIT)
        holder = self.lease_holder()
        self.spotfit.kill()
        killed_at = time.monotonic()
        at_kill = ledger(self.kube)  # the last save before the crash
        usd_at_kill = workflow_usd(at_kill, self.ns, "train")
        self.assertGreaterEqual(usd_at_kill, workflow_usd(before, self.ns, "train"))
        self.assertEqual(self.lease_holder(), holder, "a crashed leader cannot release its Lease")

        # While spotfit is down a Job is still admitted (failurePolicy: Ignore) and its pod waits for a node.
        self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs", job("eval", 1))
        wait_for("the eval Job's pod", lambda: self.pods("eval"), WAIT)

        self.spotfit.start()
        self.wait_new_leader(holder)
        lease_wait = time.monotonic() - killed_at

        def eval_bound():
            pods = [p for p in self.pods("eval") if p["spec"].get("nodeName")]
            return pods[0] if pods else None

        eval_pod = wait_for("the eval pod bound on a node made for it", eval_bound, 2 * WAIT)
        self.kube.set_pod_running(self.ns, eval_pod["metadata"]["name"])
        nodes = self.node_names()
        self.assertEqual(len(nodes), 3, sorted(nodes))
        self.assertTrue(booting < nodes)
        self.assertNotIn(eval_pod["spec"]["nodeName"], booting)
        self.assertEqual(self.spotfit.metric("spotfit_scaler_scale_ups_total"), 1, "duplicate nodes after SIGKILL")
        # The running pods were not disturbed by the crash.
        self.assertEqual({p["metadata"]["uid"]: p["spec"]["nodeName"] for p in self.pods("train")},
                         {p["metadata"]["uid"]: p["spec"]["nodeName"] for p in train})

        # The ledger resumes from its ConfigMap: nothing lost, the time spotfit was down is charged, and
        # the workflow's cost keeps growing.
        after = wait_for("the restarted scaler to save the ledger", lambda: (lambda d: d if running(
            d, self.ns, "train") and min(t for _, t in running(d, self.ns, "train").values()) > max(
            t for _, t in running(at_kill, self.ns, "train").values()) else None)(ledger(self.kube)), WAIT)
        usd_after = workflow_usd(after, self.ns, "train")
        self.assertGreaterEqual(usd_after, usd_at_kill)
        then, now = running(at_kill, self.ns, "train"), running(after, self.ns, "train")
        self.assertEqual(set(now), train_uids, "the restarted scaler continues the same two pods, no others")
        # Each pod accrued rate x (time between the two saves), the crash included, and nothing else.
        accrued = sum(rate * (now[uid][1] - then[uid][1]) / 3.6e6 for uid, (rate, _) in then.items())
        # (accruedToMs is rounded down to the millisecond: allow 2 ms of each pod's rate)
        slack = 2 * sum(rate for rate, _ in then.values()) / 3.6e6 + 1e-9
        self.assertAlmostEqual(usd_after - usd_at_kill, accrued, delta=slack)
        downtime_h = min(now[uid][1] - then[uid][1] for uid in then) / 3.6e6
        self.assertGreater(downtime_h * 3600, lease_wait * 0.5, "the crash's downtime was not charged")
        later = wait_for("the ledger to keep growing", lambda: (lambda d: d if workflow_usd(
            d, self.ns, "train") > usd_after else None)(ledger(self.kube)), WAIT)
        print(f"\nrestart: SIGKILLed leader replaced after {lease_wait:.1f}s (Lease expiry); workflow train "
              f"${usd_at_kill:.4f} at the crash -> ${usd_after:.4f} after restart -> "
              f"${workflow_usd(later, self.ns, 'train'):.4f}; eval's pod got the only new node")


if __name__ == "__main__":
    unittest.main()

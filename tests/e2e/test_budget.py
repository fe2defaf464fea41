"""Scenario 6 with a ledger the scaler writes: a workflow with a `deny` budget (spotfit.io/workflow,
spotfit.io/budget, spotfit.io/budget-action) runs on a node the scaler created; the scaler's cost ledger
(ConfigMap spotfit-system/spotfit-cost-ledger, saved every second here) charges it from the node's price
until it is over budget; then the webhook, re-reading that ledger (webhook.budgets.refresh), refuses the
workflow's next pod with the spend in the message. Prices are high and the budget small so this takes
seconds."""

import re
import time
import unittest

import ledger_doc
from e2e_common import WAIT, ClusterTestCase, kubeapi, node_pool, pool_nodes, unique, wait_for

NAMESPACE = "spotfit-system"
REFRESH_S = 1
CONFIG = f"""webhook:
  ownNamespace: {NAMESPACE}
  budgets:
    refresh: {REFRESH_S}s
scaler:
  namespace: {NAMESPACE}
  batchIdle: 1s
  batchMax: 3s
  ledgerFlushInterval: 1s
"""
BUDGET_USD = 0.25
SPOT_PRICE = 360.0  # USD per hour: 10 cents a second for the whole node


def pod(name, annotations):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name, "annotations": annotations},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "work", "image": "registry.invalid/e2e/work:1",
                 "resources": {"requests": {"cpu": "3", "memory": "6Gi"}}}]}}


def ledger_spend(kube, namespace, workflow):
    """The workflow's spend in the scaler's ledger ConfigMap as of now (saved total plus what its running
    pods accrued since the save), or 0 before the first save."""
    doc = ledger_doc.read(kube, NAMESPACE)
    usd = ledger_doc.workflow_usd(doc, namespace, workflow)
    now_ms = time.time() * 1000
    usd += sum(rate * max(0.0, now_ms - accrued_ms) / 3.6e6
               for rate, accrued_ms in ledger_doc.running(doc, namespace, workflow).values())
    return usd


class ScalerLedgerBudgetTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_scaler(CONFIG, [node_pool("e2e-cpu", {
            "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 2 * SPOT_PRICE,
            "spotPrice": SPOT_PRICE}, disruption={"consolidateAfter": "1h", "consolidateUnderused": False})],
            namespace=NAMESPACE)
        cls.webhook_name = cls.spotfit.register_webhook()
        cls.ns = unique("budget")
        cls.kube.create_namespace(cls.ns, {"spotfit.io/enabled": "true"})
        cls.kube.wait_default_service_account(cls.ns, WAIT)

    def test_workflow_over_its_deny_budget_in_the_scalers_ledger_gets_its_next_pod_refused(self):
        nightly = {"spotfit.io/workflow": "nightly", "spotfit.io/budget": f"{BUDGET_USD:.2f}",
                   "spotfit.io/budget-action": "deny"}
        path = f"/api/v1/namespaces/{self.ns}/pods"
        # Nothing spent yet: the first pod is admitted (and mutated), and the scaler makes it a node.
        # (the apiserver may not call a just-registered webhook for a moment: probe with dry runs first)
        wait_for("the apiserver to call the webhook", lambda: "spotfit.io/mutated" in self.kube.create(
            path, pod("nightly-1", nightly), dryRun="All")["metadata"].get("annotations", {}), WAIT)
        first = self.kube.create(path, pod("nightly-1", nightly))
        self.assertIn("spotfit.io/mutated", first["metadata"]["annotations"])
        bound = wait_for("the first pod bound on a node the scaler created", lambda: self.kube.get(
            f"{path}/nightly-1")["spec"].get("nodeName"), 3 * WAIT)
        self.assertIn(bound, {n["metadata"]["name"] for n in pool_nodes(self.kube, "e2e-cpu")})
        self.kube.set_pod_running(self.ns, "nightly-1")

        # The scaler's ledger charges the running pod until it is over budget; the webhook catches up
        # within its refresh interval. Probe with server-side dry runs (no side effects) until refused.
        over_at = None

        def refused():
            nonlocal over_at
            if over_at is None and ledger_spend(self.kube, self.ns, "nightly") > BUDGET_USD:
                over_at = time.monotonic()
            try:
                self.kube.create(path, pod("nightly-2", nightly), dryRun="All")
                return None
            except kubeapi.ApiError as error:
                if error.code == 403:
                    return (time.monotonic(), error.message)
                raise

        refused_at, _ = wait_for("the webhook to refuse the over-budget workflow's next pod", refused, 2 * WAIT)
        self.assertIsNotNone(over_at, "refused before the scaler's ledger showed the workflow over budget")

        with self.assertRaises(kubeapi.ApiError) as caught:
            self.kube.create(path, pod("nightly-2", nightly))
        message = caught.exception.message
        self.assertEqual(caught.exception.code, 403, message)
        self.assertIn(f'admission webhook "{self.webhook_name}" denied the request', message)
        spent = re.search(r"workflow nightly has spent \$([0-9.]+) of its \$([0-9.]+) budget", message)
        self.assertIsNotNone(spent, message)
        self.assertEqual(float(spent.group(2)), BUDGET_USD)
        # The spend in the message is the scaler's: over the budget, and no more than the ledger says now.
        self.assertGreater(float(spent.group(1)), BUDGET_USD)
        self.assertLessEqual(float(spent.group(1)), ledger_spend(self.kube, self.ns, "nightly") + 0.005)
        # The scaler's gauge is set once per pass (<= 1 s apart) while the webhook extrapolates the ledger's
        # running pods to now, so the gauge may trail the refusal by up to one pass: it gets there.
        wait_for("the scaler's workflow cost gauge over the budget", lambda: self.spotfit.metric(
            "spotfit_workflow_cost_usd", namespace=self.ns, workflow="nightly") > BUDGET_USD, WAIT)
        self.assertFalse(self.kube.exists(f"{path}/nightly-2"))
        # Another workflow in the namespace is still admitted.
        self.kube.create(path, pod("weekly-1", dict(nightly, **{"spotfit.io/workflow": "weekly"})), dryRun="All")
        print(f"\nscaler-written ledger: workflow nightly over its ${BUDGET_USD:.2f} budget; next pod refused "
              f"{refused_at - over_at:.1f}s later (webhook.budgets.refresh {REFRESH_S}s, ledgerFlushInterval 1s): "
              f"{message[message.index('workflow nightly'):]}")


if __name__ == "__main__":
    unittest.main()

"""BudgetPolicy (budgetpolicies.spotfit.io, docs/budgets.md) on a real kube-apiserver: the CRD's schema
refuses what it can (enums, ranges, sizes, exclusive selectors, In without values), the policy is
namespaced with its status as a subresource, and kubectl shows the Limit/Spent/Remaining/Window-End/Action
printer columns. With the scaler running: its leader writes each policy's status from the cost ledger
(spent in the current window, remaining, window end, Valid) and records an Event per threshold crossed;
an invalid policy gets Valid=False naming the field while the valid one beside it keeps being counted."""

import datetime
import os
import time

from e2e_common import SOURCE_DIR, WAIT, ClusterTestCase, kubeapi, node_pool, unique, wait_for

CRD = os.path.join(SOURCE_DIR, "manifests", "crd", "budgetpolicies.spotfit.io.yaml")
GROUP = "/apis/spotfit.io/v1alpha1"


def policy(name, **spec):
    body = {"window": "month", "limitUSD": 800, "action": "deny"}
    body.update(spec)
    return {"apiVersion": "spotfit.io/v1alpha1", "kind": "BudgetPolicy", "metadata": {"name": name},
            "spec": body}


class BudgetPolicyCrdTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster.kubectl("apply", "-f", CRD)

        def established():
            crd = cls.kube.get("/apis/apiextensions.k8s.io/v1/customresourcedefinitions/budgetpolicies.spotfit.io")
            return any(c["type"] == "Established" and c["status"] == "True"
                       for c in (crd.get("status") or {}).get("conditions") or [])

        wait_for("the BudgetPolicy CRD to be Established", established, WAIT)
        cls.ns = unique("team")
        cls.kube.create_namespace(cls.ns)
        wait_for("budgetpolicies to be served",
                 lambda: cls.kube.get_or_none(f"{GROUP}/namespaces/{cls.ns}/budgetpolicies") is not None, WAIT)
        cls.path = f"{GROUP}/namespaces/{cls.ns}/budgetpolicies"

    def refused(self, obj, *fragments):
        with self.assertRaises(kubeapi.ApiError) as caught:
            self.kube.create(self.path, obj)
        self.assertEqual(caught.exception.code, 422, caught.exception.message)
        for f in fragments:
            self.assertIn(f, caught.exception.message)

    def test_valid_policy_is_namespaced_and_defaults_to_alert(self):
        name = unique("monthly")
        body = policy(name, timeZone="Europe/Berlin", thresholds=[0.5, 0.8],
                      selector={"matchLabels": {"team": "ml"}, "cronJob": "nightly"})
        del body["spec"]["action"]
        created = self.kube.create(self.path, body)
        self.assertEqual(created["metadata"]["namespace"], self.ns)
        self.assertEqual(created["spec"]["action"], "alert")
        self.assertEqual(created["spec"]["thresholds"], [0.5, 0.8])
        with self.assertRaises(kubeapi.ApiError) as caught:
            self.kube.get(f"{GROUP}/budgetpolicies/{name}")  # no cluster-scoped object of that name
        self.assertEqual(caught.exception.code, 404)

    def test_schema_refuses_bad_enums_ranges_and_sizes(self):
        self.refused(policy(unique("p"), window="year"), "spec.window", "Unsupported value")
        self.refused(policy(unique("p"), action="shout"), "spec.action", "Unsupported value")
        self.refused(policy(unique("p"), limitUSD=-1), "spec.limitUSD")
        self.refused(policy(unique("p"), limitUSD="40"), "spec.limitUSD")
        self.refused(policy(unique("p"), limitUSD=1e13), "spec.limitUSD")
        self.refused(policy(unique("p"), thresholds=[0]), "spec.thresholds[0]")
        self.refused(policy(unique("p"), thresholds=[1.5]), "spec.thresholds[0]")
        self.refused(policy(unique("p"), thresholds=[0.1] * 9), "spec.thresholds")
        self.refused(policy(unique("p"), timeZone="../../etc/passwd"), "spec.timeZone")
        self.refused(policy(unique("p"), selector={"namespaces": ["Bad_NS"]}), "spec.selector.namespaces[0]")
        self.refused(policy(unique("p"), selector={"workflow": "a", "cronJob": "b"}),
                     "workflow and selector.cronJob are exclusive")
        self.refused(policy(unique("p"), selector={"matchExpressions": [{"key": "team", "operator": "In"}]}),
                     "In and NotIn need values")
        self.refused(policy(unique("p"), selector={"matchExpressions": [{"key": "t", "operator": "Near",
                                                                          "values": ["x"]}]}),
                     "spec.selector.matchExpressions[0].operator")
        missing = policy(unique("p"))
        del missing["spec"]["limitUSD"]
        self.refused(missing, "spec.limitUSD: Required value")

    def test_status_subresource_and_printer_columns(self):
        name = unique("daily")
        path = f"{self.path}/{name}"
        self.kube.create(self.path, policy(name, window="day", limitUSD=40, action="suspend"))
        # Status written through the main resource is dropped, through /status it is kept.
        self.kube.merge_patch(path, {"status": {"spentUSD": 1}})
        self.assertNotIn("spentUSD", self.kube.get(path).get("status", {}))
        self.kube.merge_patch(path + "/status", {"status": {
            "spentUSD": 41.5, "remainingUSD": 0, "windowStart": "2026-12-07T00:00:00Z",
            "windowEnd": "2026-12-08T00:00:00Z", "thresholdsReached": 1,
            "conditions": [{"type": "Valid", "status": "True", "reason": "Valid",
                            "lastTransitionTime": "2026-12-07T00:00:00Z"}]}})
        out = self.cluster.kubectl("get", "budgetpolicies", "-n", self.ns, name).stdout.splitlines()
        header, row = out[0].split(), out[1].split()
        self.assertEqual(header, ["NAME", "LIMIT", "SPENT", "REMAINING", "WINDOW-END", "ACTION", "VALID", "AGE"])
        self.assertEqual(row[:7], [name, "40", "41.5", "0", "2026-12-08T00:00:00Z", "suspend", "True"])
        self.assertIn(name, self.cluster.kubectl("get", "sfbudget", "-n", self.ns, "-o", "name").stdout)


NAMESPACE = "spotfit-system"
SCALER_CONFIG = f"""webhook:
  ownNamespace: {NAMESPACE}
scaler:
  namespace: {NAMESPACE}
  batchIdle: 1s
  batchMax: 3s
  ledgerFlushInterval: 1s
"""
SPOT_PRICE = 360.0  # USD per hour: 10 cents a second for the whole node
LIMIT_USD = 0.5


def work_pod(name):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name,
                                                         "annotations": {"spotfit.io/workflow": "work"}},
            "spec": {"restartPolicy": "Never", "containers": [
                {"name": "work", "image": "registry.invalid/e2e/work:1",
                 "resources": {"requests": {"cpu": "3", "memory": "6Gi"}}}]}}


class BudgetPolicyStatusTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # start_scaler applies manifests/crd (BudgetPolicy included) before the scaler starts.
        cls.start_scaler(SCALER_CONFIG, [node_pool("e2e-cpu", {
            "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 2 * SPOT_PRICE,
            "spotPrice": SPOT_PRICE}, disruption={"consolidateAfter": "1h", "consolidateUnderused": False})],
            namespace=NAMESPACE)
        cls.webhook_name = cls.spotfit.register_webhook()
        cls.ns = unique("team")
        cls.kube.create_namespace(cls.ns, {"spotfit.io/enabled": "true"})
        cls.kube.wait_default_service_account(cls.ns, WAIT)

    def events_of(self, name):
        return self.kube.get(f"/api/v1/namespaces/{self.ns}/events",
                             fieldSelector=f"involvedObject.name={name},involvedObject.kind=BudgetPolicy")["items"]

    def test_leader_writes_status_and_threshold_events_from_the_ledger(self):
        path = f"{GROUP}/namespaces/{self.ns}/budgetpolicies"
        self.kube.create(path, policy("daily", window="day", limitUSD=LIMIT_USD, thresholds=[0.5], action="alert"))
        self.kube.create(path, policy("broken", window="day", limitUSD=1, thresholds=[0.9, 0.1]))

        def condition(name):
            conds = (self.kube.get(f"{path}/{name}").get("status") or {}).get("conditions") or []
            return next((c for c in conds if c["type"] == "Valid"), None)

        broken = wait_for("Valid=False on the invalid policy", lambda: condition("broken"), WAIT)
        self.assertEqual(broken["status"], "False")
        self.assertEqual(broken["reason"], "InvalidSpec")
        self.assertTrue(broken["message"].startswith("spec.thresholds[1]: "), broken["message"])
        self.assertTrue(any(e["reason"] == "InvalidBudgetPolicy" for e in self.events_of("broken")))

        status = wait_for("the valid policy's status", lambda: (self.kube.get(f"{path}/daily").get("status") or {})
                          .get("windowEnd"), WAIT)
        tomorrow = (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=1)).strftime("%Y-%m-%d")
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        self.assertIn(status, {f"{tomorrow}T00:00:00Z", f"{today}T00:00:00Z"})  # a run across midnight
        self.assertEqual(condition("daily")["status"], "True")

        # A pod of the namespace runs on a node the scaler creates; the ledger charges it.
        pods = f"/api/v1/namespaces/{self.ns}/pods"
        wait_for("the apiserver to call the webhook", lambda: "spotfit.io/mutated" in self.kube.create(
            pods, work_pod("work-1"), dryRun="All")["metadata"].get("annotations", {}), WAIT)
        self.kube.create(pods, work_pod("work-1"))
        wait_for("the pod bound", lambda: self.kube.get(f"{pods}/work-1")["spec"].get("nodeName"), 3 * WAIT)
        self.kube.set_pod_running(self.ns, "work-1")

        def over():
            st = self.kube.get(f"{path}/daily").get("status") or {}
            return st if st.get("spentUSD", 0) >= LIMIT_USD else None

        st = wait_for("the policy's spend past its limit", over, 2 * WAIT)
        self.assertEqual(st["remainingUSD"], 0)
        self.assertEqual(st["thresholdsReached"], 2)  # 50% and the limit
        reasons = wait_for("both Events", lambda: (lambda r: r if {"BudgetThresholdReached", "BudgetExceeded"} <= r
                                                   else None)({e["reason"] for e in self.events_of("daily")}), WAIT)
        self.assertIn("BudgetExceeded", reasons)
        exceeded = [e for e in self.events_of("daily") if e["reason"] == "BudgetExceeded"]
        self.assertEqual(len(exceeded), 1)
        self.assertEqual(exceeded[0]["type"], "Warning")
        self.assertIn(f"BudgetPolicy {self.ns}/daily: spend $", exceeded[0]["message"])
        self.assertIn(f"reached the limit of its ${LIMIT_USD:.2f} day budget", exceeded[0]["message"])
        # Spend keeps growing in the status, no second Event for the same window.
        wait_for("the status to follow the spend", lambda: self.kube.get(f"{path}/daily")["status"]["spentUSD"] >
                 st["spentUSD"] + 0.2, WAIT)
        self.assertEqual(len([e for e in self.events_of("daily") if e["reason"] == "BudgetExceeded"]), 1)
        self.assertEqual((exceeded[0].get("count") or 1), 1)
        # The dashboard's burn-down gauges.
        labels = {"namespace": self.ns, "policy": "daily"}
        self.assertEqual(self.spotfit.metric("spotfit_budget_policy_limit_usd", **labels), LIMIT_USD)
        self.assertGreaterEqual(self.spotfit.metric("spotfit_budget_policy_spent_usd", **labels), LIMIT_USD)


ENFORCE_CONFIG = f"""webhook:
  ownNamespace: {NAMESPACE}
  budgets:
    refresh: 1s
scaler:
  namespace: {NAMESPACE}
  batchIdle: 1s
  batchMax: 3s
  ledgerFlushInterval: 1s
"""
ENFORCE_LIMIT_USD = 0.3


def job(name):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"template": {"metadata": {"annotations": {"spotfit.io/workflow": name}},
                                  "spec": {"restartPolicy": "Never", "containers": [
                                      {"name": "work", "image": "registry.invalid/e2e/work:1",
                                       "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}}


class BudgetPolicyEnforcementTest(ClusterTestCase):
    """A namespace's day budget with action suspend: once the scaler's ledger (saved every second) shows the
    namespace's spend today at the limit, the webhook (re-reading the ledger every second) creates the next
    Job suspended within 2 s, and the real Job controller starts none of its pods; switched to deny, the next
    Job is refused with the policy's message."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_scaler(ENFORCE_CONFIG, [node_pool("e2e-cpu", {
            "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 2 * SPOT_PRICE,
            "spotPrice": SPOT_PRICE}, disruption={"consolidateAfter": "1h", "consolidateUnderused": False})],
            namespace=NAMESPACE)
        cls.webhook_name = cls.spotfit.register_webhook()
        cls.ns = unique("team")
        cls.kube.create_namespace(cls.ns, {"spotfit.io/enabled": "true"})
        cls.kube.wait_default_service_account(cls.ns, WAIT)

    def ledger_today(self):
        """The namespace's spend today (UTC) in the ledger ConfigMap as last saved."""
        import ledger_doc
        doc = ledger_doc.read(self.kube, NAMESPACE) or {}
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d")
        for d in doc.get("days", []):
            if d.get("day") == today:
                return (d.get("namespaces") or {}).get(self.ns, 0.0)
        return 0.0

    def test_crossing_the_limit_suspends_then_denies_the_next_job(self):
        path = f"{GROUP}/namespaces/{self.ns}/budgetpolicies"
        self.kube.create(path, policy("daily", window="day", limitUSD=ENFORCE_LIMIT_USD, action="suspend"))
        jobs = f"/apis/batch/v1/namespaces/{self.ns}/jobs"
        pods = f"/api/v1/namespaces/{self.ns}/pods"
        wait_for("the apiserver to call the webhook", lambda: "spotfit.io/mutated" in self.kube.create(
            pods, work_pod("work-1"), dryRun="All")["metadata"].get("annotations", {}), WAIT)
        # Within budget: a Job is created as written (not suspended).
        first = self.kube.create(jobs, job("before"))
        self.assertFalse(first["spec"].get("suspend"))
        self.kube.create(pods, work_pod("work-1"))
        wait_for("the pod bound", lambda: self.kube.get(f"{pods}/work-1")["spec"].get("nodeName"), 3 * WAIT)
        self.kube.set_pod_running(self.ns, "work-1")

        over_at = None

        def suspended():
            nonlocal over_at
            if over_at is None and self.ledger_today() >= ENFORCE_LIMIT_USD:
                over_at = time.monotonic()
            created = self.kube.create(jobs, job("probe"), dryRun="All")
            return time.monotonic() if created["spec"].get("suspend") else None

        suspended_at = wait_for("the next Job created suspended", suspended, 2 * WAIT, interval=0.05)
        self.assertIsNotNone(over_at, "suspended before the ledger showed the namespace over its limit")
        self.assertLess(suspended_at - over_at, 2.0)

        created = self.kube.create(jobs, job("after"))
        self.assertTrue(created["spec"]["suspend"])
        self.assertEqual(created["metadata"]["annotations"]["spotfit.io/budget-suspended"], f"{self.ns}/daily")
        # The real Job controller starts no pod of a suspended Job (and one of the Job before the crossing).
        wait_for("the first Job's pod", lambda: self.kube.pods(self.ns, "job-name=before") or None, WAIT)

        def suspended_condition():
            conds = (self.kube.get(f"{jobs}/after").get("status") or {}).get("conditions") or []
            return next((c for c in conds if c["type"] == "Suspended" and c["status"] == "True"), None)

        cond = wait_for("the Job controller to mark the Job Suspended", suspended_condition, WAIT)
        self.assertEqual(cond["reason"], "JobSuspended")
        self.assertEqual(self.kube.pods(self.ns, "job-name=after"), [])

        # Deny: the next Job is refused with the policy's message.
        self.kube.merge_patch(f"{path}/daily", {"spec": {"action": "deny"}})

        def refused():
            try:
                self.kube.create(jobs, job("probe"), dryRun="All")
                return None
            except kubeapi.ApiError as error:
                return error if error.code == 403 else None

        error = wait_for("the next Job refused", refused, WAIT)
        self.assertIn(f'admission webhook "{self.webhook_name}" denied the request', error.message)
        self.assertIn(f"BudgetPolicy {self.ns}/daily: namespace {self.ns} has spent $", error.message)
        self.assertIn(f"of its ${ENFORCE_LIMIT_USD:.2f} day budget", error.message)
        print(f"\nnamespace {self.ns} over its ${ENFORCE_LIMIT_USD:.2f} day budget in the ledger; next Job created "
              f"suspended {suspended_at - over_at:.2f}s later; with action deny: {error.message[-120:]}")

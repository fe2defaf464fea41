"""BudgetPolicy (budgetpolicies.spotfit.io, docs/budgets.md) on a real kube-apiserver: the CRD's schema
refuses what it can (enums, ranges, sizes, exclusive selectors, In without values), the policy is
namespaced with its status as a subresource, and kubectl shows the Limit/Spent/Remaining/Window-End/Action
printer columns."""

import os

from e2e_common import SOURCE_DIR, WAIT, ClusterTestCase, kubeapi, unique, wait_for

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

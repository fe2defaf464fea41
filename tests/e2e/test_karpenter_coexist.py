"""spotfit's webhook beside the real Karpenter (issue 17's coexistence setup, docs/setups.md "Beside Karpenter"):
Karpenter v1.15.0 (kwok provider) provisions, spotfit serve runs without its scaler with
`webhook.capacity.preset: karpenter`, and the two cases run side by side, each on its own Karpenter NodePool:

- control (a namespace spotfit does not mutate): a short 2-CPU Job and a long 1-CPU Job, created together and
  pinned to on-demand with Karpenter's own label, share one c5.xlarge NodeClaim (the 2-CPU pod fits no
  m5.large). When the short one completes, Karpenter replaces the underused c5.xlarge with a cheaper m5.large
  and the long Job's running pod is evicted: the disruption spotfit exists to prevent.
- protected (an opted-in namespace): the same two Jobs ask for on-demand with `spotfit.io/capacity-type`.
  spotfit's webhook turns that into the required `karpenter.sh/capacity-type In [on-demand]` term Karpenter
  provisions from (Karpenter's default, spot, would otherwise win on price) and marks the pods, which have no
  checkpoint, `karpenter.sh/do-not-disrupt: "true"`: Karpenter keeps the node until the long Job completes,
  without evicting it, and only then removes it.

The control case proves the scenario makes the real Karpenter disrupt; the protected case proves spotfit's
mutations stop it. spotfit's scaler role runs too, with no SpotfitPool: it creates no node, does not take
Karpenter's consolidation for an interruption, and charges both cases' Jobs in the cost ledger from the price
table (Karpenter's nodes carry node.kubernetes.io/instance-type and karpenter.sh/capacity-type).

The spot cool-off without spotfit's scaler (`webhook.interruption`, threshold 2): two spot NodeClaims are
deleted the way Karpenter acts on a spot interruption notice (a DELETE, without the DisruptionReason condition
its consolidation sets); spotfit's NodeClaim informer counts them, the cool-off starts, and the next Job
(no capacity annotation, spot by default) is admitted with a warning and a required on-demand term, on which
the real Karpenter launches an on-demand NodeClaim."""

import json
import time
import unittest

from e2e_common import WAIT, ClusterTestCase, unique, wait_for
import karpenter
import ledger_doc

CATALOG = [
    {"name": "m5.large", "cpu": "2", "memory": "8Gi", "onDemandPrice": 0.096, "spotPrice": 0.035},
    {"name": "c5.xlarge", "cpu": "4", "memory": "8Gi", "onDemandPrice": 0.17, "spotPrice": 0.06},
]
BOOT_DELAY_S = 3
SHORT_S = 4
LONG_S = 90  # Karpenter needs consolidateAfter + its 15 s validation + a replacement's boot to disrupt
CONSOLIDATE_AFTER_S = 5
CASE_LABEL = "e2e.spotfit.io/case"
CASES = ("control", "protected", "resumable")
OPTED_IN = ("protected", "resumable")
LEDGER_NAMESPACE = "spotfit-system"
# The webhook with the karpenter preset, and the scaler role with no SpotfitPool: it provisions nothing and
# keeps the cost ledger, pricing Karpenter's nodes from the price table (the catalog's prices).
CONFIG = f"""webhook:
  capacity: {{preset: karpenter}}
  interruption: {{threshold: 2, window: 10m, coolOff: 10m}}
  budgets: {{refresh: 1s}}
scaler:
  namespace: {LEDGER_NAMESPACE}
  ledgerFlushInterval: 1s
  priceTable:
""" + "".join(f"    - {{instanceType: {t['name']}, capacityType: {ct}, price: {t[key]}}}\n"
              for t in CATALOG for ct, key in (("spot", "spotPrice"), ("on-demand", "onDemandPrice")))


def job(name, case, cpu, seconds):
    annotations = {}
    node_selector = {CASE_LABEL: case}
    if case in OPTED_IN:
        annotations["spotfit.io/capacity-type"] = "on-demand"
        if case == "resumable":
            annotations["spotfit.io/checkpoint"] = "/bin/save"  # a preStop hook saves the work: movable
    else:
        node_selector["karpenter.sh/capacity-type"] = "on-demand"  # what a Karpenter user writes
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "annotations": annotations},
            "spec": {"completions": 1, "backoffLimit": 3, "template": {
                "metadata": {"annotations": {karpenter.DURATION_ANNOTATION: f"{seconds}s"}},
                "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0, "nodeSelector": node_selector,
                         "containers": [{"name": "work", "image": "registry.invalid/e2e/work:1",
                                         "resources": {"requests": {"cpu": cpu, "memory": "1Gi"}}}]}}}}


def job_complete(job_obj):
    return any(c["type"] == "Complete" and c["status"] == "True"
               for c in (job_obj or {}).get("status", {}).get("conditions") or [])


class KarpenterCoexistTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.env = karpenter.Karpenter(cls.cluster, CATALOG, batch_idle="1s", batch_max="3s")
        cls.addClassCleanup(cls.env.stop)
        cls.env.start()
        cls.env.create_node_class()
        for case in CASES + ("cooloff", "budget"):
            cls.kube.create(karpenter.NODEPOOLS, karpenter.node_pool(
                case, boot_delay=f"{BOOT_DELAY_S}s", consolidate_after=f"{CONSOLIDATE_AFTER_S}s",
                labels={CASE_LABEL: case}))
        cls.start_scaler(CONFIG, [], namespace=LEDGER_NAMESPACE)
        cls.addClassCleanup(cls.spotfit.stop)
        cls.spotfit.register_webhook()

    def claims(self, case):
        return [c for c in self.kube.get(karpenter.NODECLAIMS)["items"]
                if c["metadata"].get("labels", {}).get("karpenter.sh/nodepool") == case]

    def start_case(self, case):
        ns = unique(case)
        self.kube.create_namespace(ns, {"spotfit.io/enabled": "true"} if case in OPTED_IN else None)
        self.kube.wait_default_service_account(ns, WAIT)
        if case in OPTED_IN:
            wait_for("spotfit's webhook to mutate the opted-in namespace", lambda: "karpenter.sh/capacity-type" in str(
                self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", job(unique("probe"), case, "1", 1),
                                 dryRun="All")), WAIT)
        created = {name: self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", job(name, case, cpu, seconds))
                   for name, cpu, seconds in (("short", "2", SHORT_S), ("long", "1", LONG_S))}
        return ns, created

    def pods_bound(self, ns):
        pods = {}
        for name in ("short", "long"):
            bound = [p for p in self.kube.pods(ns, f"batch.kubernetes.io/job-name={name}") if p["spec"].get("nodeName")]
            if not bound:
                return None
            pods[name] = bound[0]
        return pods

    def test_karpenter_disrupts_the_long_job_unless_spotfit_protects_it(self):
        cases = {case: self.start_case(case) for case in CASES}

        # spotfit mutated the protected Jobs only: a required on-demand term in Karpenter's vocabulary and
        # do-not-disrupt for pods without a checkpoint.
        for name, created in cases["protected"][1].items():
            template = created["spec"]["template"]
            self.assertEqual(template["metadata"]["annotations"].get("karpenter.sh/do-not-disrupt"), "true", name)
            terms = template["spec"]["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
            exprs = [(e["key"], e["operator"], e.get("values")) for t in terms["nodeSelectorTerms"]
                     for e in t["matchExpressions"]]
            self.assertIn(("karpenter.sh/capacity-type", "In", ["on-demand"]), exprs, name)
        for case in ("control", "resumable"):
            for name, created in cases[case][1].items():
                self.assertNotIn("karpenter.sh/do-not-disrupt", created["spec"]["template"]["metadata"].get(
                    "annotations", {}), f"{case} {name}")
        # The resumable Jobs got the preStop hook and the podFailurePolicy that keeps a disruption from
        # counting toward backoffLimit.
        for name, created in cases["resumable"][1].items():
            self.assertEqual(created["spec"]["template"]["spec"]["containers"][0]["lifecycle"]["preStop"]["exec"][
                "command"][-1], "/bin/save", name)
            self.assertEqual(created["spec"]["podFailurePolicy"]["rules"][0]["action"], "Ignore", name)

        # Both cases: one on-demand c5.xlarge NodeClaim for the two pods.
        first = {}
        for case, (ns, _) in cases.items():
            pods = wait_for(f"{case}: both Jobs' pods to be bound", lambda ns=ns: self.pods_bound(ns), 4 * WAIT)
            self.assertEqual(pods["short"]["spec"]["nodeName"], pods["long"]["spec"]["nodeName"], case)
            node = self.kube.get(f"/api/v1/nodes/{pods['long']['spec']['nodeName']}")
            labels = node["metadata"]["labels"]
            self.assertEqual(labels.get("karpenter.sh/capacity-type"), "on-demand", case)
            self.assertEqual(labels.get("node.kubernetes.io/instance-type"), "c5.xlarge", case)
            first[case] = (node["metadata"]["name"], pods["long"]["metadata"]["uid"])

        def node_gone(case):
            return not self.kube.exists(f"/api/v1/nodes/{first[case][0]}")

        def long_done(case):
            ns = cases[case][0]
            return job_complete(self.kube.get_or_none(f"/apis/batch/v1/namespaces/{ns}/jobs/long"))

        # Control, and the resumable Job spotfit leaves movable: Karpenter replaces the underused node while
        # the long Job still runs (its pod is evicted; the resumable one would save its work in preStop).
        for case in ("control", "resumable"):
            wait_for(f"{case}: Karpenter to replace the c5.xlarge under the running long Job",
                     lambda case=case: node_gone(case), LONG_S)
            self.assertFalse(long_done(case), f"the {case} long Job finished before Karpenter disrupted it")
            # Its first long pod was evicted with the node (deleted, or failed by kwok): not running, not done.
            survivors = [p for p in self.kube.pods(cases[case][0], "batch.kubernetes.io/job-name=long")
                         if p["metadata"]["uid"] == first[case][1]]
            self.assertTrue(not survivors or survivors[0]["status"].get("phase") == "Failed",
                            f"the {case} first long pod was not disrupted: {survivors}")

        # Protected: the node stays until the long Job completes; its one pod never moved.
        deadline = time.monotonic() + LONG_S + 2 * WAIT
        while not long_done("protected"):
            self.assertFalse(node_gone("protected"), "Karpenter removed the node under spotfit's protected long Job")
            self.assertLess(time.monotonic(), deadline, "the protected long Job did not complete")
            time.sleep(1)
        long_pods = self.kube.pods(cases["protected"][0], "batch.kubernetes.io/job-name=long")
        self.assertEqual([p["metadata"]["uid"] for p in long_pods], [first["protected"][1]])
        self.assertEqual(long_pods[0]["status"]["phase"], "Succeeded")
        # ... and then Karpenter removes the empty node.
        wait_for("protected: Karpenter to remove the empty node after the Job", lambda: node_gone("protected"), 4 * WAIT)

        # spotfit's scaler role ran beside Karpenter all along: it created no node (no SpotfitPool), did not
        # take Karpenter's consolidation (karpenter.sh/disrupted on the replaced node) for an interruption, and
        # charged the Jobs on Karpenter's nodes from the price table.
        self.assertEqual([n["metadata"]["name"] for n in self.kube.get("/api/v1/nodes")["items"]
                          if "spotfit.io/node-pool" in n["metadata"].get("labels", {})], [])
        self.assertEqual(self.spotfit.metric("spotfit_scaler_scale_ups_total"), 0)
        self.assertEqual(self.spotfit.metric("spotfit_scaler_interruptions_total"), 0)
        self.assertEqual(self.spotfit.metric("spotfit_scaler_unpriced_nodes"), 0)
        for case in CASES:
            ns = cases[case][0]
            doc = wait_for(f"{case}: the ledger to charge the long Job on Karpenter's node", lambda ns=ns: (
                lambda d: d if ledger_doc.workflow_usd(d, ns, "long") > 0 else None)(
                    ledger_doc.read(self.kube, LEDGER_NAMESPACE)), WAIT)
            print(f"\n{case}: long Job charged ${ledger_doc.workflow_usd(doc, ns, 'long'):.6f} on Karpenter's nodes")


    def test_spot_interruptions_seen_as_deleted_nodeclaims_send_new_jobs_on_demand(self):
        ns = unique("cooloff")
        self.kube.create_namespace(ns, {"spotfit.io/enabled": "true"})
        self.kube.wait_default_service_account(ns, WAIT)
        wait_for("spotfit's NodeClaim informer", lambda: "no spot cool-off (0 spot interruptions" in
                 self.spotfit.readyz(), WAIT)

        def spot_job(name, parallelism, cpu):
            obj = job(name, "cooloff", cpu, LONG_S)
            obj["spec"]["parallelism"] = obj["spec"]["completions"] = parallelism
            obj["spec"]["template"]["spec"]["nodeSelector"].pop("karpenter.sh/capacity-type", None)
            return obj

        # Two 2.5-CPU pods: one c5.xlarge each, spot (spotfit's preferred term, and the cheaper offering).
        created = self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", spot_job("warm", 2, "2500m"))
        self.assertNotIn("on-demand", str(created["spec"]["template"]["spec"].get("affinity")))

        def launched():
            claims = [c for c in self.claims("cooloff") if c.get("status", {}).get("nodeName")]
            return claims if len(claims) == 2 else None

        claims = wait_for("two spot NodeClaims", launched, 4 * WAIT)
        for c in claims:
            self.assertEqual(c["metadata"]["labels"]["karpenter.sh/capacity-type"], "spot")
        # What Karpenter's interruption controller does on a spot notice: delete the NodeClaim.
        for c in claims:
            self.kube.delete(f"{karpenter.NODECLAIMS}/{c['metadata']['name']}")
        wait_for("spotfit to start a spot cool-off", lambda: "spot cool-off until" in self.spotfit.readyz(), WAIT)
        self.assertEqual(self.spotfit.metric("spotfit_webhook_spot_interruptions_total"), 2)
        self.assertEqual(self.spotfit.metric("spotfit_webhook_spot_cooloffs_total"), 1)

        # The next Job goes on-demand, with a warning, and the real Karpenter provisions on-demand for it.
        after = spot_job("after", 1, "1")
        stderr = self.cluster.kubectl("create", "--dry-run=server", "-n", ns, "-f", "-",
                                      input_text=json.dumps(after)).stderr
        self.assertIn("Warning: spotfit: spot cool-off until", stderr)
        created = self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", after)
        terms = created["spec"]["template"]["spec"]["affinity"]["nodeAffinity"][
            "requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
        self.assertIn({"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["on-demand"]},
                      [e for t in terms for e in t["matchExpressions"]])
        pod = wait_for("the cool-off Job's pod to be bound", lambda: next(
            (p for p in self.kube.pods(ns, "batch.kubernetes.io/job-name=after") if p["spec"].get("nodeName")), None),
            4 * WAIT)
        node = self.kube.get(f"/api/v1/nodes/{pod['spec']['nodeName']}")
        self.assertEqual(node["metadata"]["labels"].get("karpenter.sh/capacity-type"), "on-demand")
        self.assertGreaterEqual(self.spotfit.metric("spotfit_webhook_spot_cooloff_placements_total"), 1)


    def test_a_spot_only_budget_holds_on_karpenters_nodes(self):
        """A workflow over its spot-only budget, charged by the ledger from Karpenter's on-demand node, gets
        its next Job on spot: spotfit's required spot term, on which the real Karpenter launches spot."""
        ns = unique("budget")
        self.kube.create_namespace(ns, {"spotfit.io/enabled": "true"})
        self.kube.wait_default_service_account(ns, WAIT)
        budget = {"spotfit.io/workflow": "nightly", "spotfit.io/budget": "0.0001",
                  "spotfit.io/budget-action": "spot-only"}

        def budget_job(name, seconds):
            obj = job(name, "budget", "1", seconds)
            obj["spec"]["template"]["spec"]["nodeSelector"].pop("karpenter.sh/capacity-type", None)
            obj["metadata"]["annotations"].update(budget, **{"spotfit.io/capacity-type": "on-demand"})
            return obj

        def bound_node(name):
            pod = next((p for p in self.kube.pods(ns, f"batch.kubernetes.io/job-name={name}")
                        if p["spec"].get("nodeName")), None)
            return pod and self.kube.get_or_none(f"/api/v1/nodes/{pod['spec']['nodeName']}")

        # Within budget: on-demand as asked, on an on-demand NodeClaim.
        first = self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", budget_job("first", 30))
        self.assertIn("on-demand", str(first["spec"]["template"]["spec"]["affinity"]))
        node = wait_for("the first Job's pod on a Karpenter node", lambda: bound_node("first"), 4 * WAIT)
        self.assertEqual(node["metadata"]["labels"]["karpenter.sh/capacity-type"], "on-demand")
        # The ledger charges it from the price table (c5.xlarge on-demand, $0.17/h: over $0.0001 in 3 s).
        wait_for("the ledger to put the workflow over its budget", lambda: ledger_doc.workflow_usd(
            ledger_doc.read(self.kube, LEDGER_NAMESPACE), ns, "nightly") > 0.0001, 2 * WAIT)

        def spot_required():
            created = self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", budget_job(unique("probe"), 1),
                                       dryRun="All")
            return '"spot"' in json.dumps(
                created["spec"]["template"]["spec"]["affinity"]["nodeAffinity"].get(
                    "requiredDuringSchedulingIgnoredDuringExecution", {}))

        wait_for("the webhook to read the spend (webhook.budgets.refresh 1s)", spot_required, WAIT)
        stderr = self.cluster.kubectl("create", "--dry-run=server", "-n", ns, "-f", "-",
                                      input_text=json.dumps(budget_job("dry", 1))).stderr
        self.assertIn("spot capacity required", stderr)
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", budget_job("second", 5))
        node = wait_for("the second Job's pod on a Karpenter node", lambda: bound_node("second"), 4 * WAIT)
        self.assertEqual(node["metadata"]["labels"]["karpenter.sh/capacity-type"], "spot",
                         "the spot-only budget did not hold on Karpenter's nodes")


if __name__ == "__main__":
    unittest.main()

"""Issue 13, item 2: workflow pods reach the extender through the second scheduler (the only option on
managed clusters). `spotfit serve --scaler` with the webhook (`webhook.schedulerName: spotfit`, manifests/webhook's
configuration pointed at it) and the extender, and a second kube-scheduler from
manifests/scheduler/second-scheduler pointed at spotfit; no node at first. A Job without schedulerName in
an opted-in namespace gets `schedulerName: spotfit` (stored Job template and pods); the second scheduler
reports its pods Unschedulable, the scaler makes a node for them exactly as for default-scheduler pods,
and the second scheduler binds them there (its `Scheduled` Events), asking spotfit's extender (the filter
counter grows). A pod of another scheduler (volcano) keeps its schedulerName; a namespace without the
opt-in label is not touched."""

import unittest

from e2e_common import WAIT, ClusterTestCase, node_pool, pool_nodes, unique, wait_for
import spotfitproc

CONFIG = """webhook:
  schedulerName: spotfit
scaler:
  namespace: spotfit
  batchIdle: 1s
  batchMax: 3s
"""
POOL = "e2e-routed"


def job(name, parallelism=2):
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name},
            "spec": {"parallelism": parallelism, "completions": parallelism, "template": {"spec": {
                "restartPolicy": "Never", "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                                          "resources": {"requests": {"cpu": "250m"}}}]}}}}


class SchedulerRoutingTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kube.create_namespace("spotfit-system")  # the second scheduler's Lease
        cls.start_scaler(CONFIG, [node_pool(POOL, {"name": "m5.xlarge", "cpu": "4", "memory": "16Gi",
                                                   "onDemandPrice": 0.192, "spotPrice": 0.07},
                                            disruption={"consolidateAfter": "1h", "consolidateUnderused": False})])
        cls.spotfit.register_webhook()
        config = cls.spotfit.second_scheduler_configuration()
        cls.scheduler_name = spotfitproc.scheduler_name(config)
        assert cls.scheduler_name == "spotfit", cls.scheduler_name
        cls.cluster.start_extra_scheduler("spotfit-scheduler", config)
        cls.ns = unique("routed")
        cls.kube.create_namespace(cls.ns, {"spotfit.io/enabled": "true"})
        cls.plain = unique("plain")
        cls.kube.create_namespace(cls.plain)
        cls.kube.wait_default_service_account(cls.ns, WAIT)
        cls.kube.wait_default_service_account(cls.plain, WAIT)
        wait_for("the apiserver to call the webhook", lambda: cls.kube.create(
            f"/apis/batch/v1/namespaces/{cls.ns}/jobs", job(unique("probe")), dryRun="All")
            ["spec"]["template"]["spec"].get("schedulerName") == "spotfit", WAIT)

    def filters(self):
        return self.spotfit.metric("spotfit_extender_requests_total", verb="filter")

    def test_job_without_scheduler_name_is_placed_by_the_second_scheduler(self):
        before = self.filters()
        stored = self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs", job("train"))
        self.assertEqual(stored["spec"]["template"]["spec"]["schedulerName"], "spotfit")
        self.assertIn("scheduler-name",
                      stored["spec"]["template"]["metadata"]["annotations"]["spotfit.io/mutated"].split(","))

        def bound():
            pods = self.kube.pods(self.ns, "batch.kubernetes.io/job-name=train")
            return pods if len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods) else None

        pods = wait_for("the Job's pods bound by the second scheduler on a node the scaler made", bound, 3 * WAIT)
        self.assertLessEqual({p["spec"]["nodeName"] for p in pods},
                             {n["metadata"]["name"] for n in pool_nodes(self.kube, POOL)})
        self.assertGreaterEqual(self.spotfit.metric("spotfit_scaler_scale_ups_total"), 1)
        for pod in pods:
            self.assertEqual(pod["spec"]["schedulerName"], "spotfit")
            # spotfit's other mutations are in force too.
            self.assertTrue(any(t.get("key") == "spotfit.io/capacity-type" for t in pod["spec"]["tolerations"]))
        self.assertGreaterEqual(self.filters() - before, 2, "the extender was asked to filter for each pod")
        events = self.kube.get(f"/api/v1/namespaces/{self.ns}/events")["items"]
        scheduled = [e for e in events if e["reason"] == "Scheduled"]
        self.assertTrue(scheduled)
        self.assertTrue(all(e.get("reportingComponent") == "spotfit" for e in scheduled),
                        [(e.get("reportingComponent"), e.get("source")) for e in scheduled])

    def test_another_schedulers_pods_keep_their_scheduler(self):
        gang = job("gang")
        gang["spec"]["template"]["spec"]["schedulerName"] = "volcano"
        stored = self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs", gang)
        self.assertEqual(stored["spec"]["template"]["spec"]["schedulerName"], "volcano")
        # Mutated otherwise (spot toleration), just not re-routed.
        changes = stored["spec"]["template"]["metadata"]["annotations"]["spotfit.io/mutated"].split(",")
        self.assertIn("tolerations", changes)
        self.assertNotIn("scheduler-name", changes)
        pods = wait_for("the Job's pods", lambda: self.kube.pods(self.ns, "batch.kubernetes.io/job-name=gang"), WAIT)
        self.assertEqual({p["spec"]["schedulerName"] for p in pods}, {"volcano"})

    def test_namespace_without_the_label_keeps_the_default_scheduler(self):
        stored = self.kube.create(f"/apis/batch/v1/namespaces/{self.plain}/jobs", job("train"), dryRun="All")
        self.assertEqual(stored["spec"]["template"]["spec"]["schedulerName"], "default-scheduler")


if __name__ == "__main__":
    unittest.main()

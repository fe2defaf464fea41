"""The real Kueue (scripts/e2e/kueue.py, built from the Go module proxy) with spotfit serving its
ProvisioningRequests (docs/provisioningrequest.md): a ClusterQueue whose AdmissionCheck is Kueue's
ProvisioningRequest check with a ProvisioningRequestConfig of class best-effort-atomic-scale-up.

- A training Job (2 pods of 3 CPUs) is admitted only after spotfit provisioned all its nodes: the Workload's
  Admitted condition comes after the request's Provisioned=True, its pods run on the booked nodes.
- With spot unavailable in the pool (kwok provider parameter unavailableOfferings), the whole Job is provisioned
  on on-demand nodes.
- A Job the pool cannot hold (more pods than maxNodes) gets a request that is Failed with the reason, and Kueue
  requeues it: it creates the next attempt's request.
"""

import unittest

from e2e_common import WAIT, ClusterTestCase, controlplane, install_nodepool_crd, node_pool, pool_nodes, unique
from e2e_common import wait_for
import kueue

CONFIG = """scaler:
  namespace: spotfit
  batchIdle: 1s
  batchMax: 3s
"""
ATOMIC = "best-effort-atomic-scale-up.autoscaling.x-k8s.io"
PROVREQS = "/apis/autoscaling.x-k8s.io/v1"
MAX_NODES = 3
SPOT_POOL = "e2e-kueue"        # spot and on-demand
NO_SPOT_POOL = "e2e-kueue-od"  # spot offerings unavailable at the provider
GROUP = "e2e.spotfit.io/kueue"


def pool(name, unavailable=None):
    p = node_pool(name, {"name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192,
                         "spotPrice": 0.07},
                  provider_parameters={"unavailableOfferings": unavailable} if unavailable else None)
    p["spec"]["maxNodes"] = MAX_NODES
    p["spec"]["labels"] = {GROUP: name}
    return p


class KueueTest(ClusterTestCase):

    @classmethod
    def make_cluster(cls):
        return controlplane.Cluster(aggregator_routing=True)

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        install_nodepool_crd(cls.cluster)
        wait_for("provisioningrequests to be served",
                 lambda: cls.kube.get_or_none(f"{PROVREQS}/provisioningrequests") is not None, WAIT)
        cls.kueue = kueue.Kueue(cls.cluster)
        cls.kueue.start()
        cls.start_scaler(CONFIG, [pool(SPOT_POOL), pool(NO_SPOT_POOL, "m5.xlarge:spot")])
        k = cls.kube
        k.create(f"{kueue.API}/resourceflavors", {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ResourceFlavor",
                                                   "metadata": {"name": "default"}})
        k.create(f"{kueue.API}/provisioningrequestconfigs", {
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ProvisioningRequestConfig",
            "metadata": {"name": "atomic"},
            "spec": {"provisioningClassName": ATOMIC,
                     "retryStrategy": {"backoffLimitCount": 2, "backoffBaseSeconds": 5, "backoffMaxSeconds": 10}}})
        k.create(f"{kueue.API}/admissionchecks", {
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "AdmissionCheck", "metadata": {"name": "provreq"},
            "spec": {"controllerName": "kueue.x-k8s.io/provisioning-request",
                     "parameters": {"apiGroup": "kueue.x-k8s.io", "kind": "ProvisioningRequestConfig",
                                    "name": "atomic"}}})
        k.create(f"{kueue.API}/clusterqueues", {
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "cq"},
            "spec": {"namespaceSelector": {},
                     "admissionChecksStrategy": {"admissionChecks": [{"name": "provreq"}]},
                     "resourceGroups": [{"coveredResources": ["cpu", "memory"], "flavors": [{
                         "name": "default", "resources": [{"name": "cpu", "nominalQuota": "100"},
                                                          {"name": "memory", "nominalQuota": "1000Gi"}]}]}]}})

    def setUp(self):
        self.ns = unique("kueue")
        self.kube.create_namespace(self.ns)
        self.kube.wait_default_service_account(self.ns, WAIT)
        self.kube.create(f"{kueue.API}/namespaces/{self.ns}/localqueues", {
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "lq"},
            "spec": {"clusterQueue": "cq"}})

    def job(self, name, pods, pool_name):
        self.kube.create(f"/apis/batch/v1/namespaces/{self.ns}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "labels": {"kueue.x-k8s.io/queue-name": "lq"}},
            "spec": {"parallelism": pods, "completions": pods, "completionMode": "Indexed", "template": {"spec": {
                "restartPolicy": "Never", "nodeSelector": {GROUP: pool_name},
                "containers": [{"name": "train", "image": "registry.invalid/e2e/train:1",
                                "resources": {"requests": {"cpu": "3", "memory": "1Gi"}}}]}}}})

    def requests(self):
        return self.kube.get(f"{PROVREQS}/namespaces/{self.ns}/provisioningrequests")["items"]

    @staticmethod
    def condition(obj, type_):
        for c in (obj.get("status") or {}).get("conditions") or []:
            if c["type"] == type_:
                return c
        return None

    def admitted(self):
        for wl in self.kube.get(f"{kueue.API}/namespaces/{self.ns}/workloads")["items"]:
            c = self.condition(wl, "Admitted")
            if c and c["status"] == "True":
                return c
        return None

    def run_job(self, pool_name):
        self.job("train", 2, pool_name)
        provisioned = wait_for("the ProvisioningRequest to be Provisioned", lambda: next(
            (self.condition(r, "Provisioned") for r in self.requests()
             if (self.condition(r, "Provisioned") or {}).get("status") == "True"), None), 3 * WAIT)
        admitted = wait_for("the Workload to be admitted", self.admitted, 2 * WAIT)
        self.assertGreaterEqual(admitted["lastTransitionTime"], provisioned["lastTransitionTime"])
        nodes = {n["metadata"]["name"]: n for n in pool_nodes(self.kube, pool_name)}
        self.assertEqual(len(nodes), 2)

        def bound():
            pods = self.kube.pods(self.ns)
            return pods if len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods) else None

        pods = wait_for("the Job's pods to be bound", bound, 2 * WAIT)
        self.assertEqual({p["spec"]["nodeName"] for p in pods}, set(nodes))
        for p in pods:
            self.assertIn("autoscaling.x-k8s.io/consume-provisioning-request", p["metadata"].get("annotations", {}))
        return nodes

    def test_job_admitted_only_after_every_node_is_provisioned(self):
        nodes = self.run_job(SPOT_POOL)
        self.assertEqual({n["metadata"]["labels"].get("karpenter.sh/capacity-type") or
                          n["metadata"]["labels"].get("spotfit.io/capacity-type") for n in nodes.values()}, {"spot"})

    def test_job_provisioned_on_demand_when_spot_is_unavailable(self):
        nodes = self.run_job(NO_SPOT_POOL)
        self.assertEqual({n["metadata"]["labels"].get("karpenter.sh/capacity-type") or
                          n["metadata"]["labels"].get("spotfit.io/capacity-type") for n in nodes.values()},
                         {"on-demand"})

    def test_impossible_job_fails_and_is_requeued(self):
        before = len(pool_nodes(self.kube, SPOT_POOL))
        self.job("huge", MAX_NODES + 2, SPOT_POOL)
        # Kueue deletes a failed attempt's request when it creates the next one (after its 5 s back-off):
        # follow the names seen until a Failed one and a later attempt have both been seen.
        seen = {}

        def failed_then_retried():
            for r in self.requests():
                seen[r["metadata"]["name"]] = self.condition(r, "Failed") or seen.get(r["metadata"]["name"])
            failed = [c for c in seen.values() if c and c["status"] == "True"]
            return failed if failed and len(seen) >= 2 else None

        failed = wait_for("a Failed ProvisioningRequest and Kueue's next attempt", failed_then_retried, 3 * WAIT)
        self.assertEqual(failed[0]["reason"], "CapacityIsNotFound")
        self.assertIsNone(self.admitted())
        self.assertEqual(len(pool_nodes(self.kube, SPOT_POOL)), before)  # nothing half-launched


if __name__ == "__main__":
    unittest.main()

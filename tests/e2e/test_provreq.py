"""ProvisioningRequests (autoscaling.x-k8s.io/v1, docs/provisioningrequest.md) through the real API, without
Kueue: the upstream CRD from manifests/crd, `spotfit serve --scaler` with the kwok provider, PodTemplates and
requests created as Kueue would create them.

- best-effort-atomic-scale-up: every node the request needs appears in the pool, Provisioned=True once they are
  Ready, and pods carrying the consume annotation are bound there without any further scale-up.
- a request the pool cannot hold at once (more nodes than maxNodes): Failed=True with the reason, no node.
- check-capacity: room on a node that exists is booked (Provisioned=True, CapacityIsFound); a request that does
  not fit stays Provisioned=False (CapacityIsNotFound) and nothing is launched for it.
"""

import unittest

from e2e_common import WAIT, ClusterTestCase, install_nodepool_crd, node_pool, pool_nodes, unique, wait_for

CONFIG = """scaler:
  namespace: spotfit
  batchIdle: 1s
  batchMax: 3s
"""
POOL = "e2e-provreq"
MAX_NODES = 3
ATOMIC = "best-effort-atomic-scale-up.autoscaling.x-k8s.io"
CHECK = "check-capacity.autoscaling.x-k8s.io"
CONSUME = "autoscaling.x-k8s.io/consume-provisioning-request"
GROUP = "e2e.spotfit.io/provreq"  # label of the pool's nodes: the templates select them


def pod_spec(cpu, select_pool=True):
    spec = {"containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                            "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}]}
    if select_pool:
        spec["nodeSelector"] = {GROUP: "yes"}
    return spec


class ProvisioningRequestTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        pool = node_pool(POOL, {"name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192,
                                "spotPrice": 0.07})
        pool["spec"]["maxNodes"] = MAX_NODES
        pool["spec"]["labels"] = {GROUP: "yes"}
        install_nodepool_crd(cls.cluster)  # manifests/crd: the ProvisioningRequest CRD too; served before spotfit
        wait_for("provisioningrequests to be served",
                 lambda: cls.kube.get_or_none("/apis/autoscaling.x-k8s.io/v1/provisioningrequests") is not None, WAIT)
        cls.start_scaler(CONFIG, [pool])

    def setUp(self):
        self.ns = unique("provreq")
        self.kube.create_namespace(self.ns)
        self.kube.wait_default_service_account(self.ns, WAIT)

    def template(self, name, spec):
        self.kube.create(f"/api/v1/namespaces/{self.ns}/podtemplates", {
            "apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": name},
            "template": {"metadata": {"labels": {"app": name}}, "spec": spec}})

    def request(self, name, cls, template, count):
        self.kube.create(f"/apis/autoscaling.x-k8s.io/v1/namespaces/{self.ns}/provisioningrequests", {
            "apiVersion": "autoscaling.x-k8s.io/v1", "kind": "ProvisioningRequest", "metadata": {"name": name},
            "spec": {"provisioningClassName": cls, "podSets": [{"podTemplateRef": {"name": template},
                                                                 "count": count}]}})

    def condition(self, name, type_):
        obj = self.kube.get(f"/apis/autoscaling.x-k8s.io/v1/namespaces/{self.ns}/provisioningrequests/{name}")
        for c in (obj.get("status") or {}).get("conditions") or []:
            if c["type"] == type_:
                return c
        return None

    def wait_condition(self, name, type_, status, timeout=None):
        def probe():
            c = self.condition(name, type_)
            return c if c and c["status"] == status else None
        return wait_for(f"{name}: {type_}={status}", probe, timeout or 2 * WAIT)

    def test_atomic_scale_up_provisions_every_node_then_pods_consume_it(self):
        before = set(n["metadata"]["name"] for n in pool_nodes(self.kube, POOL))
        self.template("worker", pod_spec("3"))  # one per 4-CPU node
        self.request("gang", ATOMIC, "worker", 2)
        self.wait_condition("gang", "Accepted", "True")
        c = self.wait_condition("gang", "Provisioned", "True")
        self.assertEqual(c["reason"], "CapacityIsProvisioned")
        new = [n for n in pool_nodes(self.kube, POOL) if n["metadata"]["name"] not in before]
        self.assertEqual(len(new), 2, [n["metadata"]["name"] for n in new])
        # Kueue's pods: the consume annotation; the scheduler puts them on the booked nodes, no more nodes come.
        for i in range(2):
            self.kube.create(f"/api/v1/namespaces/{self.ns}/pods", {
                "apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": f"w{i}", "annotations": {CONSUME: "gang",
                                                              "autoscaling.x-k8s.io/provisioning-class-name": ATOMIC}},
                "spec": pod_spec("3")})
        wait_for("both pods bound", lambda: all(p["spec"].get("nodeName") for p in self.kube.pods(self.ns))
                 and len(self.kube.pods(self.ns)) == 2, 2 * WAIT)
        booked = {n["metadata"]["name"] for n in new}
        self.assertEqual({p["spec"]["nodeName"] for p in self.kube.pods(self.ns)}, booked)
        self.assertEqual(len(pool_nodes(self.kube, POOL)), len(before) + 2)

    def test_impossible_request_fails_with_reason(self):
        before = len(pool_nodes(self.kube, POOL))
        self.template("huge", pod_spec("3"))
        self.request("toobig", ATOMIC, "huge", MAX_NODES + 2)  # more nodes than the pool may have
        c = self.wait_condition("toobig", "Failed", "True")
        self.assertEqual(c["reason"], "CapacityIsNotFound")
        self.assertIn("pod(s)", c["message"])
        self.assertEqual(len(pool_nodes(self.kube, POOL)), before)  # nothing half-launched

    def test_check_capacity_books_existing_room_only(self):
        node = unique("free")
        self.kube.create_ready_node(node, cpu="4", labels={"e2e.spotfit.io/free": node})
        self.template("small", {**pod_spec("1", select_pool=False), "nodeSelector": {"e2e.spotfit.io/free": node}})
        self.request("fits", CHECK, "small", 2)
        c = self.wait_condition("fits", "Provisioned", "True")
        self.assertEqual(c["reason"], "CapacityIsFound")
        before = len(pool_nodes(self.kube, POOL))
        self.template("large", {**pod_spec("3", select_pool=False), "nodeSelector": {"e2e.spotfit.io/free": node}})
        self.request("nofit", CHECK, "large", 1)  # 2 of the node's 4 CPUs are booked by "fits"
        c = self.wait_condition("nofit", "Provisioned", "False")
        self.assertEqual(c["reason"], "CapacityIsNotFound")
        self.assertIsNone(self.condition("nofit", "Failed"))
        self.assertEqual(len(pool_nodes(self.kube, POOL)), before)  # check-capacity never launches


if __name__ == "__main__":
    unittest.main()

"""kube-scheduler calls spotfit's extender (scenario 2, scheduler side): `spotfit serve` with the extender
plugin, a second kube-scheduler configured from manifests/scheduler/second-scheduler pointed at it by
URL with spotfit's CA, and kwok-style nodes. The assertions are on choices only the extender can make:
kube-scheduler's in-tree plugins know nothing of spotfit.io/gpu-product or spotfit.io/capacity-type, so
a pod landing on the one matching node out of several equal ones proves the extender filtered.

The manifest's configuration is used as shipped: names mode (`nodeCacheCapable: true`), so kube-scheduler
sends only node names and spotfit answers from its own Node/Pod informer cache."""

import re
import unittest

from e2e_common import WAIT, ClusterTestCase, unique, wait_for
import spotfitproc

A100 = "NVIDIA-A100-SXM4-80GB"
T4 = "Tesla-T4"


def counter(metrics, name, **labels):
    total = 0.0
    for line in metrics.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        sample, value = line.rsplit(" ", 1)
        if all(f'{k}="{v}"' in sample for k, v in labels.items()):
            total += float(value)
    return total


class ExtenderTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kube.create_namespace("spotfit-system")
        cls.spotfit = spotfitproc.Spotfit(cls.cluster)
        cls.spotfit.start()
        config = cls.spotfit.second_scheduler_configuration()
        assert re.search(r"nodeCacheCapable:\s*true", config), "manifest no longer uses names mode; revisit this test"
        cls.scheduler_name = spotfitproc.scheduler_name(config)
        cls.scheduler = cls.cluster.start_extra_scheduler("spotfit-scheduler", config)
        cls.ns = unique("extender")
        cls.kube.create_namespace(cls.ns)
        gpu = {"nvidia.com/gpu": "1"}
        # Two identical GPU nodes but for the product, two identical CPU nodes but for the capacity type.
        cls.kube.create_ready_node("gpu-t4", cpu="8", memory="32Gi", extra_capacity=gpu,
                                   labels={"nvidia.com/gpu.product": T4, "spotfit.io/capacity-type": "spot"})
        cls.kube.create_ready_node("gpu-a100", cpu="8", memory="32Gi", extra_capacity=gpu,
                                   labels={"nvidia.com/gpu.product": A100, "spotfit.io/capacity-type": "spot"})
        cls.kube.create_ready_node("cpu-spot", cpu="8", memory="32Gi", labels={"spotfit.io/capacity-type": "spot"})
        cls.kube.create_ready_node("cpu-on-demand", cpu="8", memory="32Gi",
                                   labels={"spotfit.io/capacity-type": "on-demand"})
        cls.kube.wait_default_service_account(cls.ns, WAIT)

    def create_pod(self, name, annotations, requests):
        self.kube.create(f"/api/v1/namespaces/{self.ns}/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "annotations": annotations},
            "spec": {"schedulerName": self.scheduler_name,
                     "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                     "resources": {"requests": requests, "limits": {
                                         k: v for k, v in requests.items() if k == "nvidia.com/gpu"}}}]}})

    def node_of(self, name):
        return wait_for(f"pod {name} to be bound",
                        lambda: self.kube.get(f"/api/v1/namespaces/{self.ns}/pods/{name}")["spec"].get("nodeName"),
                        WAIT)

    def test_gpu_pods_land_on_the_product_they_require(self):
        before = self.spotfit.metrics()
        self.create_pod("needs-a100", {"spotfit.io/gpu-product": A100}, {"cpu": "1", "nvidia.com/gpu": "1"})
        self.create_pod("needs-t4", {"spotfit.io/gpu-product": T4}, {"cpu": "1", "nvidia.com/gpu": "1"})
        self.assertEqual(self.node_of("needs-a100"), "gpu-a100")
        self.assertEqual(self.node_of("needs-t4"), "gpu-t4")
        after = self.spotfit.metrics()
        self.assertGreaterEqual(counter(after, "spotfit_extender_requests_total", verb="filter")
                                - counter(before, "spotfit_extender_requests_total", verb="filter"), 2)

    def test_spot_only_pods_avoid_on_demand_nodes(self):
        names = [f"spot-only-{i}" for i in range(4)]
        for name in names:
            self.create_pod(name, {"spotfit.io/capacity-type": "spot"}, {"cpu": "500m", "memory": "256Mi"})
        for name in names:
            # Three of the four nodes are spot; in-tree scoring alone would spread onto cpu-on-demand too.
            self.assertNotEqual(self.node_of(name), "cpu-on-demand")

    def test_on_demand_pods_avoid_spot_nodes(self):
        self.create_pod("on-demand-only", {"spotfit.io/capacity-type": "on-demand"}, {"cpu": "500m"})
        self.assertEqual(self.node_of("on-demand-only"), "cpu-on-demand")

    def test_pod_no_node_can_take_stays_pending_with_spotfits_reason(self):
        # CPU only, so every node passes the in-tree filters and the refusal can only be spotfit's.
        self.create_pod("needs-h100", {"spotfit.io/gpu-product": "NVIDIA-H100-80GB-HBM3"}, {"cpu": "1"})

        def unschedulable():
            pod = self.kube.get(f"/api/v1/namespaces/{self.ns}/pods/needs-h100")
            for c in pod["status"].get("conditions", []):
                if c["type"] == "PodScheduled" and c.get("reason") == "Unschedulable":
                    return c["message"]
            return None

        message = wait_for("the pod to be reported Unschedulable", unschedulable, WAIT)
        self.assertIn("pod requires NVIDIA-H100-80GB-HBM3", message)
        self.assertNotIn("nodeName", self.kube.get(f"/api/v1/namespaces/{self.ns}/pods/needs-h100")["spec"])


if __name__ == "__main__":
    unittest.main()

"""The KubeSchedulerConfiguration manifests run in a real kube-scheduler, and their `ignorable: true`
extender keeps scheduling going while spotfit is unreachable (scenario 5, scheduler side)."""

import base64
import os
import unittest

from e2e_common import WAIT, ClusterTestCase, controlplane, unique, wait_for
import spotfitproc


def pod(name, scheduler_name, cpu="500m"):
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"schedulerName": scheduler_name,
                     "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                     "resources": {"requests": {"cpu": cpu, "memory": "128Mi"}}}]}}


class SchedulerConfigWithSpotfitDownTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.kube.create_namespace("spotfit-system")  # the second scheduler's leader-election Lease lives here
        with open(os.path.join(cls.cluster.pki, "ca.crt"), "rb") as f:
            cls.ca_bundle = base64.b64encode(f.read()).decode()
        # A loopback port nobody listens on: every extender call is refused at once.
        cls.dead_url = f"https://127.0.0.1:{controlplane._free_port(cls.cluster.ports)}"

    def test_second_scheduler_binds_its_pods_with_the_extender_unreachable(self):
        config = spotfitproc.render_scheduler_configuration("second-scheduler", self.dead_url, self.ca_bundle)
        name = spotfitproc.scheduler_name(config)
        self.assertEqual(name, "spotfit")
        scheduler = self.cluster.start_extra_scheduler("second-scheduler", config)
        ns = unique("sched-down")
        self.kube.create_namespace(ns)
        node = unique("node")
        self.kube.create_ready_node(node, cpu="4", memory="8Gi")
        self.kube.wait_default_service_account(ns, WAIT)
        self.kube.create(f"/api/v1/namespaces/{ns}/pods", pod("workflow-pod", name))

        bound = wait_for("the second scheduler to bind the pod without spotfit",
                         lambda: self.kube.get(f"/api/v1/namespaces/{ns}/pods/workflow-pod")["spec"].get("nodeName"),
                         WAIT)
        self.assertTrue(bound)
        # It really is the second scheduler: it holds its own Lease in spotfit-system.
        lease = self.kube.get("/apis/coordination.k8s.io/v1/namespaces/spotfit-system/leases/spotfit-scheduler")
        self.assertTrue(lease["spec"]["holderIdentity"])
        # And it did try the extender: the failure is logged, then ignored.
        log = scheduler.tail(400)
        self.assertIn(self.dead_url.split("//")[1], log)

    def test_default_profile_configuration_is_accepted_by_kube_scheduler(self):
        config = spotfitproc.render_scheduler_configuration("default-profile", self.dead_url, self.ca_bundle)
        self.assertEqual(spotfitproc.scheduler_name(config), "default-scheduler")
        process = self.cluster.start_extra_scheduler("default-profile-scheduler", config)
        self.assertTrue(process.alive())
        self.cluster.stop_process(process)


if __name__ == "__main__":
    unittest.main()

"""The control plane itself works: the apiserver stores objects, the controller-manager runs the Job
controller, the scheduler filters and binds onto kwok-style Nodes, and Job completion is tracked."""

import unittest

from e2e_common import WAIT, ClusterTestCase, unique, wait_for


def job(name, parallelism, cpu):
    return {
        "apiVersion": "batch/v1", "kind": "Job",
        "metadata": {"name": name},
        "spec": {
            "parallelism": parallelism, "completions": parallelism, "backoffLimit": 0,
            "template": {"spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "work", "image": "registry.invalid/e2e/work:1",
                                "resources": {"requests": {"cpu": cpu, "memory": "64Mi"}}}]}}}}


class SmokeTest(ClusterTestCase):

    def test_apiserver_serves_version_and_stores_namespaces(self):
        version = self.kube.get("/version")
        self.assertEqual(version["major"], "1")
        ns = unique("smoke-ns")
        self.kube.create_namespace(ns, {"purpose": "smoke"})
        stored = self.kube.get(f"/api/v1/namespaces/{ns}")
        self.assertEqual(stored["metadata"]["labels"]["purpose"], "smoke")
        self.assertEqual(stored["status"]["phase"], "Active")

    def test_kubectl_talks_to_the_apiserver(self):
        out = self.cluster.kubectl("get", "namespace", "kube-system", "-o", "jsonpath={.metadata.name}")
        self.assertEqual(out.stdout, "kube-system")

    def test_job_pods_are_created_scheduled_onto_fitting_fake_node_and_completed(self):
        ns = unique("smoke-job")
        self.kube.create_namespace(ns)
        small, big = unique("small"), unique("big")
        self.kube.create_ready_node(small, cpu="100m", memory="1Gi")
        self.kube.create_ready_node(big, cpu="4", memory="8Gi")
        self.kube.wait_default_service_account(ns, WAIT)

        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", job("smoke", 2, "500m"))
        selector = "batch.kubernetes.io/job-name=smoke"

        def bound_pods():
            pods = self.kube.pods(ns, selector)
            return pods if len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods) else None

        pods = wait_for("the scheduler to bind both Job pods", bound_pods, WAIT)
        job_uid = self.kube.get(f"/apis/batch/v1/namespaces/{ns}/jobs/smoke")["metadata"]["uid"]
        for pod in pods:
            owners = pod["metadata"]["ownerReferences"]
            self.assertEqual([(o["kind"], o["uid"]) for o in owners], [("Job", job_uid)])
            # 500m does not fit the 100m node: the scheduler filtered, it did not pick at random.
            self.assertEqual(pod["spec"]["nodeName"], big)
            scheduled = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"]
            self.assertEqual(scheduled[0]["status"], "True")

        for pod in pods:
            self.kube.set_pod_phase(ns, pod["metadata"]["name"], "Succeeded")

        def complete():
            status = self.kube.get(f"/apis/batch/v1/namespaces/{ns}/jobs/smoke")["status"]
            done = [c for c in status.get("conditions", []) if c["type"] == "Complete" and c["status"] == "True"]
            return status if done else None

        status = wait_for("the Job controller to mark the Job Complete", complete, WAIT)
        self.assertEqual(status["succeeded"], 2)

    def test_pod_too_big_for_every_node_stays_pending_with_a_reason(self):
        ns = unique("smoke-pending")
        self.kube.create_namespace(ns)
        self.kube.create_ready_node(unique("node"), cpu="8", memory="16Gi")
        self.kube.wait_default_service_account(ns, WAIT)
        self.kube.create(f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "huge"},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                     "resources": {"requests": {"cpu": "512"}}}]}})

        def unschedulable():
            pod = self.kube.get(f"/api/v1/namespaces/{ns}/pods/huge")
            for c in pod["status"].get("conditions", []):
                if c["type"] == "PodScheduled" and c["status"] == "False" and c.get("reason") == "Unschedulable":
                    return pod
            return None

        pod = wait_for("the scheduler to report the pod Unschedulable", unschedulable, WAIT)
        self.assertNotIn("nodeName", pod["spec"])
        message = [c for c in pod["status"]["conditions"] if c["type"] == "PodScheduled"][0]["message"]
        self.assertIn("Insufficient cpu", message)


if __name__ == "__main__":
    unittest.main()

"""Capacity presets on the real control plane: for each of spotfit's presets (`webhook.capacity.preset`:
spotfit, karpenter, eks, gke, aks) spotfit serve runs with that preset, the test registers two Ready nodes
labelled (and tainted) as that provisioner labels its spot and on-demand nodes, and creates in an opted-in
namespace one Job with `spotfit.io/capacity-type: spot` and one with `on-demand`. The real kube-scheduler
must bind every pod of the spot Job to the spot node and every pod of the on-demand Job to the on-demand
node: none stays Pending. GKE and AKS on-demand nodes carry no capacity label, so their on-demand Job gets
`NotIn [spot value]`, which only the real scheduler's evaluation proves satisfiable."""

import json
import unittest

from e2e_common import WAIT, ClusterTestCase, unique, wait_for
import spotfitproc

# preset -> (spot node labels, spot node taints, on-demand node labels), as each provisioner labels them.
NODES = {
    "spotfit": ({"spotfit.io/capacity-type": "spot"},
                [{"key": "spotfit.io/capacity-type", "value": "spot", "effect": "NoSchedule"}],
                {"spotfit.io/capacity-type": "on-demand"}),
    "karpenter": ({"karpenter.sh/capacity-type": "spot", "karpenter.sh/nodepool": "default"}, [],
                  {"karpenter.sh/capacity-type": "on-demand", "karpenter.sh/nodepool": "default"}),
    "eks": ({"eks.amazonaws.com/capacityType": "SPOT", "eks.amazonaws.com/nodegroup": "spot"}, [],
            {"eks.amazonaws.com/capacityType": "ON_DEMAND", "eks.amazonaws.com/nodegroup": "od"}),
    # GKE: Spot nodes carry cloud.google.com/gke-spot=true (and, optionally, its NoSchedule taint);
    # on-demand nodes carry no such label.
    "gke": ({"cloud.google.com/gke-spot": "true", "cloud.google.com/gke-nodepool": "spot"},
            [{"key": "cloud.google.com/gke-spot", "value": "true", "effect": "NoSchedule"}],
            {"cloud.google.com/gke-nodepool": "default-pool"}),
    # AKS: Spot node pools are labelled and tainted kubernetes.azure.com/scalesetpriority=spot; regular
    # ones have neither.
    "aks": ({"kubernetes.azure.com/scalesetpriority": "spot", "kubernetes.azure.com/agentpool": "spot"},
            [{"key": "kubernetes.azure.com/scalesetpriority", "value": "spot", "effect": "NoSchedule"}],
            {"kubernetes.azure.com/agentpool": "system"}),
}

# Each preset's nodes also carry e2e.spotfit.io/preset=<preset>, and its Jobs select it, so the nodes of
# the other presets (which a NotIn term would also admit) stay out of the way.
PRESET_LABEL = "e2e.spotfit.io/preset"


PROTECTION = ("karpenter.sh/do-not-disrupt", "cluster-autoscaler.kubernetes.io/safe-to-evict")
CA_PROTECTED = {"karpenter.sh/do-not-disrupt": None, "cluster-autoscaler.kubernetes.io/safe-to-evict": "false"}
PROTECTED = {"spotfit": dict.fromkeys(PROTECTION),
             "karpenter": {"karpenter.sh/do-not-disrupt": "true", "cluster-autoscaler.kubernetes.io/safe-to-evict": None},
             "eks": CA_PROTECTED, "gke": CA_PROTECTED, "aks": CA_PROTECTED}


def job(name, preset, capacity):
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "annotations": {"spotfit.io/capacity-type": capacity}},
            "spec": {"parallelism": 2, "completions": 2, "backoffLimit": 0,
                     "template": {"spec": {
                         "restartPolicy": "Never", "nodeSelector": {PRESET_LABEL: preset},
                         "containers": [{"name": "work", "image": "registry.invalid/e2e/work:1",
                                         "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}}}}


def required_expressions(pod_spec):
    terms = pod_spec["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"]
    return [(e["key"], e["operator"], e.get("values")) for t in terms for e in t["matchExpressions"]]


class PresetsTest(ClusterTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.spotfit = spotfitproc.Spotfit(cls.cluster, config_text="webhook: {}\n")
        cls.spotfit.start()
        cls.addClassCleanup(cls.spotfit.stop)
        cls.spotfit.register_webhook()

    def restart_with_preset(self, preset):
        self.spotfit.stop()
        self.spotfit.config_text = f"webhook:\n  capacity: {{preset: {preset}}}\n"
        self.spotfit.start()

    def check_preset(self, preset):
        self.restart_with_preset(preset)
        spot_labels, spot_taints, od_labels = NODES[preset]
        spot_node, od_node = unique(f"{preset}-spot"), unique(f"{preset}-od")
        ns = unique(preset)
        self.kube.create_namespace(ns, {"spotfit.io/enabled": "true"})
        self.kube.wait_default_service_account(ns, WAIT)
        # The apiserver calls the webhook of the restarted process once it answers again: wait until a
        # dry run comes back with this preset's label.
        label = next(iter(spot_labels))
        wait_for(f"the webhook to answer with the {preset} preset", lambda: label in str(self.kube.create(
            f"/apis/batch/v1/namespaces/{ns}/jobs", job(unique("probe"), preset, "spot"), dryRun="All")), WAIT)

        self.check_warning_without_nodes(preset, ns, spot_node, od_node)
        want = {"spot": spot_node, "on-demand": od_node}
        for capacity in want:
            created = self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", job(capacity, preset, capacity))
            exprs = required_expressions(created["spec"]["template"]["spec"])
            self.assertIn(label, [k for k, _, _ in exprs], f"{preset} {capacity}: {exprs}")
            # The real apiserver accepted the podFailurePolicy spotfit added (restartPolicy Never; with the
            # podReplacementPolicy Failed it requires); not with the spotfit preset (auto).
            if preset == "spotfit":
                self.assertNotIn("podFailurePolicy", created["spec"])
            else:
                self.assertEqual(created["spec"]["podFailurePolicy"]["rules"], [
                    {"action": "Ignore", "onPodConditions": [{"type": "DisruptionTarget", "status": "True"}]}])
                self.assertEqual(created["spec"]["podReplacementPolicy"], "Failed")
            # Not resumable (no checkpoint command): protected from the provisioner's consolidation.
            annotations = created["spec"]["template"]["metadata"]["annotations"]
            self.assertEqual({k: annotations.get(k) for k in PROTECTION}, PROTECTED[preset], preset)
        for capacity, node in want.items():
            def bound(capacity=capacity):
                pods = self.kube.pods(ns, f"batch.kubernetes.io/job-name={capacity}")
                return pods if len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods) else None

            pods = wait_for(f"{preset}: the {capacity} Job's two pods to be bound", bound, WAIT)
            self.assertEqual({p["spec"]["nodeName"] for p in pods}, {node}, f"{preset} {capacity}")
        return ns

    def kubectl_warnings(self, ns, obj):
        """kubectl's stderr for a server-side dry run of `obj` (where the AdmissionResponse warnings show)."""
        return self.cluster.kubectl("create", "--dry-run=server", "-n", ns, "-f", "-",
                                    input_text=json.dumps(obj)).stderr

    def check_warning_without_nodes(self, preset, ns, spot_node, od_node):
        """No node of this preset exists yet: a spot Job is admitted with a warning, /readyz says spot has
        no Ready node (and stays ready) and the counter counts it; the warning goes once the node is Ready."""
        spot_labels, spot_taints, od_labels = NODES[preset]
        wait_for("the node informer to list the nodes", lambda: "nodes not listed yet" not in self.spotfit.readyz(),
                 WAIT)
        before = self.spotfit.metric("spotfit_webhook_unsatisfiable_required_terms_total")
        stderr = self.kubectl_warnings(ns, job(unique("stranded"), preset, "spot"))
        self.assertIn("Warning: spotfit: no Ready node has " + next(iter(spot_labels)), stderr)
        self.assertIn("(required spot)", stderr)
        readyz = self.spotfit.readyz()
        self.assertIn(f"preset {preset}: spot: 0 Ready nodes", readyz)
        self.assertIn("stay Pending until a provisioner adds such a node", readyz)
        self.assertTrue(self.spotfit._get_ok("/readyz"), readyz)
        self.assertEqual(self.spotfit.metric("spotfit_webhook_unsatisfiable_required_terms_total"), before + 1)

        self.kube.create_ready_node(spot_node, labels={**spot_labels, PRESET_LABEL: preset}, taints=spot_taints)
        self.kube.create_ready_node(od_node, labels={**od_labels, PRESET_LABEL: preset})
        wait_for("the webhook to see the Ready spot node",
                 lambda: f"preset {preset}: spot: 1 Ready nodes" in self.spotfit.readyz(), WAIT)
        self.assertNotIn("no Ready node", self.kubectl_warnings(ns, job(unique("placed"), preset, "spot")))

    def test_spotfit(self):
        self.check_preset("spotfit")

    def test_karpenter(self):
        ns = self.check_preset("karpenter")
        # A resumable Job (checkpoint hook) stays movable; a Job restarting OnFailure gets no
        # podFailurePolicy (the apiserver would refuse it) and is created.
        resumable = job("resumable", "karpenter", "spot")
        resumable["metadata"]["annotations"]["spotfit.io/checkpoint"] = "/bin/save"
        resumable["spec"]["template"]["spec"]["restartPolicy"] = "OnFailure"
        created = self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", resumable)
        self.assertNotIn("podFailurePolicy", created["spec"])
        self.assertNotIn("karpenter.sh/do-not-disrupt", created["spec"]["template"]["metadata"]["annotations"])

    def test_eks(self):
        self.check_preset("eks")

    def test_gke_on_demand_is_label_absent(self):
        ns = self.check_preset("gke")
        pod = self.kube.pods(ns, "batch.kubernetes.io/job-name=on-demand")[0]
        self.assertIn(("cloud.google.com/gke-spot", "NotIn", ["true"]), required_expressions(pod["spec"]))
        self.assertNotIn("cloud.google.com/gke-spot", [t.get("key") for t in pod["spec"].get("tolerations", [])])

    def test_aks_on_demand_is_label_absent(self):
        ns = self.check_preset("aks")
        pod = self.kube.pods(ns, "batch.kubernetes.io/job-name=on-demand")[0]
        self.assertIn(("kubernetes.azure.com/scalesetpriority", "NotIn", ["spot"]), required_expressions(pod["spec"]))


if __name__ == "__main__":
    unittest.main()

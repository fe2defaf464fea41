"""Scale-up through the real API (scenario 2, scaler side): NodePool objects of the project's CRD,
`spotfit serve --scaler` with the kwok provider, and unschedulable CPU and GPU pods. The scaler creates
the nodes the plan calls for (bin-packed, no duplicates), the node-lifecycle controller and kube-scheduler
treat them as real nodes, and every pod ends up bound on a node of the right pool."""

import time
import unittest

from e2e_common import (WAIT, ClusterTestCase, kubeapi, node_pool, pool_nodes, unique,
                        wait_for)
import spotfitproc

CONFIG = """scaler:
  namespace: spotfit
  batchIdle: 1s
  batchMax: 3s
"""


CONSOLIDATE_AFTER_S = 5  # the pool's consolidateAfter in ScaleDownTest

# InterruptionTest: two notices in a pool within 10 minutes put it in a 10-minute spot cool-off; a refused
# eviction is retried every second; a pool's scale-up holds off its scale-down for 1 s only.
COOL_OFF_THRESHOLD = 2
NOTICE_DEADLINE_S = 8       # an interrupted node is deleted this long after its notice, pods or not
INTERRUPTION_CONFIG = CONFIG + f"""  scaleDownCooldown: 1s
  evictionRetry: 1s
  interruption: {{window: 10m, threshold: {COOL_OFF_THRESHOLD}, coolOff: 10m, drainDeadline: {NOTICE_DEADLINE_S}s}}
"""
COOL_POOL = "e2e-spot"      # the cool-off test's pool
DRAIN_POOL = "e2e-drain"    # the drain-deadline test's under-used node ...
ROOM_POOL = "e2e-room"      # ... and the node with room for its pod
NOTICE_POOL = "e2e-notice"  # the notice-deadline test's pool
DRAIN_TIMEOUT_S = 5         # DRAIN_POOL's drainTimeout
REPLACE_POOL = "e2e-replace"  # the replace-with-cheaper test's pool
REPLACE_READY_DELAY_S = 2   # its kwok nodes report Ready this long after they are created
ISOLATED = "e2e.spotfit.io/isolated"   # taint key of those pools
GROUP = "e2e.spotfit.io/group"         # label of those pools


def counter_sum(metrics, name, **labels):
    return spotfitproc.metric_sum(metrics, name, **labels)


def sample(metrics, name, **labels):
    """The value of the one sample of `name` with exactly `labels`' values among its labels; None if absent."""
    for line in metrics.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return None


def isolated_pool(name, spot_price, on_demand_price, disruption, instance_types=None, provider_parameters=None):
    """A NodePool (spot and on-demand; one 4-CPU type unless instance_types) whose nodes carry taint ISOLATED
    and label GROUP=name."""
    pool = node_pool(name, {"name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": on_demand_price,
                            "spotPrice": spot_price}, disruption=disruption, provider_parameters=provider_parameters)
    if instance_types:
        pool["spec"]["instanceTypes"] = instance_types
    pool["spec"]["labels"] = {GROUP: "drain" if name in (DRAIN_POOL, ROOM_POOL) else name}
    pool["spec"]["taints"] = [{"key": ISOLATED, "value": "true", "effect": "NoSchedule"}]
    return pool


def replace_types(m5_spot_price):
    """REPLACE_POOL's instance types: m5.xlarge at m5_spot_price (spot) and m6a.xlarge at 0.12, both 4 CPUs."""
    return [{"name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.3, "spotPrice": m5_spot_price},
            {"name": "m6a.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.3, "spotPrice": 0.12}]


def isolated_pod_spec(cpu, node_selector, restart_policy=None):
    """A pod spec that tolerates ISOLATED and selects nodes by node_selector."""
    spec = {"nodeSelector": node_selector, "terminationGracePeriodSeconds": 30,
            "tolerations": [{"key": ISOLATED, "operator": "Exists", "effect": "NoSchedule"}],
            "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                            "resources": {"requests": {"cpu": cpu, "memory": "256Mi"}}}]}
    if restart_policy:
        spec["restartPolicy"] = restart_policy
    return spec


def taint_keys(node):
    return {t["key"] for t in node["spec"].get("taints") or []}


class ScalerTestCase(ClusterTestCase):
    """Helpers of the scaler scenarios, which start with ClusterTestCase.start_scaler."""

    def new_namespace(self, prefix):
        ns = unique(prefix)
        self.kube.create_namespace(ns)
        self.kube.wait_default_service_account(ns, WAIT)
        return ns

    def nodes_of(self, pool):
        return {n["metadata"]["name"]: n for n in pool_nodes(self.kube, pool)}

    def deploy(self, ns, spec, replicas=1, app="web"):
        """A Deployment of `replicas` pods labelled app=`app` with pod spec `spec`."""
        self.kube.create(f"/apis/apps/v1/namespaces/{ns}/deployments", {
            "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": app},
            "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": app}}, "template": {
                "metadata": {"labels": {"app": app}}, "spec": spec}}})

    def one_bound(self, ns, what, selector="app=web"):
        """Waits for the single pod matching `selector` to be bound; returns it."""
        def bound():
            pods = self.kube.pods(ns, selector)
            return pods[0] if len(pods) == 1 and pods[0]["spec"].get("nodeName") else None

        return wait_for(what, bound, 3 * WAIT)

    def protected_web(self, ns, cpu, selector, what):
        """A 1-replica Deployment `web` with a PDB minAvailable 1: waits for its pod to be bound, marks it
        Running/Ready (as a kubelet would; a Pending pod's eviction ignores the budget) and waits for the
        disruption controller to allow no disruption. Returns (pod name, node name)."""
        self.deploy(ns, isolated_pod_spec(cpu, selector))
        self.kube.create(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets", {
            "apiVersion": "policy/v1", "kind": "PodDisruptionBudget", "metadata": {"name": "web"},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "web"}}}})
        web = self.one_bound(ns, what)
        self.kube.set_pod_running(ns, web["metadata"]["name"])

        def pdb_holds():
            status = self.kube.get(f"/apis/policy/v1/namespaces/{ns}/poddisruptionbudgets/web").get("status") or {}
            return status.get("currentHealthy") == 1 and status.get("disruptionsAllowed") == 0

        wait_for("the disruption controller to allow no disruption", pdb_holds, WAIT)
        return web["metadata"]["name"], web["spec"]["nodeName"]


class ScaleUpTest(ScalerTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_scaler(CONFIG, [
            node_pool("e2e-cpu", {"name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192,
                                  "spotPrice": 0.07}),
            node_pool("e2e-gpu", {"name": "g4dn.xlarge", "cpu": "4", "memory": "16Gi", "gpus": 1,
                                  "gpuProduct": "Tesla-T4", "onDemandPrice": 0.526, "spotPrice": 0.2})])

    def pool_nodes(self, pool):
        return pool_nodes(self.kube, pool)

    def test_unschedulable_cpu_and_gpu_pods_get_packed_nodes_from_their_pools(self):
        ns = self.new_namespace("scaleup")
        cpu_pods = [f"cpu-{i}" for i in range(6)]
        for name in cpu_pods:
            self.kube.create(f"/api/v1/namespaces/{ns}/pods", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                         "resources": {"requests": {"cpu": "1500m", "memory": "2Gi"}}}]}})
        self.kube.create(f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "gpu-0"},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                     "resources": {"requests": {"cpu": "1", "nvidia.com/gpu": "1"},
                                                   "limits": {"nvidia.com/gpu": "1"}}}]}})

        def all_bound():
            pods = self.kube.pods(ns)
            return pods if len(pods) == 7 and all(p["spec"].get("nodeName") for p in pods) else None

        pods = wait_for("the scaler's nodes to take every pod", all_bound, 3 * WAIT)
        placement = {p["metadata"]["name"]: p["spec"]["nodeName"] for p in pods}
        cpu_request = {p["metadata"]["name"]: 1.5 if p["metadata"]["name"].startswith("cpu") else 1.0 for p in pods}
        nodes = {n["metadata"]["name"]: n for n in self.pool_nodes("e2e-cpu") + self.pool_nodes("e2e-gpu")}

        # Every pod runs on a node the scaler made for it.
        self.assertTrue(set(placement.values()) <= set(nodes), (placement, sorted(nodes)))
        # 10 CPUs of requests on 4-CPU nodes: 3 nodes is the minimum, and the plan takes no more.
        self.assertEqual(len(nodes), 3, sorted(nodes))
        for name, node in nodes.items():
            used = sum(cpu_request[p] for p, n in placement.items() if n == name)
            self.assertLessEqual(used, 4.0, name)
            self.assertGreaterEqual(used, 2.0, f"{name} is barely used: not bin-packed")
        # The GPU pod got the one GPU node, labelled as GPU feature discovery would.
        gpu_nodes = self.pool_nodes("e2e-gpu")
        self.assertEqual([n["metadata"]["name"] for n in gpu_nodes], [placement["gpu-0"]])
        self.assertEqual(gpu_nodes[0]["metadata"]["labels"]["nvidia.com/gpu.product"], "Tesla-T4")
        self.assertEqual(gpu_nodes[0]["status"]["allocatable"]["nvidia.com/gpu"], "1")
        # Spot first: both pools offer spot.
        for node in nodes.values():
            self.assertEqual(node["metadata"]["labels"].get("spotfit.io/capacity-type"), "spot")

        # A settled cluster stays settled: later passes create nothing more.
        self.assertEqual(self.scale_ups(), 3.0)
        metrics = self.spotfit.metrics()
        wait_for("another scaler pass", lambda: self.spotfit.metrics() != metrics, WAIT)
        self.assertEqual(self.scale_ups(), 3.0)
        self.assertEqual(len(self.pool_nodes("e2e-cpu")) + len(self.pool_nodes("e2e-gpu")), 3)

    def scale_ups(self):
        total = 0.0
        for line in self.spotfit.metrics().splitlines():
            if line.startswith("spotfit_scaler_scale_ups_total{"):
                total += float(line.rsplit(" ", 1)[1])
        return total


class ScaleDownTest(ScalerTestCase):
    """Scenario 3: the Job's pods complete (their status set as a kubelet would) and the scaler removes
    the nodes that became empty, and only those, within the pool's consolidateAfter plus a few passes."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.start_scaler(CONFIG + "  scaleDownCooldown: 1s\n", [node_pool("e2e-cpu", {
            "name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192, "spotPrice": 0.07},
            disruption={"consolidateAfter": f"{CONSOLIDATE_AFTER_S}s", "consolidateUnderused": False})])

    def test_nodes_emptied_by_completed_jobs_are_removed_and_busy_ones_kept(self):
        ns = self.new_namespace("scaledown")
        for job_name, parallelism in (("short", 4), ("long", 2)):
            self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", {
                "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": job_name},
                "spec": {"parallelism": parallelism, "completions": parallelism, "template": {"spec": {
                    "restartPolicy": "Never",
                    "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                    "resources": {"requests": {"cpu": "1500m", "memory": "2Gi"}}}]}}}})

        def bound(selector, count):
            pods = self.kube.pods(ns, selector)
            return pods if len(pods) == count and all(p["spec"].get("nodeName") for p in pods) else None

        short = wait_for("the short Job's pods on new nodes", lambda: bound("batch.kubernetes.io/job-name=short", 4),
                         3 * WAIT)
        long_pods = wait_for("the long Job's pods on new nodes", lambda: bound("batch.kubernetes.io/job-name=long", 2),
                             3 * WAIT)
        short_nodes = {p["spec"]["nodeName"] for p in short}
        long_nodes = {p["spec"]["nodeName"] for p in long_pods}
        busy = long_nodes
        emptied = short_nodes - long_nodes
        self.assertEqual(len(short_nodes | long_nodes), 3)
        self.assertTrue(emptied, "every node hosts a long-running pod: nothing to scale down")

        for pod in short:
            self.kube.set_pod_phase(ns, pod["metadata"]["name"], "Succeeded")
        start = time.monotonic()

        def removed():
            names = set(self.nodes_of("e2e-cpu"))
            return names if not (names & emptied) else None

        remaining = wait_for("the scaler to remove the emptied nodes", removed, WAIT)
        elapsed = time.monotonic() - start
        print(f"\nemptied nodes removed {elapsed:.1f}s after their pods completed (consolidateAfter 5s)")
        # Issue 7's target: an empty node is gone within consolidateAfter + 10 s, and not before its last pod
        # has been finished for consolidateAfter (the scaler counts from when it first saw that pod finished,
        # even if it never saw it running; 1 s of slack for the status updates above).
        self.assertLessEqual(elapsed, CONSOLIDATE_AFTER_S + 10, "empty nodes removed later than consolidateAfter + 10s")
        self.assertGreaterEqual(elapsed, CONSOLIDATE_AFTER_S - 1, "empty nodes removed before consolidateAfter")
        self.assertEqual(remaining, busy)
        # The counter is published by the pass that deleted the nodes, which may end after the Node deletions
        # are visible through the API: wait for that pass instead of reading the metric once.
        wait_for("scale_downs_total to count the removed nodes",
                 lambda: counter_sum(self.spotfit.metrics(), "spotfit_scaler_scale_downs_total") == len(emptied) or None,
                 WAIT)
        self.assertEqual(counter_sum(self.spotfit.metrics(), "spotfit_scaler_scale_downs_total"), len(emptied))
        # The nodes still running the long Job's pods were left alone and its pods were never evicted.
        for pod in self.kube.pods(ns, "batch.kubernetes.io/job-name=long"):
            self.assertIn(pod["spec"]["nodeName"], busy)
            self.assertIsNone(pod["metadata"].get("deletionTimestamp"))


class InterruptionTest(ScalerTestCase):
    """Scenario 4: a spot interruption notice (the kwok provider's `spotfit.io/interruption-notice` taint,
    as a cloud's termination handler would put it) on a node running a Job's pod: the scaler taints it
    `spotfit.io/disrupting`, creates a replacement node in the same pass and evicts the pod; the Job's
    replacement pod binds on the new node; once the evicted pod is gone (removed here as a kubelet would
    after its preStop) the interrupted node is deleted. The untouched node and its pod are left alone.

    The same control plane and spotfit (config INTERRUPTION_CONFIG) also run, each in its own tainted pools:
    the spot cool-off after `threshold` notices in a pool (replacement and new capacity on-demand, NodePool
    status and gauge), a PDB-refused consolidation drain that gives up at the pool's drainTimeout, an
    interrupted node deleted at its notice deadline, and replace-with-cheaper."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        kept = {"consolidateAfter": "1h", "consolidateUnderused": False}
        cls.start_scaler(INTERRUPTION_CONFIG, [
            # consolidateUnderused off: only the interruption may remove a node here.
            node_pool("e2e-cpu", {"name": "m5.xlarge", "cpu": "4", "memory": "16Gi", "onDemandPrice": 0.192,
                                  "spotPrice": 0.07}, disruption=kept),
            # The other tests' pools: tainted (only their pods tolerate it) and dearer than e2e-cpu, so no
            # test's pods are planned or scheduled onto another test's nodes.
            isolated_pool(COOL_POOL, 0.08, 0.2, {**kept, "unneededTime": "1h"}),
            isolated_pool(DRAIN_POOL, 0.08, 0.2, {**kept, "unneededTime": "2s", "utilizationThreshold": 0.5,
                                                  "drainTimeout": f"{DRAIN_TIMEOUT_S}s"}),
            isolated_pool(ROOM_POOL, 0.1, 0.25, kept),
            isolated_pool(NOTICE_POOL, 0.08, 0.2, kept),
            isolated_pool(REPLACE_POOL, 0, 0, {**kept, "unneededTime": "1s"}, instance_types=replace_types(0.08),
                          provider_parameters={"readyDelay": f"{REPLACE_READY_DELAY_S}s"})])

    def pool_node_names(self):
        return set(self.nodes_of("e2e-cpu"))

    def test_interruption_notice_gets_a_replacement_node_and_the_pods_evicted(self):
        ns = self.new_namespace("interrupt")
        # Two 3-CPU pods on 4-CPU nodes: one node each.
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train"},
            "spec": {"parallelism": 2, "completions": 2, "template": {"spec": {
                "restartPolicy": "Never", "terminationGracePeriodSeconds": 30,
                "containers": [{"name": "c", "image": "registry.invalid/e2e/work:1",
                                "resources": {"requests": {"cpu": "3", "memory": "2Gi"}}}]}}}})

        def bound():
            pods = [p for p in self.kube.pods(ns, "batch.kubernetes.io/job-name=train")
                    if not p["metadata"].get("deletionTimestamp")]
            return pods if len(pods) == 2 and all(p["spec"].get("nodeName") for p in pods) else None

        pods = wait_for("the Job's pods on two new nodes", bound, 3 * WAIT)
        original = self.pool_node_names()
        self.assertEqual(len(original), 2, sorted(original))
        victim_pod = pods[0]["metadata"]["name"]
        victim = pods[0]["spec"]["nodeName"]
        survivor_pod, survivor = pods[1]["metadata"]["name"], pods[1]["spec"]["nodeName"]
        self.assertNotEqual(victim, survivor)

        self.interrupt(victim)

        replacement = wait_for("a replacement node", lambda: (self.pool_node_names() - original) or None, WAIT)
        self.assertEqual(len(replacement), 1, sorted(replacement))
        wait_for("the interrupted node to be tainted spotfit.io/disrupting", lambda: any(
            t["key"] == "spotfit.io/disrupting"
            for t in self.kube.get(f"/api/v1/nodes/{victim}")["spec"].get("taints", [])), WAIT)
        evicted = wait_for("the pod on the interrupted node to be evicted", lambda: self.kube.get(
            f"/api/v1/namespaces/{ns}/pods/{victim_pod}")["metadata"].get("deletionTimestamp"), WAIT)
        self.assertTrue(evicted)
        # The scaler publishes its metrics when the pass that evicted ends, so the eviction can be seen first.
        def counted():
            m = self.spotfit.metrics()
            return m if counter_sum(m, "spotfit_scaler_interruptions_total", pool="e2e-cpu") >= 1 else None

        metrics = wait_for("the interruption to be counted", counted, WAIT)
        self.assertEqual(counter_sum(metrics, "spotfit_scaler_interruptions_total", pool="e2e-cpu"), 1.0)
        # One interruption is below the threshold (2): the replacement is spot, the pool not in cool-off.
        (replacement_name,) = replacement
        self.assertEqual(self.kube.get(f"/api/v1/nodes/{replacement_name}")["metadata"]["labels"]
                         ["spotfit.io/capacity-type"], "spot")
        self.assertEqual(sample(metrics, "spotfit_scaler_spot_cooloff", pool="e2e-cpu"), 0.0)

        # The Job replaces the evicted pod; it can only go to the replacement node (the interrupted node is
        # tainted, the other one full).
        def replacement_pod():
            for p in self.kube.pods(ns, "batch.kubernetes.io/job-name=train"):
                if p["metadata"]["name"] not in (victim_pod, survivor_pod) and p["spec"].get("nodeName"):
                    return p
            return None

        new_pod = wait_for("the Job's replacement pod to be bound", replacement_pod, WAIT)
        self.assertIn(new_pod["spec"]["nodeName"], replacement)

        # No kubelet: finish the evicted pod's termination as the kubelet would, then the node goes.
        self.kube.delete(f"/api/v1/namespaces/{ns}/pods/{victim_pod}", gracePeriodSeconds="0")
        wait_for("the interrupted node to be deleted", lambda: victim not in self.pool_node_names(), WAIT)
        self.assertEqual(self.pool_node_names(), {survivor} | replacement)
        survivor_now = self.kube.get(f"/api/v1/namespaces/{ns}/pods/{survivor_pod}")
        self.assertEqual(survivor_now["spec"]["nodeName"], survivor)
        self.assertIsNone(survivor_now["metadata"].get("deletionTimestamp"))

    # -- spot cool-off -----------------------------------------------------------------------------------

    def interrupt(self, node_name):
        """Adds the kwok provider's interruption notice taint, as a cloud's termination handler would."""
        node = self.kube.get(f"/api/v1/nodes/{node_name}")
        taints = (node["spec"].get("taints") or []) + [
            {"key": "spotfit.io/interruption-notice", "value": "true", "effect": "NoSchedule"}]
        self.kube.merge_patch(f"/api/v1/nodes/{node_name}", {"spec": {"taints": taints}})

    def finish_evicted(self, ns, pod_name):
        """Waits for the scaler's eviction of pod_name, then removes it as a kubelet would after its preStop."""
        wait_for(f"pod {pod_name} to be evicted", lambda: self.kube.get(
            f"/api/v1/namespaces/{ns}/pods/{pod_name}")["metadata"].get("deletionTimestamp"), WAIT)
        self.kube.delete(f"/api/v1/namespaces/{ns}/pods/{pod_name}", gracePeriodSeconds="0")

    def test_repeated_interruptions_put_the_pool_in_spot_cool_off(self):
        ns = self.new_namespace("cooloff")
        selector = {"spotfit.io/node-pool": COOL_POOL}
        # Two 3-CPU pods on 4-CPU nodes: one spot node each. A Deployment, not a Job: the ReplicaSet replaces
        # an evicted pod at once, where the Job controller would wait out its failure back-off (10 s, 20 s).
        self.deploy(ns, isolated_pod_spec("3", selector), replicas=2, app="train")

        def bound(count):
            pods = [p for p in self.kube.pods(ns, "app=train") if not p["metadata"].get("deletionTimestamp")]
            return pods if len(pods) == count and all(p["spec"].get("nodeName") for p in pods) else None

        pods = wait_for("the pods on two new spot nodes", lambda: bound(2), 3 * WAIT)
        original = self.nodes_of(COOL_POOL)
        self.assertEqual(len(original), 2, sorted(original))
        for node in original.values():
            self.assertEqual(node["metadata"]["labels"]["spotfit.io/capacity-type"], "spot")
        first_pod, first = pods[0]["metadata"]["name"], pods[0]["spec"]["nodeName"]
        second_pod, second = pods[1]["metadata"]["name"], pods[1]["spec"]["nodeName"]

        # Notice 1 of 2: below the threshold, the replacement is still spot.
        self.interrupt(first)
        noticed = time.monotonic()
        known = set(original)
        repl1 = wait_for("a replacement for the first interrupted node",
                         lambda: set(self.nodes_of(COOL_POOL)) - known or None, WAIT, interval=0.1)
        spot_s = time.monotonic() - noticed
        self.assertEqual(len(repl1), 1, sorted(repl1))
        (repl1,) = repl1
        self.assertEqual(self.nodes_of(COOL_POOL)[repl1]["metadata"]["labels"]["spotfit.io/capacity-type"], "spot")
        self.assertEqual(sample(self.spotfit.metrics(), "spotfit_scaler_spot_cooloff", pool=COOL_POOL), 0.0)
        self.finish_evicted(ns, first_pod)
        wait_for("the replacement pod on the replacement node",
                 lambda: any(p["spec"].get("nodeName") == repl1 for p in bound(2) or []), WAIT)

        # Notice 2 of 2 (another node, within the window): cool-off; the replacement is on-demand.
        self.interrupt(second)
        noticed = time.monotonic()
        known |= {repl1}
        repl2 = wait_for("a replacement for the second interrupted node",
                         lambda: set(self.nodes_of(COOL_POOL)) - known or None, WAIT, interval=0.1)
        on_demand_s = time.monotonic() - noticed
        print(f"\nnotice -> replacement Node in the API: {spot_s:.2f}s (spot), {on_demand_s:.2f}s (on-demand, "
              f"cool-off started by this notice)")
        self.assertEqual(len(repl2), 1, sorted(repl2))
        (repl2,) = repl2
        labels = self.nodes_of(COOL_POOL)[repl2]["metadata"]["labels"]
        self.assertEqual(labels["spotfit.io/capacity-type"], "on-demand")
        self.assertEqual(labels["karpenter.sh/capacity-type"], "on-demand")
        self.finish_evicted(ns, second_pod)
        wait_for("the second replacement pod on the on-demand node",
                 lambda: any(p["spec"].get("nodeName") == repl2 for p in bound(2) or []), WAIT)

        metrics = self.spotfit.metrics()
        self.assertEqual(sample(metrics, "spotfit_scaler_spot_cooloff", pool=COOL_POOL), 1.0)
        self.assertEqual(sample(metrics, "spotfit_scaler_spot_cooloff", pool="e2e-cpu"), 0.0)
        self.assertEqual(counter_sum(metrics, "spotfit_scaler_interruptions_total", pool=COOL_POOL),
                         COOL_OFF_THRESHOLD)
        self.assertEqual(counter_sum(metrics, "spotfit_scaler_scale_ups_total", pool=COOL_POOL,
                                     capacity_type="on-demand"), 1.0)

        # The NodePool's status: 2 interruptions in the 10-minute window = 12 per hour, condition SpotCoolOff.
        def cool_off_status():
            status = self.kube.get(f"/apis/spotfit.io/v1alpha1/spotfitpools/{COOL_POOL}").get("status") or {}
            conditions = {c["type"]: c for c in status.get("conditions") or []}
            cond = conditions.get("SpotCoolOff")
            return status if cond and cond["status"] == "True" and status.get("spotCoolOffUntil") else None

        status = wait_for("SpotfitPool status condition SpotCoolOff=True", cool_off_status, WAIT)
        self.assertAlmostEqual(status["interruptionRatePerHour"], COOL_OFF_THRESHOLD * 6, places=6)
        cond = next(c for c in status["conditions"] if c["type"] == "SpotCoolOff")
        self.assertEqual(cond["reason"], "InterruptionStorm")
        self.assertIn("on-demand", cond["message"])
        events = self.kube.get("/api/v1/namespaces/default/events")["items"]
        self.assertTrue(any(e["reason"] == "SpotCoolOff" and e["involvedObject"]["name"] == COOL_POOL
                            and e["involvedObject"]["kind"] == "SpotfitPool" for e in events),
                        [(e["reason"], e["involvedObject"]["name"]) for e in events])
        # Both interrupted nodes go once their pods are gone.
        wait_for("the interrupted nodes to be deleted",
                 lambda: not ({first, second} & set(self.nodes_of(COOL_POOL))), WAIT)

        # New capacity for the pool during the cool-off is on-demand too.
        self.kube.create(f"/api/v1/namespaces/{ns}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "extra"},
            "spec": isolated_pod_spec("3", selector)})
        known |= {repl2}
        new = wait_for("a node for a new pod during the cool-off",
                       lambda: set(self.nodes_of(COOL_POOL)) - known or None, 3 * WAIT)
        self.assertEqual(len(new), 1, sorted(new))
        (new,) = new
        self.assertEqual(self.nodes_of(COOL_POOL)[new]["metadata"]["labels"]["spotfit.io/capacity-type"], "on-demand")
        bound = wait_for("the new pod to be bound", lambda: self.kube.get(
            f"/api/v1/namespaces/{ns}/pods/extra")["spec"].get("nodeName"), WAIT)
        self.assertEqual(bound, new)
        # One node per interruption and one for the new pod: no duplicates.
        self.assertEqual(set(self.nodes_of(COOL_POOL)), {repl1, repl2, new})

    # -- notice deadline ---------------------------------------------------------------------------------

    def test_interrupted_node_is_deleted_at_the_notice_deadline_even_if_a_pdb_refuses_evictions(self):
        """A spot notice on a node whose only pod a PodDisruptionBudget protects (minAvailable = replicas):
        every eviction is refused (429), but the machine is going away anyway, so the scaler deletes the
        node at `interruption.drainDeadline` after the notice (issue 7: taint, replace at once, evict;
        docs/scaler.md, Interruptions) instead of waiting like a consolidation drain."""
        ns = self.new_namespace("notice")
        web_pod, victim = self.protected_web(ns, "3", {GROUP: NOTICE_POOL}, "the web pod on a new e2e-notice node")
        blocked_before = counter_sum(self.spotfit.metrics(), "spotfit_scaler_evictions_total", result="blocked")
        self.interrupt(victim)
        noticed_at = time.monotonic()
        wait_for("a replacement e2e-notice node", lambda: (set(self.nodes_of(NOTICE_POOL)) - {victim}) or None, WAIT)
        # Evictions are refused while the node is still there ...
        wait_for("a refused eviction", lambda: counter_sum(
            self.spotfit.metrics(), "spotfit_scaler_evictions_total", result="blocked") > blocked_before, WAIT)
        self.assertIn(victim, self.nodes_of(NOTICE_POOL))
        # ... and at the deadline the node goes anyway.
        wait_for(f"node {victim} to be deleted at the notice deadline",
                 lambda: victim not in self.nodes_of(NOTICE_POOL), NOTICE_DEADLINE_S + WAIT, interval=0.1)
        held = time.monotonic() - noticed_at
        print(f"\ninterrupted node with a PDB-refused pod deleted {held:.1f}s after its notice "
              f"(interruption.drainDeadline {NOTICE_DEADLINE_S}s)")
        self.assertGreaterEqual(held, NOTICE_DEADLINE_S - 1)
        self.assertLessEqual(held, NOTICE_DEADLINE_S + 10)
        metrics = self.spotfit.metrics()
        self.assertEqual(counter_sum(metrics, "spotfit_scaler_scale_downs_total", pool=NOTICE_POOL,
                                     reason="interrupted"), 1.0)
        self.assertEqual(counter_sum(metrics, "spotfit_scaler_interruptions_total", pool=NOTICE_POOL), 1.0)

    # -- drain deadline ----------------------------------------------------------------------------------

    def test_drain_refused_by_a_pdb_gives_up_at_its_deadline_and_untaints(self):
        """Consolidation drain of an under-used node whose only pod a PodDisruptionBudget protects with
        minAvailable = replicas: every eviction is refused (429), so at the pool's drainTimeout the scaler
        gives up: the disrupting taint is removed, the node and the pod stay, DrainFailed is reported and the
        node is backed off (docs/scaler.md, Drain). An interrupted node is not backed off but deleted at its
        notice deadline (interruption.drainDeadline; the test above)."""
        ns = self.new_namespace("deadline")
        web_pod, drained = self.protected_web(ns, "400m", {GROUP: "drain"}, "the web pod on a new e2e-drain node")
        self.assertEqual(set(self.nodes_of(DRAIN_POOL)), {drained})

        # A Job pod only e2e-room may run: a second node of the group, with room for the web pod.
        self.kube.create(f"/apis/batch/v1/namespaces/{ns}/jobs", {
            "apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "batch"},
            "spec": {"template": {"spec": isolated_pod_spec("2500m", {"spotfit.io/node-pool": ROOM_POOL},
                                                            "Never")}}})

        def batch_bound():
            pods = [p for p in self.kube.pods(ns, "batch.kubernetes.io/job-name=batch") if p["spec"].get("nodeName")]
            return pods[0] if pods else None

        batch = wait_for("the Job's pod on an e2e-room node", batch_bound, 3 * WAIT)
        self.kube.set_pod_running(ns, batch["metadata"]["name"])

        # Now the e2e-drain node (0.4 of 4 CPUs) is under-used and its pod fits on the e2e-room node.
        self.kube.merge_patch(f"/apis/spotfit.io/v1alpha1/spotfitpools/{DRAIN_POOL}",
                              {"spec": {"disruption": {"consolidateUnderused": True}}})
        wait_for(f"node {drained} to be tainted spotfit.io/disrupting",
                 lambda: "spotfit.io/disrupting" in taint_keys(self.kube.get(f"/api/v1/nodes/{drained}")),
                 WAIT, interval=0.1)
        tainted_at = time.monotonic()
        wait_for(f"the drain of {drained} to give up and untaint it",
                 lambda: "spotfit.io/disrupting" not in taint_keys(self.kube.get(f"/api/v1/nodes/{drained}")),
                 DRAIN_TIMEOUT_S + WAIT, interval=0.1)
        held = time.monotonic() - tainted_at
        print(f"\ndrain refused by a PDB (minAvailable = replicas): gave up and untainted {held:.1f}s after "
              f"tainting (drainTimeout {DRAIN_TIMEOUT_S}s, evictionRetry 1s)")
        # Not before the deadline (1 s of slack for the polls), and within a few passes of it.
        self.assertGreaterEqual(held, DRAIN_TIMEOUT_S - 1)
        self.assertLessEqual(held, DRAIN_TIMEOUT_S + 10)

        # The node and its pod stay; every eviction was refused and retried.
        node = self.kube.get(f"/api/v1/nodes/{drained}")
        self.assertIsNone(node["metadata"].get("deletionTimestamp"))
        pod = self.kube.get(f"/api/v1/namespaces/{ns}/pods/{web_pod}")
        self.assertIsNone(pod["metadata"].get("deletionTimestamp"))
        self.assertEqual(pod["spec"]["nodeName"], drained)
        metrics = self.spotfit.metrics()
        self.assertGreaterEqual(counter_sum(metrics, "spotfit_scaler_evictions_total", result="blocked"), 2)
        self.assertEqual(counter_sum(metrics, "spotfit_scaler_scale_down_failures_total", pool=DRAIN_POOL,
                                     reason="drain_timeout"), 1.0)
        self.assertEqual(counter_sum(metrics, "spotfit_scaler_scale_downs_total", pool=DRAIN_POOL), 0.0)
        # Events about Nodes and NodePools (cluster-scoped) go to namespace default, where kubectl describe
        # looks for them.
        events = self.kube.get("/api/v1/namespaces/default/events")["items"]
        on_node = [e["reason"] for e in events
                   if e["involvedObject"]["kind"] == "Node" and e["involvedObject"]["name"] == drained]
        self.assertIn("Draining", on_node)
        self.assertIn("DrainFailed", on_node)
        pod_events = self.kube.get(f"/api/v1/namespaces/{ns}/events")["items"]
        self.assertTrue(any(e["reason"] == "EvictionBlocked" and e["involvedObject"]["name"] == web_pod
                            for e in pod_events), [e["reason"] for e in pod_events])

        # Backed off (drainFailureBackoff, default 5m): later passes do not drain it again.
        for _ in range(3):
            before = self.spotfit.metrics()
            wait_for("another scaler pass", lambda: self.spotfit.metrics() != before, WAIT)
        self.assertNotIn("spotfit.io/disrupting", taint_keys(self.kube.get(f"/api/v1/nodes/{drained}")))
        self.assertEqual(counter_sum(self.spotfit.metrics(), "spotfit_scaler_scale_down_failures_total",
                                     pool=DRAIN_POOL), 1.0)
        self.assertIsNone(self.kube.get(f"/api/v1/namespaces/{ns}/pods/{web_pod}")["metadata"]
                          .get("deletionTimestamp"))

    # -- replace with cheaper ----------------------------------------------------------------------------

    def test_node_is_replaced_with_a_cheaper_offering_created_and_ready_before_the_drain(self):
        """Replace-with-cheaper (issue 7, docs/scaler.md): a Deployment's pod (Running/Ready) on an m5.xlarge
        spot node of REPLACE_POOL; then m5.xlarge's spot price rises to 0.30 USD/h, so the pool's m6a.xlarge
        (0.12) is more than 10% cheaper. The scaler creates the m6a node first; only once it is Ready
        (kwok readyDelay 2s) is the old node tainted and its pod evicted; the ReplicaSet's new pod binds on
        the new node, the old node is deleted, and Events and metrics say why."""
        ns = self.new_namespace("replace")
        self.deploy(ns, isolated_pod_spec("3", {GROUP: REPLACE_POOL}))
        web = self.one_bound(ns, "the web pod on a new e2e-replace node")
        web_pod, old = web["metadata"]["name"], web["spec"]["nodeName"]
        self.kube.set_pod_running(ns, web_pod)
        old_node = self.nodes_of(REPLACE_POOL)[old]
        self.assertEqual(old_node["metadata"]["labels"]["node.kubernetes.io/instance-type"], "m5.xlarge")
        self.assertEqual(old_node["metadata"]["labels"]["spotfit.io/capacity-type"], "spot")
        # At 0.08 vs 0.12 nothing pays: a few passes later the node is still alone and untainted.
        for _ in range(2):
            before = self.spotfit.metrics()
            wait_for("another scaler pass", lambda: self.spotfit.metrics() != before, WAIT)
        self.assertEqual(set(self.nodes_of(REPLACE_POOL)), {old})

        self.kube.merge_patch(f"/apis/spotfit.io/v1alpha1/spotfitpools/{REPLACE_POOL}",
                              {"spec": {"instanceTypes": replace_types(0.3)}})
        patched = time.monotonic()
        # Sample the pod, then the pool's nodes (one list: a consistent view) until the old node is gone.
        seen = {}           # event -> first time seen, seconds after the price change
        violations = []     # samples where the old node was disrupted while its replacement was not Ready
        replacement = None
        deadline = patched + 2 * WAIT
        while True:
            now = time.monotonic() - patched
            pod = self.kube.get_or_none(f"/api/v1/namespaces/{ns}/pods/{web_pod}")
            nodes = self.nodes_of(REPLACE_POOL)
            new = set(nodes) - {old}
            if new and replacement is None:
                self.assertEqual(len(new), 1, sorted(new))
                (replacement,) = new
                seen["created"] = now
            ready = replacement in nodes and kubeapi.is_ready(nodes[replacement])
            if ready:
                seen.setdefault("ready", now)
            tainted = old in nodes and "spotfit.io/disrupting" in taint_keys(nodes[old])
            if tainted:
                seen.setdefault("tainted", now)
            evicted = pod is not None and pod["metadata"].get("deletionTimestamp")
            if evicted:
                seen.setdefault("evicted", now)
                # No kubelet: finish the evicted pod's termination as the kubelet would.
                self.kube.delete(f"/api/v1/namespaces/{ns}/pods/{web_pod}", gracePeriodSeconds="0")
            if (tainted or evicted) and not ready:
                violations.append((round(now, 2), sorted(nodes), tainted, bool(evicted)))
            if old not in nodes:
                seen["deleted"] = now
                break
            self.assertLess(time.monotonic(), deadline, f"old node {old} still there; seen {seen}")
            time.sleep(0.1)
        if "evicted" not in seen:  # evicted and the node deleted between the pod's read and the nodes' list
            pod = self.kube.get_or_none(f"/api/v1/namespaces/{ns}/pods/{web_pod}")
            self.assertTrue(pod is None or pod["metadata"].get("deletionTimestamp"), "node deleted, pod not evicted")
            seen["evicted"] = seen["deleted"]
            if pod is not None:
                self.kube.delete(f"/api/v1/namespaces/{ns}/pods/{web_pod}", gracePeriodSeconds="0")
        print("\nreplace-with-cheaper, seconds after the price change: " +
              ", ".join(f"{k} {v:.1f}" for k, v in sorted(seen.items(), key=lambda kv: kv[1])))
        self.assertEqual(violations, [], "old node disrupted before its replacement was Ready")
        disrupted = min(seen.get("tainted", seen["evicted"]), seen["evicted"])
        self.assertTrue(seen["created"] <= seen["ready"] <= disrupted <= seen["evicted"] <= seen["deleted"], seen)
        # Created first; drained only after the replacement's boot (readyDelay; 0.5 s slack for the polls).
        self.assertGreaterEqual(disrupted - seen["created"], REPLACE_READY_DELAY_S - 0.5, seen)

        repl = self.kube.get(f"/api/v1/nodes/{replacement}")
        self.assertEqual(repl["metadata"]["labels"]["node.kubernetes.io/instance-type"], "m6a.xlarge")
        self.assertEqual(repl["metadata"]["labels"]["spotfit.io/capacity-type"], "spot")
        self.assertEqual(self.one_bound(ns, "the Deployment's new pod on the replacement node")["spec"]["nodeName"],
                         replacement)
        self.assertEqual(set(self.nodes_of(REPLACE_POOL)), {replacement})

        metrics = self.spotfit.metrics()
        self.assertEqual(counter_sum(metrics, "spotfit_scaler_scale_downs_total", pool=REPLACE_POOL,
                                     reason="replaced"), 1.0)
        self.assertEqual(counter_sum(metrics, "spotfit_scaler_scale_downs_total", pool=REPLACE_POOL), 1.0)
        # Both nodes were created by the scaler: the first for the pod, then the cheaper replacement.
        self.assertEqual(counter_sum(metrics, "spotfit_scaler_scale_ups_total", pool=REPLACE_POOL), 2.0)
        events = self.kube.get("/api/v1/namespaces/default/events")["items"]
        on_old = {e["reason"]: e["message"] for e in events
                  if e["involvedObject"]["kind"] == "Node" and e["involvedObject"]["name"] == old}
        self.assertIn("Replacing", on_old, on_old)
        self.assertIn("m6a.xlarge", on_old["Replacing"])
        self.assertIn(replacement, on_old["Replacing"])
        self.assertIn("Draining", on_old, on_old)
        self.assertIn("replaced", on_old["Draining"])
        self.assertTrue(any(e["reason"] == "ScaledDown" and e["involvedObject"]["name"] == REPLACE_POOL
                            and f"replaced node {old}" in e["message"] for e in events),
                        [(e["reason"], e["message"]) for e in events if e["involvedObject"]["name"] == REPLACE_POOL])


if __name__ == "__main__":
    unittest.main()

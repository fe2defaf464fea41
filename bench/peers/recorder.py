"""A watch recorder: measures any provisioner identically from the Kubernetes API (nodes and pods only).

Two watch streams (nodes, pods; re-listed on expiry) are timestamped on arrival with this machine's clock,
so every scenario is measured by the same code with the same latency.

- cost: Σ over nodes of (deleted or end − first seen) × the catalog price of its instance type
  (node.kubernetes.io/instance-type) and capacity type (karpenter.sh/capacity-type or spotfit.io/capacity-type)
- CPU allocation: ∫ Σ CPU requests of pods bound to Ready nodes ÷ ∫ Σ allocatable CPU of Ready nodes
- pending: pod first seen → first seen bound (p50, p95)
- disrupted: pods seen Running that then got a deletionTimestamp or failed without their Job deleting them;
  work lost: Σ of their running time until then
- makespan: first pod seen → last pod Succeeded; idle tail: last pod Succeeded → last node gone (or end)
"""

import json
import threading
import time
import urllib.error
import urllib.request

import kubeapi


def _percentile(values, q):
    if not values:
        return None
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def cpu_milli(quantity):
    text = str(quantity)
    if text.endswith("m"):
        return float(text[:-1])
    return float(text) * 1000


class Recorder:
    def __init__(self, kube, prices, clock=time.time):
        self.kube = kube
        self.prices = prices  # {(instance type, capacity type): USD/hour}
        self.clock = clock
        self.lock = threading.Lock()
        self.nodes = {}  # name -> {"first", "gone", "type", "capacity", "ready_since", "cpu"}
        self.pods = {}   # uid -> {"first", "bound", "node", "running", "succeeded", "disrupted", "cpu", "ns"}
        self.alloc_samples = []  # (t, requested cpu on ready nodes, allocatable cpu of ready nodes)
        self.stopping = threading.Event()
        self.threads = []
        self.errors = []

    # -- watching ---------------------------------------------------------------------------------------

    def start(self):
        for path, handler in (("/api/v1/nodes", self._node), ("/api/v1/pods", self._pod)):
            thread = threading.Thread(target=self._watch, args=(path, handler), daemon=True)
            thread.start()
            self.threads.append(thread)
        sampler = threading.Thread(target=self._sample, daemon=True)
        sampler.start()
        self.threads.append(sampler)

    def stop(self):
        self.stopping.set()
        self.end = self.clock()

    def _watch(self, path, handler):
        while not self.stopping.is_set():
            try:
                listing = self.kube.get(path)
                now = self.clock()
                for item in listing["items"]:
                    handler("ADDED", item, now)
                version = listing["metadata"]["resourceVersion"]
                url = f"{self.kube.server}{path}?watch=1&resourceVersion={version}&timeoutSeconds=60" \
                      "&allowWatchBookmarks=true"
                request = urllib.request.Request(url, headers={"Accept": "application/json"})
                with urllib.request.urlopen(request, context=self.kube.context, timeout=90) as stream:
                    for line in stream:
                        if self.stopping.is_set():
                            return
                        event = json.loads(line)
                        if event["type"] == "ERROR":
                            break
                        if event["type"] != "BOOKMARK":
                            handler(event["type"], event["object"], self.clock())
            except (kubeapi.ApiError, OSError, urllib.error.URLError, ValueError) as error:
                self.errors.append(f"{path}: {error}")
                time.sleep(0.5)

    def _node(self, kind, node, now):
        name = node["metadata"]["name"]
        labels = node["metadata"].get("labels") or {}
        with self.lock:
            record = self.nodes.setdefault(name, {"first": now, "gone": None, "ready_since": None})
            record["type"] = labels.get("node.kubernetes.io/instance-type")
            record["capacity"] = labels.get("karpenter.sh/capacity-type") or labels.get("spotfit.io/capacity-type")
            record["cpu"] = cpu_milli((node.get("status", {}).get("allocatable") or {}).get("cpu", "0"))
            ready = any(c["type"] == "Ready" and c["status"] == "True"
                        for c in node.get("status", {}).get("conditions") or [])
            if ready and record["ready_since"] is None:
                record["ready_since"] = now
            record["ready"] = ready and kind != "DELETED"
            if kind == "DELETED" and record["gone"] is None:
                record["gone"] = now

    def _pod(self, kind, pod, now):
        uid = pod["metadata"]["uid"]
        status = pod.get("status") or {}
        phase = status.get("phase")
        with self.lock:
            record = self.pods.setdefault(uid, {"first": now, "bound": None, "node": None, "running": None,
                                                "succeeded": None, "disrupted": None, "ended": None,
                                                "ns": pod["metadata"]["namespace"],
                                                "name": pod["metadata"]["name"]})
            record["cpu"] = sum(cpu_milli(((c.get("resources") or {}).get("requests") or {}).get("cpu", "0"))
                                for c in pod["spec"]["containers"])
            if pod["spec"].get("nodeName") and record["bound"] is None:
                record["bound"], record["node"] = now, pod["spec"]["nodeName"]
            if phase == "Running" and record["running"] is None:
                record["running"] = now
            if phase == "Succeeded" and record["succeeded"] is None:
                record["succeeded"] = record["ended"] = now
            gone = kind == "DELETED" or pod["metadata"].get("deletionTimestamp") or phase == "Failed"
            if gone and record["ended"] is None:
                record["ended"] = now
                if record["running"] is not None and record["succeeded"] is None:
                    record["disrupted"] = now

    def _sample(self):
        while not self.stopping.wait(1.0):
            with self.lock:
                ready = {n for n, r in self.nodes.items() if r.get("ready")}
                allocatable = sum(self.nodes[n]["cpu"] for n in ready)
                requested = sum(p["cpu"] for p in self.pods.values()
                                if p["node"] in ready and p["ended"] is None and p["bound"] is not None)
                self.alloc_samples.append((self.clock(), requested, allocatable))

    # -- results ----------------------------------------------------------------------------------------

    def summary(self, compression=1.0, ignore_namespaces=("kube-system",)):
        end = getattr(self, "end", None) or self.clock()
        with self.lock:
            pods = [p for p in self.pods.values() if p["ns"] not in ignore_namespaces]
            cost, node_seconds, unpriced = 0.0, 0.0, set()
            for name, node in self.nodes.items():
                lifetime = (node["gone"] or end) - node["first"]
                node_seconds += lifetime
                price = self.prices.get((node.get("type"), node.get("capacity")))
                if price is None:
                    unpriced.add(f"{name}:{node.get('type')}/{node.get('capacity')}")
                    continue
                cost += lifetime / 3600.0 * price
            pending = [p["bound"] - p["first"] for p in pods if p["bound"] is not None]
            disrupted = [p for p in pods if p["disrupted"] is not None]
            first = min((p["first"] for p in pods), default=None)
            last_done = max((p["succeeded"] for p in pods if p["succeeded"]), default=None)
            last_node_gone = max((n["gone"] or end for n in self.nodes.values()), default=None)
            requested = sum(s[1] for s in self.alloc_samples)
            allocatable = sum(s[2] for s in self.alloc_samples)
            return {
                # Dollars of the compressed run scaled back to the uncompressed time it stands for.
                "cost_usd": round(cost * compression, 3),
                "node_hours": round(node_seconds * compression / 3600.0, 2),
                "nodes": len(self.nodes),
                "nodes_by_offering": _count((n.get("type"), n.get("capacity")) for n in self.nodes.values()),
                "cpu_allocation": round(requested / allocatable, 3) if allocatable else None,
                "pending_p50_s": _round(_percentile(pending, 0.5)),
                "pending_p95_s": _round(_percentile(pending, 0.95)),
                "pods": len(pods),
                "pods_succeeded": sum(1 for p in pods if p["succeeded"]),
                "pods_never_bound": sum(1 for p in pods if p["bound"] is None),
                "pods_disrupted_running": len(disrupted),
                "work_lost_s": _round(sum(p["disrupted"] - p["running"] for p in disrupted)),
                "makespan_s": _round(last_done - first) if first and last_done else None,
                "idle_tail_s": _round(last_node_gone - last_done) if last_done and last_node_gone else None,
                "unpriced_nodes": sorted(unpriced),
                "watch_errors": len(self.errors),
            }


def _round(value):
    return None if value is None else round(value, 2)


def _count(keys):
    out = {}
    for key in keys:
        label = f"{key[0]}/{key[1]}"
        out[label] = out.get(label, 0) + 1
    return out

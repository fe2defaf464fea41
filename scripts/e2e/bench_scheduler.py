#!/usr/bin/env python3
"""kube-scheduler throughput on kwok-style nodes, with and without spotfit's extender.

Registers --nodes fake Ready nodes and --pods pending pods that name a scheduler which is not running
yet, then starts that kube-scheduler and samples its scheduler_schedule_attempts_total{result="scheduled"}
every 50 ms: throughput is the pods scheduled between the first and the last sample over that time.

  python3 scripts/e2e/bench_scheduler.py --nodes 500 --pods 2000
  python3 scripts/e2e/bench_scheduler.py --nodes 500 --pods 2000 --extender   # needs spotfit serve (see --help)
"""

import argparse
import http.client
import json
import os
import ssl
import sys
import re
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import controlplane  # noqa: E402
import spotfitproc  # noqa: E402


class Connection:
    """One keep-alive HTTPS connection (urllib would pay a TLS handshake per request)."""

    def __init__(self, cluster):
        context = ssl.create_default_context(cafile=os.path.join(cluster.pki, "ca.crt"))
        context.load_cert_chain(os.path.join(cluster.pki, "admin.crt"), os.path.join(cluster.pki, "admin.key"))
        self.conn = http.client.HTTPSConnection("127.0.0.1", cluster.apiserver_port, context=context, timeout=60)

    def call(self, method, path, body=None, content_type="application/json"):
        self.conn.request(method, path, body=json.dumps(body) if body is not None else None,
                          headers={"Content-Type": content_type, "Accept": "application/json"})
        resp = self.conn.getresponse()
        data = resp.read()
        if resp.status >= 300:
            raise RuntimeError(f"{method} {path}: HTTP {resp.status}: {data[:300]!r}")
        return json.loads(data) if data else None


def create_nodes(cluster, count):
    kube = cluster.kube
    for i in range(count):
        kube.create_ready_node(f"bench-node-{i:04d}", cpu="16", memory="64Gi", pods="110",
                               labels={"node.kubernetes.io/instance-type": "m5.4xlarge",
                                       "spotfit.io/capacity-type": "spot" if i % 2 else "on-demand"})


def create_pods(cluster, namespace, count, scheduler_name):
    conn = Connection(cluster)
    for i in range(count):
        conn.call("POST", f"/api/v1/namespaces/{namespace}/pods", {
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"bench-{i:05d}", "labels": {"app": "bench"}},
            "spec": {"schedulerName": scheduler_name,
                     "containers": [{"name": "c", "image": "registry.invalid/bench:1",
                                     "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}}}]}})


SCHEDULED = re.compile(r'^scheduler_schedule_attempts_total\{[^}]*result="scheduled"[^}]*\} (\S+)$', re.M)


def metrics_text(port, context):
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/metrics", context=context, timeout=10) as resp:
        return resp.read().decode()


def scheduled_count(port, context):
    return int(sum(float(v) for v in SCHEDULED.findall(metrics_text(port, context))))


def metric_sum(text, name, label_filter=""):
    """Σ of every sample of `name` (exact metric name) whose label set contains label_filter."""
    total = 0.0
    for match in re.finditer(r"^" + re.escape(name) + r"(\{[^}]*\})? (\S+)$", text, re.M):
        if label_filter in (match.group(1) or ""):
            total += float(match.group(2))
    return total


def mean_ms(text, histogram, label_filter=""):
    count = metric_sum(text, histogram + "_count", label_filter)
    return round(1000 * metric_sum(text, histogram + "_sum", label_filter) / count, 3) if count else None


def scheduler_breakdown(text):
    """Where a pod's time goes inside kube-scheduler: the scheduling algorithm (in-tree filters and scores
    plus the extender's filter and prioritize calls, serial per pod) and the Bind API call (asynchronous,
    but it is what scheduler_schedule_attempts_total{result="scheduled"} waits for, and it goes through
    the scheduler's client-side rate limiter, clientConnection.qps/burst)."""
    return {"algorithm_ms_per_pod": mean_ms(text, "scheduler_scheduling_algorithm_duration_seconds"),
            "bind_ms_per_pod": mean_ms(text, "scheduler_framework_extension_point_duration_seconds",
                                       'extension_point="Bind"')}


def client_rate_limit(configuration):
    """clientConnection qps/burst of a KubeSchedulerConfiguration (dict or YAML text); kube-scheduler's
    defaults (50/100) when unset. Binding goes through this limiter, so runs compare only at equal limits."""
    if isinstance(configuration, dict):
        connection = configuration.get("clientConnection") or {}
        qps, burst = connection.get("qps"), connection.get("burst")
    else:
        block = re.search(r"^clientConnection:[ \t]*\n((?:[ \t]+.*\n)*)", configuration, re.M)
        body = block.group(1) if block else ""
        qps = re.search(r"^[ \t]+qps:[ \t]*([0-9.]+)", body, re.M)
        burst = re.search(r"^[ \t]+burst:[ \t]*([0-9]+)", body, re.M)
        qps, burst = (float(qps.group(1)) if qps else None), (int(burst.group(1)) if burst else None)
    return f"{qps or 50:g}/{burst or 100}"


def run(cluster, nodes, pods, scheduler_config, scheduler_name, timeout):
    """Creates `pods` pods for a scheduler that is not running, starts it, and samples its
    scheduler_schedule_attempts_total{result="scheduled"} every 50 ms until every pod is scheduled."""
    namespace = f"bench-{scheduler_name}-{int(time.time())}"
    cluster.kube.create_namespace(namespace)
    cluster.kube.wait_default_service_account(namespace, 60)
    start = time.monotonic()
    create_pods(cluster, namespace, pods, scheduler_name)
    created = time.monotonic() - start
    scheduler = cluster.start_extra_scheduler(f"bench-{scheduler_name}", scheduler_config)
    insecure = ssl.create_default_context()
    insecure.check_hostname = False
    insecure.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + timeout
    first = last = None
    count = 0
    while count < pods:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {count}/{pods} pods scheduled within {timeout}s")
        count = scheduled_count(scheduler.port, insecure)
        now = time.monotonic()
        if count > 0 and first is None:
            first = (now, count)
        time.sleep(0.05)
    last = (time.monotonic(), count)
    breakdown = scheduler_breakdown(metrics_text(scheduler.port, insecure))
    cluster.stop_process(scheduler)
    listed = cluster.kube.pods(namespace)
    bound = [p for p in listed if p["spec"].get("nodeName")]
    if len(bound) != pods:
        raise SystemExit(f"the scheduler counted {count} scheduled but {len(bound)}/{pods} pods are bound")
    span = last[0] - first[0]
    return {"pods": pods, "nodes": nodes, "create_seconds": round(created, 2),
            "schedule_span_seconds": round(span, 2),
            "pods_per_second": round((last[1] - first[1]) / span, 1) if span > 0 else None,
            "nodes_used": len({p["spec"]["nodeName"] for p in bound}),
            "client_qps_burst": client_rate_limit(scheduler_config), **breakdown}


def plain_config(cluster, scheduler_name):
    config = cluster.scheduler_configuration()
    config["profiles"] = [{"schedulerName": scheduler_name}]
    return config


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--pods", type=int, default=2000)
    parser.add_argument("--timeout", type=float, default=600)
    parser.add_argument("--extender", action="store_true",
                        help="also measure with spotfit's extender (starts $SPOTFIT_BINARY serve; the "
                             "scheduler config is manifests/scheduler/second-scheduler pointed at it, as "
                             "shipped: names mode)")
    args = parser.parse_args()
    with controlplane.Cluster() as cluster:
        t = time.monotonic()
        create_nodes(cluster, args.nodes)
        print(f"registered {args.nodes} nodes in {time.monotonic() - t:.1f}s", flush=True)
        results = {"without_extender": run(cluster, args.nodes, args.pods, plain_config(cluster, "bench-plain"),
                                           "bench-plain", args.timeout)}
        print(json.dumps(results), flush=True)
        if args.extender:
            # The manifest's scheduler keeps its leader-election Lease there.
            cluster.kube.create_namespace("spotfit-system")
            with spotfitproc.Spotfit(cluster) as spotfit:
                # The manifest's configuration as shipped: names mode, spotfit answers from its informer cache.
                config = spotfit.second_scheduler_configuration()
                name = spotfitproc.scheduler_name(config)
                results["with_extender"] = run(cluster, args.nodes, args.pods, config, name, args.timeout)
                results["extender_requests"] = spotfit.extender_request_counts()
                # spotfit's own time per call (request read -> response handed to the writer).
                text = spotfit.metrics()
                results["spotfit_server_ms_per_call"] = {
                    verb: mean_ms(text, "spotfit_http_request_duration_seconds", f'route="extender_{verb}"')
                    for verb in ("filter", "prioritize")}
        print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()

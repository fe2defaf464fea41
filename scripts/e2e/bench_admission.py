#!/usr/bin/env python3
"""Admission latency of spotfit's webhook as the real kube-apiserver observes it.

Starts the control plane and `spotfit serve` (webhook plugin), installs manifests/webhook's
MutatingWebhookConfiguration pointed at it, creates --pods pods one after another in an opted-in
namespace over one keep-alive connection, and reports the apiserver's own
apiserver_admission_webhook_admission_duration_seconds for spotfit (mean, and p50/p99 interpolated
from its buckets), next to the client-side create latency with and without the webhook.

  SPOTFIT_BINARY=build/release/spotfit python3 scripts/e2e/bench_admission.py --pods 1000
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import controlplane  # noqa: E402
import spotfitproc  # noqa: E402
from bench_scheduler import Connection  # noqa: E402

FAMILY = "apiserver_admission_webhook_admission_duration_seconds"


def buckets(metrics, name):
    """Cumulative {le: count} of the webhook's histogram, summed over its other labels, plus sum/count."""
    out, total, count = {}, 0.0, 0.0
    for line in metrics.splitlines():
        if f'name="{name}"' not in line:
            continue
        sample, value = line.rsplit(" ", 1)
        if sample.startswith(FAMILY + "_bucket{"):
            le = sample.split('le="', 1)[1].split('"', 1)[0]
            le = float("inf") if le == "+Inf" else float(le)
            out[le] = out.get(le, 0.0) + float(value)
        elif sample.startswith(FAMILY + "_sum{"):
            total += float(value)
        elif sample.startswith(FAMILY + "_count{"):
            count += float(value)
    return out, total, count


def quantile(cumulative, q):
    """Prometheus histogram_quantile: linear interpolation inside the bucket holding rank q."""
    bounds = sorted(cumulative)
    rank = q * cumulative[bounds[-1]]
    previous_bound, previous_count = 0.0, 0.0
    for bound in bounds:
        if cumulative[bound] >= rank:
            if bound == float("inf"):
                return previous_bound
            width = cumulative[bound] - previous_count
            return previous_bound + (bound - previous_bound) * ((rank - previous_count) / width if width else 1)
        previous_bound, previous_count = bound, cumulative[bound]
    return bounds[-1]


def create_pods(cluster, namespace, count):
    conn = Connection(cluster)
    latencies = []
    for i in range(count):
        start = time.perf_counter()
        conn.call("POST", f"/api/v1/namespaces/{namespace}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"p-{i:05d}", "labels": {"app": "bench"}},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/bench:1",
                                     "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}]}})
        latencies.append(time.perf_counter() - start)
    latencies.sort()
    return {"mean_ms": round(1000 * sum(latencies) / count, 2),
            "p50_ms": round(1000 * latencies[count // 2], 2),
            "p99_ms": round(1000 * latencies[min(count - 1, int(count * 0.99))], 2)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pods", type=int, default=1000)
    args = parser.parse_args()
    with controlplane.Cluster() as cluster:
        kube = cluster.kube
        kube.create_namespace("spotfit")
        spotfit = spotfitproc.Spotfit(cluster, config_text="webhook:\n  ownNamespace: spotfit\n")
        spotfit.start()
        name = spotfit.register_webhook()
        for ns, labels in (("plain", {}), ("opted-in", {"spotfit.io/enabled": "true"})):
            kube.create_namespace(ns, labels)
            kube.wait_default_service_account(ns, 60)
        # Let the apiserver pick up the configuration (a warm-up create that comes back mutated).
        warm = kube.create("/api/v1/namespaces/opted-in/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "warm-up"},
            "spec": {"containers": [{"name": "c", "image": "registry.invalid/bench:1"}]}}, dryRun="All")
        deadline = time.monotonic() + 60
        while "spotfit.io/mutated" not in warm["metadata"].get("annotations", {}):
            if time.monotonic() > deadline:
                raise SystemExit("the apiserver never called spotfit's webhook")
            time.sleep(0.2)
            warm = kube.create("/api/v1/namespaces/opted-in/pods", {
                "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "warm-up"},
                "spec": {"containers": [{"name": "c", "image": "registry.invalid/bench:1"}]}}, dryRun="All")

        without = create_pods(cluster, "plain", args.pods)
        before, sum_before, count_before = buckets(cluster.metrics(), name)
        with_webhook = create_pods(cluster, "opted-in", args.pods)
        after, sum_after, count_after = buckets(cluster.metrics(), name)
        delta = {le: after[le] - before.get(le, 0.0) for le in after}
        calls = count_after - count_before
        result = {
            "pods": args.pods,
            "apiserver_observed_webhook": {
                "calls": int(calls), "mean_ms": round(1000 * (sum_after - sum_before) / calls, 2),
                "p50_ms": round(1000 * quantile(delta, 0.5), 2), "p99_ms": round(1000 * quantile(delta, 0.99), 2)},
            "client_create_without_webhook": without,
            "client_create_with_webhook": with_webhook,
            "spotfit_mutated_pods": sum(1 for p in kube.pods("opted-in")
                                        if "spotfit.io/mutated" in p["metadata"].get("annotations", {})),
        }
        print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

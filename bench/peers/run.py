#!/usr/bin/env python3
"""Peer benchmark: the same compressed batch workload against the real Karpenter and against spotfit, on a
fresh e2e control plane per run, measured by one watch recorder (bench/peers/recorder.py).

Scenarios (issue 22):
  karpenter      Karpenter v1.15.0 (kwok provider) + the default kube-scheduler, consolidation
                 WhenEmptyOrUnderutilized
  karpenter-dnd  the same with karpenter.sh/do-not-disrupt: "true" on every Job pod
  coexist        spotfit's webhook beside Karpenter (`webhook.capacity.preset: karpenter`, scaler off): the
                 Karpenter scenario with spotfit's mutations in force
  spotfit        spotfit alone: webhook + second scheduler with the extender + scaler (kwok provider)
The kwok controller (v0.8.0, scripts/e2e/kwok/stages.yaml) plays every kubelet: nodes boot after the
workload's provisioning delay, pods run for their task duration and deleted pods fail like killed ones.

  python3 bench/peers/run.py --short                      # a couple of minutes per scenario (e2e smoke)
  python3 bench/peers/run.py --repetitions 3 --out out/   # the full benchmark (see docs/benchmarks.md)

Each scenario run takes /tmp/spotfit-e2e.lock (one control plane at a time on the machine). Prints one JSON
line per run and a table of medians (min-max) at the end; --out DIR also writes DIR/results.json.
"""

import argparse
import fcntl
import json
import os
import statistics
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.path.abspath(os.path.join(HERE, "..", ".."))
sys.path.insert(0, os.path.join(SOURCE_DIR, "scripts", "e2e"))
sys.path.insert(0, HERE)

import catalog  # noqa: E402
import controlplane  # noqa: E402
import karpenter  # noqa: E402
import kubeapi  # noqa: E402
import recorder  # noqa: E402
import spotfitproc  # noqa: E402
import workload  # noqa: E402

SCENARIOS = ("karpenter", "karpenter-dnd", "coexist", "spotfit")
NAMESPACE = "bench"
LOCK = "/tmp/spotfit-e2e.lock"
SHORT_WINDOW, SHORT_COMPRESSION = "14h:14h30m", 30.0


def knobs_for(work, compression, consolidate_after=None, short=False):
    """The settings both provisioners share: boot delay (the workload's provisioning delay / compression),
    batch windows (not compressed), consolidateAfter (default: the Simulation's spotfit.consolidateAfter,
    60 s, / compression, at least 5 s), the drain limit after the last arrival and the idle-tail limit.
    spotfit's own scale-down timers are compressed too (scaleDownCooldown 5m, unneededTime 10m, its defaults);
    Karpenter has no equivalent knobs (its 15 s consolidation validation is fixed)."""
    return {"compression": compression, "boot_delay": work["boot_delay"], "batch_idle": "1s", "batch_max": "10s",
            "consolidate_after": consolidate_after if consolidate_after else max(5.0, 60.0 / compression),
            "scale_down_cooldown": max(5.0, 300.0 / compression), "unneeded_time": max(5.0, 600.0 / compression),
            "drain_s": 240.0 if short else 600.0, "tail_s": 60.0 if short else 300.0}


def fmt_duration(s):
    return f"{max(1, int(round(s)))}s"


def job_object(job, scenario):
    annotations = {karpenter.DURATION_ANNOTATION: fmt_duration(job["duration"])}
    node_selector = dict(job["nodeSelector"])
    job_annotations = {}
    if scenario in ("spotfit", "coexist"):
        job_annotations = dict(job["annotations"])
        annotations.update(job["annotations"])
    elif job["annotations"].get("spotfit.io/capacity-type") == "on-demand":
        # What a Karpenter user writes for "must stay on on-demand".
        node_selector["karpenter.sh/capacity-type"] = "on-demand"
    if scenario == "karpenter-dnd":
        annotations["karpenter.sh/do-not-disrupt"] = "true"
    spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 0,
            "containers": [{"name": "task", "image": "registry.invalid/bench/task:1",
                            "resources": {"requests": job["requests"]}}]}
    if node_selector:
        spec["nodeSelector"] = node_selector
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": job["name"], "annotations": job_annotations, "labels": {"bench/workflow": job["workflow"]}},
            "spec": {"completions": job["completions"], "parallelism": job["parallelism"],
                     # Disruptions must not fail a Job in any scenario: count them, do not lose the work.
                     "backoffLimit": 10 * job["completions"],
                     "template": {"metadata": {"annotations": annotations, "labels": {"bench/job": job["name"]}},
                                  "spec": spec}}}


def spotfit_config(knobs):
    return f"""webhook:
  schedulerName: spotfit
scaler:
  namespace: spotfit
  batchIdle: {knobs['batch_idle']}
  batchMax: {knobs['batch_max']}
  scaleDownCooldown: {fmt_duration(knobs['scale_down_cooldown'])}
"""


def spotfit_pool(types, knobs):
    return {"apiVersion": "spotfit.io/v1alpha1", "kind": "SpotfitPool", "metadata": {"name": "general"},
            "spec": {"capacityTypes": ["spot", "on-demand"], "instanceTypes": catalog.spotfit_instance_types(types),
                     "minNodes": 0, "maxNodes": 1000,
                     "provider": {"type": "kwok", "parameters": {"readyDelay": fmt_duration(knobs["boot_delay"])}},
                     "disruption": {"consolidateAfter": fmt_duration(knobs["consolidate_after"]),
                                    "unneededTime": fmt_duration(knobs["unneeded_time"])}}}


def karpenter_setup(cluster, types, knobs, namespace_labels=None):
    env = karpenter.Karpenter(cluster, types, batch_idle=knobs["batch_idle"], batch_max=knobs["batch_max"])
    env.start()
    env.create_node_class()
    cluster.kube.create(karpenter.NODEPOOLS, karpenter.node_pool(
        "general", boot_delay=fmt_duration(knobs["boot_delay"]),
        consolidate_after=fmt_duration(knobs["consolidate_after"])))
    cluster.kube.create_namespace(NAMESPACE, namespace_labels)
    return env


def coexist_setup(cluster, types, knobs):
    """Scenario 3, spotfit's webhook beside Karpenter (docs/setups.md, "Beside Karpenter"): Karpenter and the
    kube-scheduler as in karpenter_setup, plus `spotfit serve` without its scaler, with
    `webhook.capacity.preset: karpenter` (required capacity terms in Karpenter's labels, do-not-disrupt on pods
    that cannot resume) and the namespace opted in."""
    env = karpenter_setup(cluster, types, knobs, {"spotfit.io/enabled": "true"})
    sf = spotfitproc.Spotfit(cluster, config_text="webhook:\n  capacity: {preset: karpenter}\n")
    sf.start()
    sf.register_webhook()
    wait_for_webhook(cluster.kube, lambda created: "karpenter.sh/do-not-disrupt" in str(created))
    return env, sf


def wait_for_webhook(kube, mutated):
    """Until the apiserver calls spotfit's webhook for the bench namespace (a dry-run Job comes back mutated)."""
    kube.wait_default_service_account(NAMESPACE, 60)
    probe = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "probe"}, "spec": {"template": {"spec": {
        "restartPolicy": "Never", "containers": [{"name": "c", "image": "registry.invalid/x:1"}]}}}}
    kubeapi.wait_for("the apiserver to call spotfit's webhook", lambda: mutated(kube.create(
        f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", probe, dryRun="All")), 60)


def spotfit_setup(cluster, types, knobs):
    env = karpenter.Karpenter(cluster, types, karpenter=False)  # the kwok controller only
    env.start()
    kube = cluster.kube
    kube.create_namespace("spotfit-system")
    cluster.kubectl("apply", "-k", os.path.join(SOURCE_DIR, "manifests", "crd"))
    kubeapi.wait_for("spotfitpools.spotfit.io", lambda: kube.get("/apis/spotfit.io/v1alpha1/spotfitpools") is not None, 60)
    kube.create_namespace("spotfit")
    kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", spotfit_pool(types, knobs))
    sf = spotfitproc.Spotfit(cluster, config_text=spotfit_config(knobs), scaler=True)
    sf.start()
    sf.register_webhook()
    cluster.start_extra_scheduler("spotfit-scheduler", sf.second_scheduler_configuration())
    kube.create_namespace(NAMESPACE, {"spotfit.io/enabled": "true"})
    wait_for_webhook(kube, lambda created: created["spec"]["template"]["spec"].get("schedulerName") == "spotfit")
    return sf


def replay(kube, jobs, scenario, deadline_s, log):
    """Creates each job at its offset (or when its `after` jobs completed); returns when all completed or at
    the deadline. Returns the names of jobs that did not complete."""
    start = time.monotonic()
    pending = list(jobs)
    created, done = set(), set()
    while True:
        elapsed = time.monotonic() - start
        for job in list(pending):
            ready = job["offset"] is not None and job["offset"] <= elapsed
            ready = ready or (job["offset"] is None and all(a in done for a in job["after"]))
            if ready:
                kube.create(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs", job_object(job, scenario))
                created.add(job["name"])
                pending.remove(job)
        for item in kube.get(f"/apis/batch/v1/namespaces/{NAMESPACE}/jobs")["items"]:
            if any(c["type"] == "Complete" and c["status"] == "True"
                   for c in item.get("status", {}).get("conditions") or []):
                done.add(item["metadata"]["name"])
        if not pending and created <= done:
            return []
        if elapsed > deadline_s:
            return sorted({j["name"] for j in jobs} - done)
        time.sleep(0.5)


def nodes_count(kube):
    return len(kube.get("/api/v1/nodes")["items"])


def run_once(scenario, work, types, knobs, log, lock_path):
    cluster = controlplane.Cluster()
    with open(lock_path or os.devnull, "a") as lock:
        if lock_path:
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            cluster.start()
            {"karpenter": karpenter_setup, "karpenter-dnd": karpenter_setup, "coexist": coexist_setup,
             "spotfit": spotfit_setup}[scenario](cluster, types, knobs)
            rec = recorder.Recorder(cluster.kube, catalog.price_table(types))
            rec.start()
            unfinished = replay(cluster.kube, work["jobs"], scenario, work["span"] + knobs["drain_s"], log)
            # The idle tail: until every node is gone or the limit.
            tail_deadline = time.monotonic() + knobs["tail_s"]
            while nodes_count(cluster.kube) and time.monotonic() < tail_deadline:
                time.sleep(1)
            rec.stop()
            result = rec.summary(compression=knobs["compression"])
            result.update(scenario=scenario, jobs=len(work["jobs"]), jobs_unfinished=len(unfinished),
                          nodes_left=nodes_count(cluster.kube))
            return result
        except BaseException:
            print(cluster.report(), file=sys.stderr)
            raise
        finally:
            cluster.stop()


def table(results):
    keys = ["cost_usd", "node_hours", "nodes", "cpu_allocation", "pending_p50_s", "pending_p95_s",
            "pods_disrupted_running", "work_lost_s", "makespan_s", "idle_tail_s", "jobs_unfinished"]
    lines = ["| scenario | runs | " + " | ".join(keys) + " |", "|" + "---|" * (len(keys) + 2)]
    for scenario in SCENARIOS:
        runs = [r for r in results if r["scenario"] == scenario]
        if not runs:
            continue
        cells = []
        for key in keys:
            values = [r[key] for r in runs if r.get(key) is not None]
            if not values:
                cells.append("-")
            elif len(values) == 1:
                cells.append(f"{values[0]:g}")
            else:
                cells.append(f"{statistics.median(values):g} ({min(values):g}-{max(values):g})")
        lines.append(f"| {scenario} | {len(runs)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default=os.path.join(SOURCE_DIR, "examples", "mixed-day.yaml"))
    parser.add_argument("--compression", type=float, default=24.0, help="time-compression factor (default 24)")
    parser.add_argument("--window", default="12h:16h", help="the part of the horizon replayed (default 12h:16h)")
    parser.add_argument("--scenarios", default="karpenter,karpenter-dnd,coexist,spotfit")
    parser.add_argument("--repetitions", type=int, default=1)
    parser.add_argument("--short", action="store_true",
                        help="a couple of minutes per scenario: window 14h:14h30m, compression 30")
    parser.add_argument("--consolidate-after", default=None,
                        help="both sides' consolidateAfter (default: the Simulation's spotfit.consolidateAfter "
                             "(60s) / compression, at least 5s)")
    parser.add_argument("--out", help="directory for results.json")
    parser.add_argument("--lock", default=LOCK, help=f"file locked around each run (default {LOCK}; '' when the "
                        "caller holds it already, as the e2e suite does)")
    args = parser.parse_args()
    if args.short:
        args.window, args.compression = SHORT_WINDOW, SHORT_COMPRESSION
    scenarios = [s.strip() for s in args.scenarios.split(",") if s.strip()]
    for s in scenarios:
        if s not in SCENARIOS:
            parser.error(f"unknown scenario {s}; one of {', '.join(SCENARIOS)}")
    work = workload.load(args.workload, args.compression, window=args.window)
    types = workload.catalog(work["pools"])
    knobs = knobs_for(work, args.compression,
                      workload.seconds(args.consolidate_after) if args.consolidate_after else None, args.short)
    consolidate_after = knobs["consolidate_after"]
    log = sys.stderr
    print(f"peers: {len(work['jobs'])} jobs, {sum(j['completions'] for j in work['jobs'])} pods over "
          f"{work['span']:.0f}s (window {args.window}, compression {args.compression:g}); left out (GPU): "
          f"{len(work['skipped'])}; boot delay {work['boot_delay']:.1f}s; consolidateAfter {consolidate_after:g}s",
          file=log, flush=True)
    results = []
    for rep in range(args.repetitions):
        for scenario in scenarios:
            started = time.monotonic()
            result = run_once(scenario, work, types, knobs, log, args.lock)
            result.update(repetition=rep + 1, wall_s=round(time.monotonic() - started, 1),
                          loadavg=os.getloadavg()[0])
            results.append(result)
            print(json.dumps(result), flush=True)
    print(table(results))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        with open(os.path.join(args.out, "results.json"), "w") as f:
            json.dump({"args": vars(args), "knobs": knobs, "results": results}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes the peer benchmark's compressed workload as a `Simulation` file, so that `spotfit simulate` can
replay the very Jobs `bench/peers/run.py` creates and its `karpenter`, `karpenter-dnd` and `spotfit`
strategies can be put beside what the real components measured (docs/simulate.md, "The karpenter strategy").

    python3 bench/peers/to_simulation.py --window 12h:16h --compression 24 > /tmp/peers-sim.yaml
    build/release/spotfit simulate -f /tmp/peers-sim.yaml --strategies karpenter,karpenter-dnd,spotfit

Same Jobs at the same offsets with the same durations (each arrival of a workflow becomes one workflow that
arrives once), the same catalog (the peer catalog's types, allocatable = capacity - 100m - 10Mi on both
sides), the same boot delay, batch windows (not compressed), consolidateAfter and spotfit's compressed
scale-down timers (run.py's knobs_for). No spot interruptions and no unavailable offerings, as in the peer
runs. Costs come out in compressed time: multiply by the compression factor to compare with the peer table.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run  # noqa: E402
import workload  # noqa: E402


def ms(seconds):
    return f"{max(1, int(round(seconds * 1000)))}ms"


def mebibytes(quantity):
    """A memory quantity ('16Gi', '512Mi') in MiB."""
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return float(quantity[:-len(suffix)]) * factor
    return float(quantity) / (1024 * 1024)


def simulation(work, knobs, seed):
    lines = ["apiVersion: spotfit.io/v1alpha1", "kind: Simulation",
             f"# compressed peer workload: {len(work['jobs'])} jobs, span {work['span']:.0f}s",
             f"horizon: {ms(work['span'])}", f"drainLimit: {ms(knobs['drain_s'] * 4)}", "sampleInterval: 1s",
             f"seed: {seed}", "provisioning:", f"  delay: {ms(work['boot_delay'])}", "  jitter: 0s",
             f"  podStartup: {ms(work['pod_startup'])}", "nodePools:", "  - name: general",
             "    capacityTypes: [spot, on-demand]", "    max: 1000", "    instanceTypes:"]
    for t in workload.catalog(work["pools"]):
        cpu_m = float(t["cpu"]) * 1000 - 100
        mem = mebibytes(t["memory"]) - 10
        lines.append(f"      - {{name: {t['name']}, cpu: {cpu_m:.0f}m, memory: {mem:.0f}Mi, "
                     f"onDemandPrice: {t['onDemandPrice']}, spotPrice: {t['spotPrice']}}}")
    lines += ["spotMarket:", "  interruptionsPerHour: {default: 0}",
              "spotfit:", f"  batchIdle: {knobs['batch_idle']}", f"  batchMax: {knobs['batch_max']}",
              f"  consolidateAfter: {ms(knobs['consolidate_after'])}",
              f"  scaleDownCooldown: {ms(knobs['scale_down_cooldown'])}",
              "karpenter:", f"  batchIdle: {knobs['batch_idle']}", f"  batchMax: {knobs['batch_max']}",
              f"  consolidateAfter: {ms(knobs['consolidate_after'])}", "workflows:"]
    arrivals = {}
    for job in work["jobs"]:
        arrivals.setdefault(job["arrival"], []).append(job)
    for name, jobs in arrivals.items():
        offset = min(j["offset"] for j in jobs if j["offset"] is not None)
        annotations = jobs[0]["annotations"]
        lines += [f"  - name: {name}", f"    arrival: {{at: [{ms(offset)}]}}"]
        if annotations:
            lines.append("    annotations: {" + ", ".join(f"{k}: {v}" for k, v in annotations.items()) + "}")
        lines.append("    jobs:")
        for j in jobs:
            requests = ", ".join(f"{k}: \"{v}\"" for k, v in j["requests"].items())
            lines += [f"      - name: {j['job']}", f"        completions: {j['completions']}",
                      f"        parallelism: {j['parallelism']}", f"        duration: {ms(j['duration'])}",
                      f"        requests: {{{requests}}}"]
            if j["after"]:
                lines.append("        after: [" + ", ".join(a[len(name) + 1:] for a in j["after"]) + "]")
            if j["resumable"]:
                lines.append("        resumable: true")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workload", default=os.path.join(run.SOURCE_DIR, "examples", "mixed-day.yaml"))
    parser.add_argument("--compression", type=float, default=24.0)
    parser.add_argument("--window", default="12h:16h")
    parser.add_argument("--consolidate-after", type=float, default=None)
    parser.add_argument("--short", action="store_true", help="run.py --short's window and compression")
    args = parser.parse_args()
    window, compression = (run.SHORT_WINDOW, run.SHORT_COMPRESSION) if args.short else (args.window, args.compression)
    work = workload.load(args.workload, compression, window)
    knobs = run.knobs_for(work, compression, args.consolidate_after, args.short)
    sys.stdout.write(simulation(work, knobs, 7))


if __name__ == "__main__":
    main()

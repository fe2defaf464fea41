"""A compressed, replayable workload from a `Simulation` file (spotfit simulate's schema, docs/simulate.md).

Every time in the file is divided by the compression factor: arrival offsets, task durations and the
provisioning delay. Only a window of the horizon may be replayed (`--window 12h:18h`). Each job of each
workflow arrival becomes one Kubernetes Job; its pods all run for one duration drawn (seeded, per job) from
the job's distribution. Jobs with `after` start when their predecessors of the same arrival complete.
Jobs that request resources the peer catalog does not carry (GPUs) are left out, and said so.

The same seed and file give the same list for every scenario (python3-yaml parses the file).
"""

import hashlib
import math
import random
import re

import yaml

_DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNIT_S = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def seconds(value):
    """A Simulation duration ('90s', '1h30m', 600) in seconds."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    total, pos = 0.0, 0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_S[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        try:
            return float(text)
        except ValueError:
            raise ValueError(f"bad duration {value!r}") from None
    return total


def stream(seed, *names):
    """A random stream keyed by (seed, names), independent of draw order elsewhere."""
    digest = hashlib.sha256(("/".join([str(seed), *map(str, names)])).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def draw_duration(spec, rng):
    if not isinstance(spec, dict):
        return seconds(spec)
    if "min" in spec:
        return rng.uniform(seconds(spec["min"]), seconds(spec["max"]))
    mean = seconds(spec["mean"])
    if "stddev" in spec:  # log-normal with this mean and standard deviation
        sd = seconds(spec["stddev"])
        sigma2 = math.log(1 + (sd / mean) ** 2)
        return rng.lognormvariate(math.log(mean) - sigma2 / 2, math.sqrt(sigma2))
    return rng.expovariate(1 / mean)


def arrivals(spec, horizon, rng):
    if "at" in spec:
        return sorted(seconds(t) for t in spec["at"])
    if "every" in spec:
        step = seconds(spec["every"])
        t, until = seconds(spec.get("start", 0)), seconds(spec.get("until", horizon))
        out = []
        while t <= min(until, horizon):
            out.append(t)
            t += step
        return out
    diurnal = spec["diurnal"]
    rate, peak, amplitude = float(diurnal["perHour"]), float(diurnal.get("peakHour", 12)), \
        float(diurnal.get("amplitude", 0))
    top = rate * (1 + amplitude) / 3600.0
    out, t = [], 0.0
    while True:  # thinning of a Poisson process
        t += rng.expovariate(top)
        if t > horizon:
            return out
        current = rate * (1 + amplitude * math.cos(2 * math.pi * (t / 3600.0 - peak) / 24)) / 3600.0
        if rng.random() < current / top:
            out.append(t)


def load(path, compression, window=None, seed=None, resources=("cpu", "memory")):
    """{"jobs": [...], "pools": [...], "boot_delay": s, "skipped": [...]} with times compressed.

    A job: {"name", "workflow", "offset" (s from the start, or None when it waits for `after`), "after": [names],
    "completions", "parallelism", "duration" (s), "requests", "annotations", "nodeSelector", "resumable"}.
    """
    with open(path) as f:
        sim = yaml.safe_load(f)
    seed = sim.get("seed", 1) if seed is None else seed
    horizon = seconds(sim.get("horizon", "24h"))
    start, end = 0.0, horizon
    if window:
        a, _, b = window.partition(":")
        start, end = seconds(a), seconds(b)
    provisioning = sim.get("provisioning") or {}
    jobs, skipped = [], []
    for workflow in sim["workflows"]:
        times = arrivals(workflow["arrival"], horizon, stream(seed, "arrival", workflow["name"]))
        for index, t in enumerate(times):
            if not start <= t < end:
                continue
            for job in workflow["jobs"]:
                requests = {k: str(v) for k, v in job["requests"].items()}
                name = f"{workflow['name']}-{index}-{job['name']}".lower()
                if set(requests) - set(resources):
                    skipped.append(name)
                    continue
                annotations = dict(workflow.get("annotations") or {})
                annotations.update(job.get("annotations") or {})
                completions = int(job.get("completions", 1))
                duration = draw_duration(job["duration"], stream(seed, "duration", workflow["name"], index,
                                                                 job["name"]))
                jobs.append({
                    "name": name, "workflow": workflow["name"], "arrival": f"{workflow['name']}-{index}",
                    "job": job["name"],
                    "offset": None if job.get("after") else (t - start) / compression,
                    "after": [f"{workflow['name']}-{index}-{a}".lower() for a in job.get("after") or []],
                    "completions": completions, "parallelism": int(job.get("parallelism", completions)),
                    "duration": max(1.0, duration / compression), "requests": requests,
                    "annotations": annotations, "nodeSelector": dict(job.get("nodeSelector") or {}),
                    "resumable": bool(job.get("resumable", False))})
    jobs = [j for j in jobs if all(a not in skipped for a in j["after"])]
    jobs.sort(key=lambda j: (j["offset"] is None, j["offset"] or 0, j["name"]))
    return {"jobs": jobs, "pools": sim["nodePools"], "skipped": skipped,
            "boot_delay": seconds(provisioning.get("delay", "90s")) / compression,
            "pod_startup": seconds(provisioning.get("podStartup", "5s")) / compression,
            "span": (end - start) / compression}


def catalog(pools, names=None):
    """The catalog entries (scripts/e2e/catalog.py) of the pools without GPUs (or of the pools named)."""
    out = []
    for pool in pools:
        if names and pool["name"] not in names:
            continue
        if not names and (pool.get("taints") or any(t.get("gpus") for t in pool["instanceTypes"])):
            continue
        for t in pool["instanceTypes"]:
            out.append({"name": t["name"], "cpu": str(t["cpu"]), "memory": str(t["memory"]),
                        "onDemandPrice": t["onDemandPrice"], "spotPrice": t.get("spotPrice", 0)})
    return out

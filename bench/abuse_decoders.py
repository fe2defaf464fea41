#!/usr/bin/env python3
"""Memory and latency of `spotfit serve` under the hostile inputs of issue 15 (decoders part).

For each attack a fresh `spotfit serve` is started; two attacker processes (one keep-alive connection
each) send the attack body in a loop for --seconds while one client sends a valid AdmissionReview over its own keep-alive connection
and records each round trip. Reported per attack: the valid admission's p50/p99 (client side, Python),
attack requests answered and their status codes, and the server's peak RSS (VmHWM). A server that dies
is reported as such.

  python3 bench/abuse_decoders.py --spotfit build/release/spotfit [--spotfit-before OTHER] [--seconds 10]
"""
import argparse
import http.client
import json
import os
import ssl
import subprocess
import sys
import tempfile
import multiprocessing
import time

PORT = 18643
METRICS = 18680


def review(obj):
    return json.dumps({"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
                       "request": {"uid": "u-1", "kind": {"group": "", "version": "v1", "kind": "Pod"},
                                   "operation": "CREATE", "namespace": "ml", "object": "OBJ"}}).replace('"OBJ"', obj)


def pod(annotations="", containers='{"name":"main","image":"busybox"}', meta_extra=""):
    return ('{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"ml","annotations":{' + annotations +
            '}' + meta_extra + '},"spec":{"restartPolicy":"Never","containers":[' + containers + ']}}')


VALID = review(pod('"spotfit.io/checkpoint":"save"'))
ATTACKS = {
    "nested-45k (90 KB)": review(pod("", '{"name":"main","args":' + "[" * 45000 + "]" * 45000 + "}")),
    "nested-150k (300 KB)": "[" * 150000 + "]" * 150000,
    "checkpoint x 10,000 containers (118 KB)": review(pod(
        '"spotfit.io/checkpoint":"' + "x" * 13000 + '"', ",".join('{"name":"c%d"}' % i for i in range(10000)))),
    "80,000 labels (1.6 MB)": review(pod("", meta_extra=',"labels":{' + ",".join(
        '"label-%d":"value"' % i for i in range(80000)) + "}")),
}


def connect():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return http.client.HTTPSConnection("127.0.0.1", PORT, context=ctx, timeout=60)


def post(conn, body):
    conn.request("POST", "/mutate", body=body, headers={"Content-Type": "application/json"})
    r = conn.getresponse()
    r.read()
    return r.status


def peak_rss_mib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        return None


def start(binary, certs):
    p = subprocess.Popen([binary, "serve", "--https-addr", f"127.0.0.1:{PORT}", "--metrics-addr",
                          f"127.0.0.1:{METRICS}", "--tls-cert-file", f"{certs}/tls.crt", "--tls-key-file",
                          f"{certs}/tls.key", "--log-level", "error"], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            c = connect()
            post(c, VALID)
            c.close()
            return p
        except OSError:
            time.sleep(0.05)
    p.kill()
    raise SystemExit("spotfit serve did not come up")


def attacker(body, stop, out):
    """One attacker connection in its own process (no GIL shared with the measuring client)."""
    statuses = {}
    conn = connect()
    while time.time() < stop:
        try:
            s = post(conn, body)
        except (OSError, http.client.HTTPException) as e:
            s = type(e).__name__
            try:
                conn = connect()
            except OSError:
                break
        statuses[s] = statuses.get(s, 0) + 1
    out.put(statuses)


def run(binary, certs, name, body, seconds):
    server = start(binary, certs)
    stop_wall = time.time() + seconds
    stop = time.monotonic() + seconds
    out = multiprocessing.Queue()
    procs = [multiprocessing.Process(target=attacker, args=(body, stop_wall, out)) for _ in range(2)]
    for p in procs:
        p.start()
    lat = []
    conn = connect()
    errors = 0
    while time.monotonic() < stop and server.poll() is None:
        t0 = time.perf_counter()
        try:
            post(conn, VALID)
            lat.append((time.perf_counter() - t0) * 1000)
        except (OSError, http.client.HTTPException):
            errors += 1
            if server.poll() is not None:
                break
            conn = connect()
    statuses = {}
    for p in procs:
        for k, v in out.get().items():
            statuses[k] = statuses.get(k, 0) + v
        p.join()
    died = server.poll() is not None
    rss = peak_rss_mib(server.pid)
    server.kill()
    server.wait()
    lat.sort()
    pct = lambda q: lat[min(len(lat) - 1, int(q * len(lat)))] if lat else float("nan")
    return {"attack": name, "valid_admissions": len(lat), "p50_ms": round(pct(0.50), 2),
            "p99_ms": round(pct(0.99), 2), "valid_errors": errors, "attack_answers": statuses,
            "peak_rss_mib": None if rss is None else round(rss, 1), "server_died": died,
            "exit": server.returncode if died else None}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--spotfit", required=True)
    ap.add_argument("--spotfit-before")
    ap.add_argument("--seconds", type=float, default=10)
    a = ap.parse_args()
    certs = tempfile.mkdtemp()
    subprocess.run([a.spotfit, "certs", "--out", certs, "--dns", "localhost"], check=True, stdout=subprocess.DEVNULL)
    builds = [("after", a.spotfit)] + ([("before", a.spotfit_before)] if a.spotfit_before else [])
    print(f"valid AdmissionReview: {len(VALID)} bytes")
    for name, body in ATTACKS.items():
        for label, binary in builds:
            r = run(binary, certs, name, body, a.seconds)
            r["build"] = label
            r["attack_bytes"] = len(body)
            print(json.dumps(r), flush=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Hostile load on a real `spotfit serve` (loopback only, bounded): memory and valid-admission latency
while each attack of issue 15 (server side) runs.

    python3 bench/abuse_load.py [--build build/release] [--seconds 10] [--attacks a,b,...]

Starts `spotfit serve` (webhook on, no cluster) on free loopback ports with fresh certificates. For each
attack it runs the attack in child processes for --seconds while this process

  * sends a valid AdmissionReview (bench/data/webhook-job-pod.json, as kube-apiserver sends it) every
    10 ms over one keep-alive HTTPS connection, reconnecting when the server closed it, and records the
    latency of each (a failed request counts as an error, not a latency);
  * probes /healthz and /readyz on fresh plain connections every 100 ms, like the kubelet (1 s timeout);

Attackers connect from 127.0.0.2, the measuring client from 127.0.0.1 (two peers, as in a cluster).

then prints one markdown row: attack, attack volume, admissions ok/errors, p50/p99/max latency, probes
ok/total, the server's VmRSS after the attack and its peak VmHWM since start. Every loop stops at the
deadline; every socket has a timeout; the server is killed at exit.
"""
import argparse
import json
import multiprocessing as mp
import os
import resource
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
# Attackers connect from 127.0.0.2 (any 127/8 source reaches 127.0.0.1 on Linux): another pod, as in a
# cluster, so the per-peer caps apply to them and not to the measuring client (kube-apiserver's role).
ATTACKER = ("127.0.0.2", 0)


def attacker_connection(port, timeout):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=ATTACKER)


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def review_body():
    with open(os.path.join(HERE, "data", "webhook-job-pod.json")) as f:
        pod = f.read()
    return ('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":'
            '"705ab4f5-6393-11e8-b7cc-42010a800002","kind":{"group":"","version":"v1","kind":"Pod"},'
            '"resource":{"group":"","version":"v1","resource":"pods"},"namespace":"analytics",'
            '"operation":"CREATE","userInfo":{"username":"system:serviceaccount:kube-system:job-controller"},'
            '"object":' + pod + ',"oldObject":null,"dryRun":false}}').encode()


def tls_context(ca):
    ctx = ssl.create_default_context(cafile=ca)
    ctx.check_hostname = False
    return ctx


def read_response(sock):
    """Reads one HTTP/1.1 response with Content-Length; returns (status, keep_alive)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length, close = 0, False
    for line in lines[1:]:
        k, _, v = line.partition(":")
        if k.strip().lower() == "content-length":
            length = int(v)
        if k.strip().lower() == "connection" and v.strip().lower() == "close":
            close = True
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        rest += chunk
    return status, not close


# ---------------------------------------------------------------------------------------------------
# Attacks: each runs in its own process until `deadline` and returns a volume figure through `out`.

def attack_odd_methods(cfg, deadline, out):
    """Requests with a distinct method each, over keep-alive HTTPS connections."""
    ctx = tls_context(cfg["ca"])
    sent, n = 0, 0
    sock = None
    while time.time() < deadline:
        try:
            if sock is None:
                sock = ctx.wrap_socket(attacker_connection(cfg["https"], 2))
            n += 1
            sock.sendall(b"M%08dXXXXXXXXXXXXXXXXXXXXXXXX /mutate HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n" % n)
            _, keep = read_response(sock)
            sent += 1
            if not keep:
                sock.close()
                sock = None
        except (OSError, ConnectionError):
            sock = None
    out.put(("requests with distinct methods", sent))


def hold_idle(cfg, deadline, out, port, use_tls, target, label):
    """Keeps `target` idle connections open, reopening the ones the server closes."""
    ctx = tls_context(cfg["ca"]) if use_tls else None
    conns, opened = [], 0
    while time.time() < deadline:
        while len(conns) < target and time.time() < deadline:
            try:
                s = attacker_connection(port, 2)
                if use_tls:
                    s = ctx.wrap_socket(s)
                s.setblocking(False)
                conns.append(s)
                opened += 1
            except OSError:
                time.sleep(0.01)
        alive = []
        for s in conns:
            try:
                if s.recv(1) == b"":
                    s.close()
                    continue
            except ssl.SSLWantReadError:
                pass
            except BlockingIOError:
                pass
            except OSError:
                s.close()
                continue
            alive.append(s)
        conns = alive
        time.sleep(0.05)
    for s in conns:
        s.close()
    out.put((label, opened))


def attack_idle_https(cfg, deadline, out):
    hold_idle(cfg, deadline, out, cfg["https"], True, 1100, "idle HTTPS connections opened (cap 1,024)")


def attack_idle_plain(cfg, deadline, out):
    hold_idle(cfg, deadline, out, cfg["plain"], False, 100, "idle plain connections opened (cap 64)")


def attack_slow_headers(cfg, deadline, out):
    """Slow-header (slowloris) HTTPS connections from one address: one header byte every 0.5 s."""
    ctx = tls_context(cfg["ca"])
    conns, opened = [], 0
    while time.time() < deadline:
        while len(conns) < 400 and time.time() < deadline:
            try:
                s = ctx.wrap_socket(attacker_connection(cfg["https"], 2))
                s.sendall(b"POST /mutate HTTP/1.1\r\nHost: x\r\n")
                conns.append(s)
                opened += 1
            except OSError:
                break
        alive = []
        for s in conns:
            try:
                s.sendall(b"X")
                alive.append(s)
            except OSError:
                s.close()
        conns = alive
        time.sleep(0.5)
    for s in conns:
        s.close()
    out.put(("slow-header connections opened (per-peer cap 256)", opened))


def attack_big_bodies(cfg, deadline, out):
    """8 MB request bodies (the body limit) in a loop over 4 connections: busy io and handler threads."""
    body = b'{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"x":"' + b"a" * (8 * 1024 * 1024 - 200) + b'"}}'
    ctx = tls_context(cfg["ca"])
    sent = 0

    def one():
        nonlocal sent
        sock = None
        while time.time() < deadline:
            try:
                if sock is None:
                    sock = ctx.wrap_socket(attacker_connection(cfg["https"], 5))
                sock.sendall(b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n" % len(body) + body)
                _, keep = read_response(sock)
                sent += 1
                if not keep:
                    sock.close()
                    sock = None
            except (OSError, ConnectionError):
                sock = None

    import threading
    threads = [threading.Thread(target=one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    out.put(("8 MB requests answered", sent))


ATTACKS = {
    "none": None,
    "odd-methods": attack_odd_methods,
    "idle-plain": attack_idle_plain,
    "idle-https": attack_idle_https,
    "slow-headers": attack_slow_headers,
    "big-bodies": attack_big_bodies,
}


# ---------------------------------------------------------------------------------------------------
# Measurement

def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(round(p / 100.0 * (len(sorted_values) - 1))))]


def probe(port, path):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=1)
        s.settimeout(1)
        s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        status, _ = read_response(s)
        s.close()
        return status == 200
    except (OSError, ConnectionError, ValueError, IndexError):
        return False


def measure(cfg, seconds, body):
    ctx = tls_context(cfg["ca"])
    latencies, errors, probes_ok, probes = [], 0, 0, 0
    sock = None
    request = (b"POST /mutate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
               % len(body)) + body
    start = time.time()
    deadline = start + seconds
    next_probe = start
    next_send = start
    while time.time() < deadline:
        now = time.time()
        if now >= next_probe:
            probes += 2
            probes_ok += probe(cfg["plain"], b"/healthz") + probe(cfg["plain"], b"/readyz")
            next_probe += 0.1
        if now < next_send:
            time.sleep(min(next_send, next_probe) - now if min(next_send, next_probe) > now else 0)
            continue
        next_send += 0.01
        try:
            if sock is None:
                sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", cfg["https"]), timeout=2))
                sock.settimeout(2)
            t0 = time.perf_counter()
            sock.sendall(request)
            status, keep = read_response(sock)
            dt = time.perf_counter() - t0
            if status == 200:
                latencies.append(dt)
            else:
                errors += 1
            if not keep:
                sock.close()
                sock = None
        except (OSError, ConnectionError):
            # A pooled connection the server closed (eviction): like Go's transport, retry once on a new one.
            sock = None
            try:
                sock = ctx.wrap_socket(socket.create_connection(("127.0.0.1", cfg["https"]), timeout=2))
                sock.settimeout(2)
                t0 = time.perf_counter()
                sock.sendall(request)
                status, keep = read_response(sock)
                dt = time.perf_counter() - t0
                if status == 200:
                    latencies.append(dt)
                else:
                    errors += 1
            except (OSError, ConnectionError):
                errors += 1
                sock = None
    if sock is not None:
        sock.close()
    return sorted(latencies), errors, probes_ok, probes


def rss(pid):
    out = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "VmHWM"):
                out[k] = int(v.split()[0]) // 1024
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build/release")
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--attacks", default=",".join(ATTACKS))
    args = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    binary = os.path.join(args.build, "spotfit")
    tmp = tempfile.mkdtemp(prefix="spotfit-abuse-")
    subprocess.run([binary, "certs", "--out", tmp, "--dns", "localhost"], check=True, stdout=subprocess.DEVNULL)
    cfg = {"https": free_port(), "plain": free_port(), "ca": os.path.join(tmp, "ca.crt")}
    server = subprocess.Popen([binary, "serve", "--https-addr", "127.0.0.1:%d" % cfg["https"],
                               "--metrics-addr", "127.0.0.1:%d" % cfg["plain"],
                               "--tls-cert-file", os.path.join(tmp, "tls.crt"),
                               "--tls-key-file", os.path.join(tmp, "tls.key"), "--log-level", "error"])
    try:
        for _ in range(200):
            if probe(cfg["plain"], b"/healthz"):
                break
            time.sleep(0.05)
        else:
            sys.exit("abuse_load.py: spotfit serve did not come up")
        body = review_body()
        print("| attack | attack volume | admissions ok / errors | p50 | p99 | max | probes ok | RSS after | peak RSS |")
        print("|---|---|---|---|---|---|---|---|---|")
        for name in args.attacks.split(","):
            fn = ATTACKS[name]
            out = mp.Queue()
            proc = None
            if fn is not None:
                proc = mp.Process(target=fn, args=(cfg, time.time() + args.seconds + 1, out))
                proc.start()
                time.sleep(1)  # let the attack build up before measuring
            lat, errors, pok, pn = measure(cfg, args.seconds, body)
            volume = ""
            if proc is not None:
                label, n = out.get(timeout=60)
                proc.join(timeout=30)
                volume = "%d %s" % (n, label)
            mem = rss(server.pid)
            ms = lambda v: "%.2f ms" % (v * 1000)
            print("| %s | %s | %d / %d | %s | %s | %s | %d/%d | %d MiB | %d MiB |" % (
                name, volume, len(lat), errors, ms(percentile(lat, 50)), ms(percentile(lat, 99)),
                ms(lat[-1] if lat else float("nan")), pok, pn, mem["VmRSS"], mem["VmHWM"]), flush=True)
            time.sleep(1)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()

"""spotfit's OCI image (scripts/build-image.sh): the archive is valid for an independent reader (skopeo
checks every blob's digest and size), reproducible, small, and its root filesystem runs `spotfit version`
and `spotfit serve` in a chroot, that is with the image's libraries only and none of the host's.

Needs root (chroot) or unprivileged user namespaces (unshare -r), skopeo, strip and ldd.
Environment: SPOTFIT_SOURCE_DIR, SPOTFIT_BINARY (set by ctest).
"""

import gzip
import hashlib
import io
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import tarfile
import tempfile
import time
import unittest
import urllib.request

SOURCE = os.environ["SPOTFIT_SOURCE_DIR"]
BINARY = os.environ["SPOTFIT_BINARY"]
SCRIPT = os.path.join(SOURCE, "scripts", "build-image.sh")
MIB = 1024 * 1024


def build(build_dir, output, env=None, umask=None):
    def preexec():
        if umask is not None:
            os.umask(umask)

    r = subprocess.run(["bash", SCRIPT, build_dir, output], capture_output=True, text=True, env=env,
                       preexec_fn=preexec, timeout=300)
    if r.returncode != 0:
        raise AssertionError(f"build-image.sh failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
    return r.stdout


def sha256(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def read_archive(path):
    with tarfile.open(path) as tf:
        return {m.name: tf.extractfile(m).read() for m in tf.getmembers() if m.isfile()}


def chroot_argv(rootfs, user="65532:65532"):
    """Runs a command inside rootfs as the image's user: chroot as root, else in a user namespace."""
    chroot = shutil.which("chroot")
    if os.geteuid() == 0:
        return [chroot, f"--userspec={user}", rootfs]
    return [shutil.which("unshare"), "--user", "--map-root-user", chroot, rootfs]


class Image(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        for tool in ("skopeo", "strip", "ldd", "chroot"):
            if shutil.which(tool) is None:
                raise AssertionError(f"{tool} is not installed (bash scripts/install-deps.sh)")
        cls.tmp = tempfile.mkdtemp(prefix="spotfit-image-")
        cls.archive = os.path.join(cls.tmp, "spotfit-image.tar")
        cls.report = build(os.path.dirname(BINARY), cls.archive)
        cls.version = json.loads(subprocess.check_output([BINARY, "version", "--output", "json"], text=True))
        cls.files = read_archive(cls.archive)
        cls.index = json.loads(cls.files["index.json"])
        cls.manifest = json.loads(cls.blob(cls.index["manifests"][0]["digest"]))
        cls.config = json.loads(cls.blob(cls.manifest["config"]["digest"]))
        layer = cls.blob(cls.manifest["layers"][0]["digest"])
        cls.layer_tar = gzip.decompress(layer)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    @classmethod
    def blob(cls, digest):
        return cls.files["blobs/sha256/" + digest.split(":", 1)[1]]

    def skopeo(self, *args):
        return subprocess.run(["skopeo", "--insecure-policy", *args], capture_output=True, text=True, timeout=120)

    def test_every_blob_matches_its_descriptor(self):
        self.assertEqual(json.loads(self.files["oci-layout"]), {"imageLayoutVersion": "1.0.0"})
        descriptors = [self.index["manifests"][0], self.manifest["config"], *self.manifest["layers"]]
        for d in descriptors:
            data = self.blob(d["digest"])
            self.assertEqual(sha256(data), d["digest"])
            self.assertEqual(len(data), d["size"], d["digest"])
        self.assertEqual(len(self.files), 2 + len(descriptors), sorted(self.files))
        self.assertEqual(self.config["rootfs"]["diff_ids"], [sha256(self.layer_tar)])

    def test_skopeo_reads_and_verifies_the_archive(self):
        r = self.skopeo("inspect", f"oci-archive:{self.archive}")
        self.assertEqual(r.returncode, 0, r.stderr)
        info = json.loads(r.stdout)
        self.assertEqual(info["Digest"], self.index["manifests"][0]["digest"])
        labels = info["Labels"]
        self.assertEqual(labels["org.opencontainers.image.version"], self.version["version"])
        self.assertEqual(labels["org.opencontainers.image.revision"], self.version["gitCommit"])
        self.assertTrue(labels["org.opencontainers.image.source"].startswith("https://"), labels)
        self.assertEqual(info["Created"], self.version["buildDate"])
        tag = self.version["version"]
        self.assertEqual(self.index["manifests"][0]["annotations"]["org.opencontainers.image.ref.name"], tag)
        self.assertIn(f"ghcr.io/spotfit/spotfit:{tag}", self.report)
        # skopeo copy reads every blob and checks its digest and size.
        out = os.path.join(self.tmp, "copied")
        r = self.skopeo("copy", f"oci-archive:{self.archive}:{tag}", f"dir:{out}")
        self.assertEqual(r.returncode, 0, r.stderr)

        # The same copy refuses an archive whose layer lost a byte: the check above can fail.
        corrupt = os.path.join(self.tmp, "corrupt.tar")
        layer_name = "blobs/sha256/" + self.manifest["layers"][0]["digest"].split(":", 1)[1]
        with tarfile.open(self.archive) as src, tarfile.open(corrupt, "w") as dst:
            for m in src.getmembers():
                data = src.extractfile(m).read() if m.isfile() else None
                if m.name == layer_name:
                    data = data[:-1] + bytes([data[-1] ^ 0xFF])
                dst.addfile(m, io.BytesIO(data) if data is not None else None)
        r = self.skopeo("copy", f"oci-archive:{corrupt}:{tag}", f"dir:{os.path.join(self.tmp, 'corrupt')}")
        self.assertNotEqual(r.returncode, 0, "skopeo accepted a corrupted layer")
        self.assertIn("digest", r.stderr.lower())

    def test_config_runs_spotfit_as_nonroot(self):
        c = self.config["config"]
        self.assertEqual(c["Entrypoint"], ["/usr/bin/spotfit"])
        self.assertEqual(c["User"], "65532:65532")
        self.assertEqual(self.config["os"], "linux")
        self.assertEqual(self.config["created"], self.version["buildDate"])
        with tarfile.open(fileobj=io.BytesIO(self.layer_tar)) as tf:
            members = {m.name: m for m in tf.getmembers()}
            passwd = tf.extractfile(members["etc/passwd"]).read().decode()
        self.assertIn("nonroot:x:65532:65532:", passwd)
        self.assertIn("etc/ssl/certs/ca-certificates.crt", members)
        self.assertGreater(members["etc/ssl/certs/ca-certificates.crt"].size, 10000)
        for shell in ("bin/sh", "usr/bin/sh", "bin/bash", "usr/bin/bash"):
            self.assertNotIn(shell, members)
        self.assertEqual({m.uid for m in members.values()} - {0}, {65532})  # only /home/nonroot
        self.assertEqual(len({m.mtime for m in members.values()}), 1)

    def test_size_is_within_40_mib(self):
        self.assertLessEqual(len(self.layer_tar), 40 * MIB)
        self.assertRegex(self.report, r"size\s+\d+ bytes unpacked")

    def test_two_builds_give_the_same_digest(self):
        # A second "build directory" holding a copy of the same binary with another mtime, built under
        # another umask and time zone: nothing of that may reach the archive.
        other = os.path.join(self.tmp, "other-build")
        os.makedirs(other)
        shutil.copy(BINARY, os.path.join(other, "spotfit"))
        os.utime(os.path.join(other, "spotfit"), (1_000_000_000, 1_000_000_000))
        second = os.path.join(self.tmp, "second.tar")
        build(other, second, env={**os.environ, "TZ": "Asia/Kolkata"}, umask=0o077)
        with open(self.archive, "rb") as a, open(second, "rb") as b:
            self.assertEqual(sha256(a.read()), sha256(b.read()))

    def test_zone_files_are_shipped(self):
        # CronJob time zones and BudgetPolicy windows read /usr/share/zoneinfo (src/base/tz.cpp).
        with tarfile.open(fileobj=io.BytesIO(self.layer_tar)) as tf:
            members = {m.name: m for m in tf.getmembers()}
            ny = members.get("usr/share/zoneinfo/America/New_York")
            self.assertIsNotNone(ny)
            data = tf.extractfile(ny).read() if ny.isfile() else None
            if ny.issym():  # an alias: its target must be shipped too
                target = os.path.normpath(os.path.join("usr/share/zoneinfo/America", ny.linkname))
                data = tf.extractfile(members[target]).read()
            self.assertTrue(data.startswith(b"TZif"))
            self.assertIn("usr/share/zoneinfo/UTC", members)
            self.assertFalse(any(n.startswith("usr/share/zoneinfo/right/") for n in members))
            for name, m in members.items():  # every alias resolves inside the image
                if m.issym() and name.startswith("usr/share/zoneinfo/"):
                    target = os.path.normpath(os.path.join(os.path.dirname(name), m.linkname)) \
                        if not m.linkname.startswith("/") else m.linkname.lstrip("/")
                    self.assertTrue(target in members, f"{name} -> {m.linkname}")

    def test_rootfs_runs_version_and_serve_without_host_libraries(self):
        rootfs = os.path.join(self.tmp, "rootfs")
        os.makedirs(rootfs)
        with tarfile.open(fileobj=io.BytesIO(self.layer_tar)) as tf:
            tf.extractall(rootfs, numeric_owner=True)
        run = chroot_argv(rootfs)

        # Nothing from the host is reachable inside: its libraries and loader cache are absent.
        self.assertFalse(os.path.exists(os.path.join(rootfs, "etc/ld.so.cache")))
        self.assertFalse(os.path.exists(os.path.join(rootfs, "usr/lib/x86_64-linux-gnu/libboost_system.so")))
        v = subprocess.run(run + ["/usr/bin/spotfit", "version", "--output", "json"], capture_output=True,
                           text=True, timeout=30)
        self.assertEqual(v.returncode, 0, v.stderr)
        self.assertEqual(json.loads(v.stdout), self.version)

        c = subprocess.run(run + ["/usr/bin/spotfit", "certs", "--out", "/tmp/certs", "--dns", "localhost"],
                           capture_output=True, text=True, timeout=60)
        self.assertEqual(c.returncode, 0, c.stderr)
        log_path = os.path.join(self.tmp, "serve.log")
        with open(log_path, "w") as log:
            serve = subprocess.Popen(run + ["/usr/bin/spotfit", "serve", "--https-addr", "127.0.0.1:0",
                                            "--metrics-addr", "127.0.0.1:0", "--tls-cert-file", "/tmp/certs/tls.crt",
                                            "--tls-key-file", "/tmp/certs/tls.key"],
                                     stdout=log, stderr=log, env={"PATH": "/usr/bin"})
        try:
            ports = None
            deadline = time.monotonic() + 20
            while ports is None and time.monotonic() < deadline and serve.poll() is None:
                with open(log_path) as f:
                    m = re.search(r'"msg":"serving","httpsPort":(\d+),"metricsPort":(\d+)', f.read())
                if m:
                    ports = int(m.group(1)), int(m.group(2))
                else:
                    time.sleep(0.05)  # polling the child's log; the child's start-up is real time
            with open(log_path) as f:
                logs = f.read()
            self.assertIsNotNone(ports, logs)
            https_port, metrics_port = ports
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/healthz", timeout=5) as r:
                self.assertEqual(r.status, 200)
            with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
                metrics = r.read().decode()
            self.assertIn(f'git_commit="{self.version["gitCommit"]}"', metrics)
            self.assertRegex(metrics, r"spotfit_build_info\{[^}]*\} 1\n")
            # The HTTPS listener completes a handshake with the certificate made inside the image.
            ctx = ssl.create_default_context(cafile=os.path.join(rootfs, "tmp/certs/ca.crt"))
            with socket.create_connection(("127.0.0.1", https_port), timeout=5) as s:
                with ctx.wrap_socket(s, server_hostname="localhost") as tls:
                    self.assertEqual(tls.getpeercert()["subject"], ((("commonName", "localhost"),),))
            serve.send_signal(signal.SIGTERM)
            self.assertEqual(serve.wait(timeout=30), 0, logs)
        finally:
            if serve.poll() is None:
                serve.kill()
                serve.wait()


if __name__ == "__main__":
    unittest.main()

#!/usr/bin/env python3
"""Writes spotfit's OCI image as an image-layout archive (see scripts/build-image.sh for why by hand).

    build_image.py BINARY OUTPUT

The image is one layer: BINARY (stripped) at /usr/bin/spotfit, exactly the shared libraries `ldd` says it
loads (plus the dynamic loader) at the paths the loader looks for them, the Debian copyright file of each
package they come from, the host's CA bundle, Debian's zone files (/usr/share/zoneinfo), /etc/passwd and /etc/group with user 65532 (nonroot),
/etc/nsswitch.conf and /tmp. No shell. Every byte is a function of those inputs and of the build stamp
the binary reports (`spotfit version --output json`): tar entries are sorted, owned by 0:0 (the home by
65532), dated at the build date, with fixed modes; gzip carries no name and mtime 0; JSON is written with
sorted keys. File mtimes, the umask, the time zone and the wall clock do not matter, so two builds of the
same commit give the same digest.

Environment: SPOTFIT_IMAGE_NAME (default ghcr.io/spotfit/spotfit; the tag is the version) and
SPOTFIT_IMAGE_SOURCE (the org.opencontainers.image.source label).
"""

import calendar
import gzip
import hashlib
import io
import json
import os
import re
import subprocess
import sys
import tarfile

DEFAULT_NAME = "ghcr.io/spotfit/spotfit"
DEFAULT_SOURCE = "https://github.com/spotfit/spotfit"
MAX_UNCOMPRESSED = 40 * 1024 * 1024  # issue 14's target for the unpacked image

PASSWD = "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n"
GROUP = "root:x:0:\nnonroot:x:65532:\n"
# glibc >= 2.34 has the files and dns sources built in; no libnss_*.so is needed.
NSSWITCH = "passwd: files\ngroup: files\nhosts: files dns\n"
CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
# Time zones for CronJob schedules and BudgetPolicy windows (src/base/tz.cpp reads these TZif files); the
# posix/ and right/ trees are duplicates and leap-second variants the reader does not use.
ZONEINFO = "/usr/share/zoneinfo"
ZONEINFO_SKIP = {"posix", "right", "posixrules", "localtime"}  # localtime: a link to /etc/localtime


def die(message):
    print("build-image: " + message, file=sys.stderr)
    sys.exit(1)


def run(argv, **kwargs):
    try:
        return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs).stdout
    except FileNotFoundError:
        die(f"{argv[0]} is not installed")
    except subprocess.CalledProcessError as e:
        die(f"{' '.join(argv)} failed ({e.returncode}): {e.stderr.strip()}")


def shared_libraries(binary):
    """(path the loader opens, file on this host) for every library ldd resolves, and the loader."""
    libs = []
    env = dict(os.environ)
    env.pop("LD_LIBRARY_PATH", None)
    env.pop("LD_PRELOAD", None)
    for line in run(["ldd", binary], env=env).splitlines():
        line = line.strip()
        if "not found" in line:
            die(f"{binary} needs a library this host does not have: {line}")
        m = re.match(r"^(\S+) => (/\S+) \(0x[0-9a-f]+\)$", line)
        if m:
            libs.append((m.group(2), os.path.realpath(m.group(2))))
            continue
        m = re.match(r"^(/\S+) \(0x[0-9a-f]+\)$", line)  # the interpreter (PT_INTERP)
        if m:
            libs.append((m.group(1), os.path.realpath(m.group(1))))
            continue
        if line.startswith("linux-vdso") or line.startswith("linux-gate"):
            continue
        if line == "statically linked":
            continue
        die(f"unexpected ldd line: {line}")
    return sorted(set(libs))


def debian_package(path):
    """The Debian package owning path (tried as given and with /usr merged); None when dpkg does not know it."""
    candidates = [path]
    if path.startswith("/lib") and not path.startswith("/usr/"):
        candidates.append("/usr" + path)
    for candidate in candidates:
        try:
            out = subprocess.run(["dpkg-query", "-S", candidate], capture_output=True, text=True)
        except FileNotFoundError:
            return None
        if out.returncode == 0 and ":" in out.stdout:
            return out.stdout.split(":")[0].strip()
    return None


class Layer:
    """A root filesystem as a deterministic tar stream."""

    def __init__(self, mtime):
        self.mtime = mtime
        self.entries = {}  # path (no leading /) -> (TarInfo, bytes or None)

    def _info(self, path, kind, mode, uid=0, gid=0):
        info = tarfile.TarInfo(path)
        info.type = kind
        info.mode = mode
        info.uid, info.gid = uid, gid
        info.uname = info.gname = ""
        info.mtime = self.mtime
        return info

    def directory(self, path, mode=0o755, uid=0, gid=0):
        path = path.strip("/")
        parent = os.path.dirname(path)
        if parent and parent not in self.entries:
            self.directory(parent)
        if path not in self.entries:
            self.entries[path] = (self._info(path, tarfile.DIRTYPE, mode, uid, gid), None)

    def file(self, path, data, mode=0o644):
        path = path.strip("/")
        if path in self.entries:
            die(f"two files for /{path}")
        self.directory(os.path.dirname(path))
        info = self._info(path, tarfile.REGTYPE, mode)
        info.size = len(data)
        self.entries[path] = (info, data)

    def symlink(self, path, target):
        path = path.strip("/")
        if path in self.entries:
            die(f"two files for /{path}")
        self.directory(os.path.dirname(path))
        info = self._info(path, tarfile.SYMTYPE, 0o777)
        info.linkname = target
        self.entries[path] = (info, None)

    def tar(self):
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tf:
            for path in sorted(self.entries):
                info, data = self.entries[path]
                tf.addfile(info, io.BytesIO(data) if data is not None else None)
        return out.getvalue()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def add_zoneinfo(layer):
    """Debian's tzdata zone files (regular files and their alias symlinks, as installed)."""
    if not os.path.isfile(os.path.join(ZONEINFO, "UTC")):
        die(f"{ZONEINFO} is missing (Debian package tzdata)")
    for root, dirs, files in os.walk(ZONEINFO):
        rel = os.path.relpath(root, ZONEINFO)
        dirs[:] = sorted(d for d in dirs if not (rel == "." and d in ZONEINFO_SKIP))
        for name in sorted(files):
            if rel == "." and name in ZONEINFO_SKIP:
                continue
            path = os.path.join(root, name)
            if os.path.islink(path):
                layer.symlink(path, os.readlink(path))
            else:
                layer.file(path, read(path))


def stripped(binary):
    out = binary + ".image-stripped"
    run(["strip", "--strip-all", "-o", out, binary])
    data = read(out)
    os.unlink(out)
    return data


def dumps(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def main():
    if len(sys.argv) != 3:
        die("usage: build_image.py BINARY OUTPUT")
    binary, output = sys.argv[1], sys.argv[2]
    if not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        die(f"{binary} is not an executable file (build the spotfit target first)")
    info = json.loads(run([binary, "version", "--output", "json"]))
    m = re.match(r"^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)Z$", info["buildDate"])
    if not m:
        die(f"unexpected build date {info['buildDate']!r} from {binary} version")
    epoch = calendar.timegm(tuple(int(g) for g in m.groups()) + (0, 0, 0))
    arch = {"linux/amd64": "amd64", "linux/arm64": "arm64", "linux/386": "386", "linux/arm": "arm"}.get(
        info["platform"])
    if arch is None:
        die(f"unsupported platform {info['platform']}")

    layer = Layer(epoch)
    layer.file("usr/bin/spotfit", stripped(binary), 0o755)
    packages = set()
    for path, real in shared_libraries(binary):
        layer.file(path, read(real), 0o755)
        package = debian_package(path) or debian_package(real)
        if package is None:
            die(f"no Debian package owns {path}; cannot ship its copyright file")
        packages.add(package.split(",")[0])
    for package in sorted(packages):
        copyright_file = f"/usr/share/doc/{package}/copyright"
        if os.path.isfile(copyright_file):
            layer.file(copyright_file, read(copyright_file))
    if not os.path.isfile(CA_BUNDLE):
        die(f"{CA_BUNDLE} is missing (Debian package ca-certificates)")
    layer.file(CA_BUNDLE, read(CA_BUNDLE))
    add_zoneinfo(layer)
    if os.path.isfile("/usr/share/doc/tzdata/copyright") and "tzdata" not in packages:
        layer.file("/usr/share/doc/tzdata/copyright", read("/usr/share/doc/tzdata/copyright"))
    layer.file("etc/passwd", PASSWD.encode())
    layer.file("etc/group", GROUP.encode())
    layer.file("etc/nsswitch.conf", NSSWITCH.encode())
    layer.directory("tmp", 0o1777)
    layer.directory("home/nonroot", 0o755, 65532, 65532)
    layer.directory("root", 0o700)

    rootfs = layer.tar()
    if len(rootfs) > MAX_UNCOMPRESSED:
        die(f"the image's root filesystem is {len(rootfs)} bytes, over the {MAX_UNCOMPRESSED} byte target")
    compressed = gzip.compress(rootfs, compresslevel=9, mtime=0)

    name = os.environ.get("SPOTFIT_IMAGE_NAME", DEFAULT_NAME)
    tag = info["version"]
    created = info["buildDate"]
    labels = {
        "org.opencontainers.image.title": "spotfit",
        "org.opencontainers.image.description":
            "spotfit: admission webhook, scheduler extender, scaler and cost ledger for batch work on Kubernetes",
        "org.opencontainers.image.version": info["version"],
        "org.opencontainers.image.revision": info["gitCommit"],
        "org.opencontainers.image.source": os.environ.get("SPOTFIT_IMAGE_SOURCE", DEFAULT_SOURCE),
        "org.opencontainers.image.created": created,
    }
    config = dumps({
        "architecture": arch,
        "os": "linux",
        "created": created,
        "author": "spotfit",
        "config": {
            "User": "65532:65532",
            "Entrypoint": ["/usr/bin/spotfit"],
            "Cmd": ["version"],
            "Env": ["PATH=/usr/bin", "SSL_CERT_FILE=" + CA_BUNDLE],
            "WorkingDir": "/",
            "ExposedPorts": {"8443/tcp": {}, "8080/tcp": {}},
            "Labels": labels,
        },
        "rootfs": {"type": "layers", "diff_ids": [digest(rootfs)]},
        "history": [{"created": created, "created_by": "scripts/build-image.sh"}],
    })
    manifest = dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": digest(config),
                   "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": digest(compressed),
                    "size": len(compressed)}],
        "annotations": labels,
    })
    index = dumps({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": digest(manifest),
            "size": len(manifest),
            "platform": {"architecture": arch, "os": "linux"},
            # ref.name is the tag `oci-archive:FILE:TAG` selects; containerd's import names the image after
            # io.containerd.image.name.
            "annotations": {"org.opencontainers.image.ref.name": tag, "io.containerd.image.name": f"{name}:{tag}"},
        }],
    })

    archive = Layer(epoch)
    archive.file("oci-layout", dumps({"imageLayoutVersion": "1.0.0"}))
    archive.file("index.json", index)
    for blob in (config, manifest, compressed):
        archive.file("blobs/sha256/" + hashlib.sha256(blob).hexdigest(), blob)
    data = archive.tar()
    tmp = output + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, output)
    print(f"build-image: wrote {output}")
    print(f"  image      {name}:{tag}")
    print(f"  digest     {digest(manifest)}")
    print(f"  revision   {info['gitCommit']} ({info['gitTreeState']}), created {created}")
    print(f"  size       {len(rootfs)} bytes unpacked ({len(rootfs) / 1048576:.1f} MiB), "
          f"{len(compressed)} bytes compressed ({len(compressed) / 1048576:.1f} MiB)")
    print(f"  libraries  {len(shared_libraries(binary))} shared objects from {', '.join(sorted(packages))}")


if __name__ == "__main__":
    main()

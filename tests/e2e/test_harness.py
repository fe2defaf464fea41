"""The harness fails loudly and leaves nothing running: a component that dies during start-up is
reported with its log, everything already started is stopped, and a normal stop reaps every process."""

import os
import shutil
import socket
import stat
import tempfile
import unittest

from e2e_common import controlplane

BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")


def port_open(port):
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


class HarnessTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.real_bin = controlplane.build_control_plane()

    def bin_dir_with(self, name, script):
        """A copy of the binary directory (symlinks) where `name` is replaced by a shell script."""
        directory = tempfile.mkdtemp(prefix="spotfit-e2e-bin-")
        self.addCleanup(shutil.rmtree, directory, True)
        for binary in BINARIES:
            os.symlink(os.path.join(self.real_bin, binary), os.path.join(directory, binary))
        path = os.path.join(directory, name)
        os.unlink(path)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + script.replace("REAL", os.path.join(self.real_bin, name)) + "\n")
        os.chmod(path, stat.S_IRWXU)
        return directory

    def assert_start_fails(self, bin_dir, expected):
        cluster = controlplane.Cluster(bin_dir=bin_dir)
        with self.assertRaises(controlplane.ClusterError) as caught:
            cluster.start()
        self.addCleanup(shutil.rmtree, cluster.workdir, True)
        message = str(caught.exception)
        self.assertIn(expected, message)
        self.assertEqual(cluster.processes, [])
        return cluster, message

    def test_etcd_dying_at_start_is_reported_with_its_output(self):
        _, message = self.assert_start_fails(self.bin_dir_with("etcd", "echo etcd-broken-on-purpose; exit 3"),
                                             "etcd exited with 3 before etcd health")
        self.assertIn("etcd-broken-on-purpose", message)

    def test_apiserver_dying_at_start_stops_the_running_etcd(self):
        script = 'exec REAL --no-such-flag-for-e2e "$@"'
        cluster = controlplane.Cluster(bin_dir=self.bin_dir_with("kube-apiserver", script))
        started = []
        original_spawn = cluster._spawn

        def spawn(name, args):
            process = original_spawn(name, args)
            started.append(process)
            return process

        cluster._spawn = spawn
        with self.assertRaises(controlplane.ClusterError) as caught:
            cluster.start()
        self.addCleanup(shutil.rmtree, cluster.workdir, True)
        self.assertIn("kube-apiserver exited", str(caught.exception))
        self.assertIn("unknown flag: --no-such-flag-for-e2e", str(caught.exception))
        self.assertEqual([p.name for p in started], ["etcd", "kube-apiserver"])
        for process in started:
            self.assertFalse(process.alive(), process.name)

    def test_stop_reaps_every_component_and_frees_the_apiserver_port(self):
        cluster = controlplane.Cluster(bin_dir=self.real_bin, keep=False)
        cluster.start()
        try:
            processes = list(cluster.processes)
            self.assertEqual([p.name for p in processes],
                             ["etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"])
            self.assertTrue(port_open(cluster.apiserver_port))
            workdir = cluster.workdir
        finally:
            cluster.stop()
        for process in processes:
            self.assertFalse(process.alive(), process.name)
        self.assertFalse(port_open(cluster.apiserver_port))
        self.assertFalse(os.path.exists(workdir))


if __name__ == "__main__":
    unittest.main()

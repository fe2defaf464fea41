"""Shared set-up for the e2e scenarios: paths from ctest's environment and a per-class control plane."""

import os
import sys
import unittest
import uuid

SOURCE_DIR = os.environ.get("SPOTFIT_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
SPOTFIT_BINARY = os.environ.get("SPOTFIT_BINARY", "")
sys.path.insert(0, os.path.join(SOURCE_DIR, "scripts", "e2e"))

import controlplane  # noqa: E402
import kubeapi  # noqa: E402
import spotfitproc  # noqa: E402
from kubeapi import wait_for  # noqa: E402,F401

# Generous: a loaded 2-core CI machine runs the unit tests and this suite at the same time.
WAIT = float(os.environ.get("SPOTFIT_E2E_WAIT", "90"))


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def node_pool(name, instance_type, disruption=None, provider_parameters=None):
    """A NodePool object (the project's CRD) of one instance type, spot and on-demand, kwok provider."""
    provider = {"type": "kwok"}
    if provider_parameters:
        provider["parameters"] = provider_parameters
    spec = {"capacityTypes": ["spot", "on-demand"], "instanceTypes": [instance_type],
            "minNodes": 0, "maxNodes": 10, "provider": provider}
    if disruption:
        spec["disruption"] = disruption
    return {"apiVersion": "spotfit.io/v1alpha1", "kind": "SpotfitPool", "metadata": {"name": name}, "spec": spec}


def install_nodepool_crd(cluster):
    """Applies manifests/crd and waits until NodePool objects are served."""
    cluster.kubectl("apply", "-k", os.path.join(SOURCE_DIR, "manifests", "crd"))
    wait_for("spotfitpools to be served", lambda: cluster.kube.get("/apis/spotfit.io/v1alpha1/spotfitpools") is not None,
             WAIT)


def pool_nodes(kube, pool):
    """The Node objects of one node pool (label spotfit.io/node-pool)."""
    return kube.get("/api/v1/nodes", labelSelector=f"spotfit.io/node-pool={pool}")["items"]


class ClusterTestCase(unittest.TestCase):
    """Starts one control plane for the class; subclasses may set scheduler_extenders or override
    make_cluster(). The cluster is stopped by a class cleanup, which also runs when set-up fails."""

    cluster = None
    kube = None

    @classmethod
    def make_cluster(cls):
        return controlplane.Cluster()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.cluster = cls.make_cluster()
        cls.addClassCleanup(cls.cluster.stop)
        cls.cluster.start()
        cls.kube = cls.cluster.kube

    @classmethod
    def start_scaler(cls, config_text, pools, namespace="spotfit"):
        """The NodePool CRD, spotfit's namespace, the NodePool objects `pools`, and `spotfit serve --scaler`
        with config_text as cls.spotfit."""
        install_nodepool_crd(cls.cluster)
        cls.kube.create_namespace(namespace)
        for pool in pools:
            cls.kube.create("/apis/spotfit.io/v1alpha1/spotfitpools", pool)
        cls.spotfit = spotfitproc.Spotfit(cls.cluster, config_text=config_text, scaler=True)
        cls.spotfit.start()

    def dump_on_failure(self):
        """Adds the components' log tails to a failing test's output."""
        outcome = getattr(self, "_outcome", None)
        result = getattr(outcome, "result", None)
        if result is None or self.cluster is None:
            return
        if any(test is self for test, _ in result.failures + result.errors):
            print(self.cluster.report(), file=sys.stderr)

    def tearDown(self):
        self.dump_on_failure()
        super().tearDown()

"""The peer benchmark's short mode (bench/peers/run.py --short), so the harness keeps working: the same
compressed slice of examples/mixed-day.yaml (14h-14h30m at 30x: ~400 pods in 60 s) replayed against the real
Karpenter (kwok provider, default kube-scheduler), against spotfit's webhook beside it (the karpenter preset,
scaler off) and against spotfit alone (webhook, second scheduler with the extender, scaler with its kwok
provider), each on a fresh control plane with the kwok controller, and measured by the watch recorder.
Asserts that every Job completes in each scenario, every pod was bound and priced, and the recorder's figures
are present; prints the result lines (the figures are a benchmark's, not asserted)."""

import json
import os
import sys
import unittest

from e2e_common import SOURCE_DIR

sys.path.insert(0, os.path.join(SOURCE_DIR, "bench", "peers"))
import run as peers  # noqa: E402
import workload  # noqa: E402


class PeersShortTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.work = workload.load(os.path.join(SOURCE_DIR, "examples", "mixed-day.yaml"), peers.SHORT_COMPRESSION,
                                 window=peers.SHORT_WINDOW)
        cls.types = workload.catalog(cls.work["pools"])
        cls.knobs = peers.knobs_for(cls.work, peers.SHORT_COMPRESSION, short=True)
        cls.pods = sum(j["completions"] for j in cls.work["jobs"])

    def check(self, scenario):
        # ctest holds the e2e lock (RESOURCE_LOCK) and callers wrap ctest in /tmp/spotfit-e2e.lock: take none.
        result = peers.run_once(scenario, self.work, self.types, self.knobs, sys.stderr, None)
        print(json.dumps(result), file=sys.stderr)
        self.assertEqual(result["jobs_unfinished"], 0, result)
        self.assertGreaterEqual(result["pods_succeeded"], self.pods, result)
        self.assertEqual(result["pods_never_bound"], 0, result)
        self.assertEqual(result["unpriced_nodes"], [], result)
        self.assertGreater(result["cost_usd"], 0, result)
        self.assertGreater(result["cpu_allocation"], 0, result)
        self.assertIsNotNone(result["pending_p95_s"], result)
        self.assertIsNotNone(result["makespan_s"], result)
        return result

    def test_karpenter(self):
        self.check("karpenter")

    def test_coexist(self):
        self.check("coexist")

    def test_spotfit(self):
        self.check("spotfit")


if __name__ == "__main__":
    unittest.main()

#!/bin/bash
# ctest peers_simulation: the peer benchmark's short workload, written as a Simulation by to_simulation.py,
# runs under `spotfit simulate` with the karpenter and spotfit strategies and every workflow completes.
set -euo pipefail
spotfit=$1
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 "$here/to_simulation.py" --short >"$tmp/sim.yaml"
"$spotfit" simulate -f "$tmp/sim.yaml" --strategies karpenter,karpenter-dnd,spotfit -o json >"$tmp/out.json"
python3 - "$tmp/out.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
rows = {s["strategy"]: s for s in d["strategies"]}
assert set(rows) == {"karpenter", "karpenter-dnd", "spotfit"}, rows.keys()
for name, s in rows.items():
    assert s["workflows"] > 0 and s["workflowsCompleted"] == s["workflows"], (name, s["workflowsCompleted"])
    assert s["tasksCompleted"] == s["tasks"], (name, s["tasksCompleted"], s["tasks"])
    assert s["totalCostUsd"] > 0, name
print({n: round(s["totalCostUsd"], 4) for n, s in rows.items()})
PY

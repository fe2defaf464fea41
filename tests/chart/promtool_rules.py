#!/usr/bin/env python3
"""`promtool check rules` on the rule groups of manifests/monitoring/prometheusrule.yaml (a PrometheusRule
object; promtool reads its `spec`), then `promtool test rules tests/chart/alerts_test.yaml` on them.
promtool is Debian's prometheus package (scripts/install-deps.sh); without it this test fails."""

import os
import shutil
import subprocess
import sys
import tempfile

source = sys.argv[1]
promtool = shutil.which("promtool")
if not promtool:
    sys.exit("promtool not found: scripts/install-deps.sh installs it (Debian package prometheus)")
with open(os.path.join(source, "manifests", "monitoring", "prometheusrule.yaml")) as f:
    text = f.read()
marker = "\nspec:\n"
if marker not in text:
    sys.exit("prometheusrule.yaml has no top-level spec")
# The spec's keys are indented by two spaces: de-indent them to a rules file.
spec = text[text.index(marker) + len(marker):]
rules = "\n".join(line[2:] if line.startswith("  ") else line for line in spec.splitlines()) + "\n"
with tempfile.TemporaryDirectory(prefix="spotfit-rules-") as work:
    with open(os.path.join(work, "rules.yaml"), "w") as f:
        f.write(rules)
    shutil.copy(os.path.join(source, "tests", "chart", "alerts_test.yaml"), work)
    for args in (["check", "rules", "rules.yaml"], ["test", "rules", "alerts_test.yaml"]):
        result = subprocess.run([promtool, *args], cwd=work, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            sys.exit(f"promtool {' '.join(args)} failed ({result.returncode})")

#!/usr/bin/env python3
"""No test object but tests/test_paths.cpp's may embed the checkout's or the build's path in a -D definition
(tests/test_paths.hpp): such objects differ per checkout, so ccache cannot share them between worktrees.
Reads the build's compile_commands.json (CMAKE_EXPORT_COMPILE_COMMANDS, on in the top CMakeLists.txt).
Usage: check_test_objects.py BUILD_DIR SOURCE_DIR"""
import json
import os
import shlex
import sys


def main():
    build, source = (os.path.realpath(p) for p in sys.argv[1:3])
    db = os.path.join(build, "compile_commands.json")
    with open(db, encoding="utf-8") as f:
        entries = json.load(f)
    tests_dir = os.path.join(source, "tests") + os.sep
    allowed = os.path.join(source, "tests", "test_paths.cpp")
    checked, bad = 0, []
    for e in entries:
        src = os.path.realpath(os.path.join(e["directory"], e["file"]))
        if not src.startswith(tests_dir) or src == allowed:
            continue
        checked += 1
        args = e["arguments"] if "arguments" in e else shlex.split(e["command"])
        for i, a in enumerate(args):
            value = a[2:] if a.startswith("-D") else (args[i + 1] if a == "-D" and i + 1 < len(args) else None)
            if value is not None and (source in value or build in value):
                bad.append(f"{os.path.relpath(src, source)}: {a if a != '-D' else '-D ' + value}")
    if checked < 10:
        print(f"only {checked} test objects in {db}: is the build configured with the tests?")
        return 1
    for b in bad:
        print("checkout path in a test object's definitions:", b)
    print(f"{checked} test objects checked, {len(bad)} with the checkout's path")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())

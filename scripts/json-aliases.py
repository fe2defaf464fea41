#!/usr/bin/env python3
"""Rewrites direct spellings of RapidJSON's DOM and writer types to spotfit's aliases (src/kube/json.hpp),
whose allocators throw std::bad_alloc instead of returning NULL (issue 15).

Idempotent: run it from the repository root after any merge; it only touches tracked C++ files under src/,
tests/ and bench/ that still spell rapidjson::Value, ::Document, ::StringBuffer, ::Writer, ::PrettyWriter,
::Reader, ::Pointer or Document::AllocatorType, adds #include "kube/json.hpp" where it is missing, and runs
clang-format-14 -i on the files it changed. Prints the files it changed.

    python3 scripts/json-aliases.py
"""
import re
import subprocess
import sys

NS = "spotfit::kube::json::"
DEFINER = "src/kube/json.hpp"

RULES = [
    (re.compile(r"rapidjson::(Writer|PrettyWriter)<\s*rapidjson::StringBuffer\s*>"), NS + r"\1<>"),
    (re.compile(r"rapidjson::Document::AllocatorType\b"), NS + "Allocator"),
    # kube::json::Document::AllocatorType, json::Document::AllocatorType -> <same namespace>::Allocator
    (re.compile(r"\b((?:\w+::)*json)::Document::AllocatorType\b"), r"\1::Allocator"),
    (re.compile(r"rapidjson::(Value|Document|StringBuffer|Reader|Pointer)\b(?!\s*::)"), NS + r"\1"),
    (re.compile(r"rapidjson::(Writer|PrettyWriter)<"), NS + r"\1<"),
]
INCLUDE = '#include "kube/json.hpp"'


def add_include(text: str) -> str:
    if INCLUDE in text:
        return text
    lines = text.split("\n")
    last = None
    for i, line in enumerate(lines):
        if line.startswith('#include "'):
            last = i
    if last is None:
        for i, line in enumerate(lines):
            if line.startswith("#include"):
                last = i
    if last is None:
        return INCLUDE + "\n" + text
    lines.insert(last + 1, INCLUDE)
    return "\n".join(lines)


def main() -> int:
    files = subprocess.run(
        ["git", "ls-files", "--", "src", "tests", "bench"], check=True, capture_output=True, text=True
    ).stdout.split()
    changed = []
    for path in files:
        if not path.endswith((".cpp", ".hpp", ".h", ".cc")) or path == DEFINER:
            continue
        with open(path, encoding="utf-8") as f:
            text = f.read()
        out = text
        for pattern, repl in RULES:
            out = pattern.sub(repl, out)
        if out == text:
            continue
        out = add_include(out)
        with open(path, "w", encoding="utf-8") as f:
            f.write(out)
        changed.append(path)
    if changed:
        subprocess.run(["clang-format-14", "-i", *changed], check=True)
    for path in changed:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())

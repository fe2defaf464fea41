#!/usr/bin/env bash
# clang-format check (ctest `clang_format`): every tracked C++ file must match .clang-format, except the
# files in scripts/format-pending.txt, which predate the check and are reformatted one module at a time.
# The list only shrinks: a pending file that is already clean fails the check until it is taken off.
#
#   bash scripts/check-format.sh            # check
#   bash scripts/check-format.sh --fix F..  # reformat files and take them off the pending list
set -uo pipefail
cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format-14}
command -v "$cf" >/dev/null || { echo "check-format: $cf not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
pending=scripts/format-pending.txt
if [ "${1:-}" = --fix ]; then
  shift
  for f in "$@"; do
    "$cf" -i "$f" && sed -i "\#^$f\$#d" "$pending"
  done
  exit 0
fi
status=0
checked=0
while IFS= read -r f; do
  if grep -qxF "$f" "$pending"; then
    if "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
      echo "check-format: $f is clean now: take it off $pending"
      status=1
    fi
    continue
  fi
  checked=$((checked + 1))
  if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "check-format: $f is not clang-format clean (run: $cf -i $f)"
    status=1
  fi
done < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc')
while IFS= read -r f; do
  [ -z "$f" ] || [ -e "$f" ] || { echo "check-format: $pending names $f, which does not exist"; status=1; }
done < "$pending"
echo "check-format: $checked files clean, $(grep -c . "$pending") pending in $pending"
exit $status

#!/usr/bin/env bash
# clang-format check (ctest `clang_format`): every tracked C++ file must match .clang-format.
#
#   bash scripts/check-format.sh            # check
#   bash scripts/check-format.sh --fix F..  # reformat the given files
set -uo pipefail
cd "$(dirname "$0")/.."
cf=${CLANG_FORMAT:-clang-format-14}
command -v "$cf" >/dev/null || { echo "check-format: $cf not found (scripts/install-deps.sh installs it)" >&2; exit 1; }
if [ "${1:-}" = --fix ]; then
  shift
  exec "$cf" -i "$@"
fi
status=0
checked=0
while IFS= read -r f; do
  checked=$((checked + 1))
  if ! "$cf" --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "check-format: $f is not clang-format clean (run: $cf -i $f)"
    status=1
  fi
done < <(git ls-files '*.cpp' '*.hpp' '*.h' '*.cc')
echo "check-format: $checked files checked"
exit $status

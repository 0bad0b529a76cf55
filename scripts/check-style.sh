#!/usr/bin/env bash
# Checks that every tracked C source and header is formatted as .clang-format
# says. Usage: scripts/check-style.sh [clang-format] [--fix]
set -euo pipefail
cd "$(dirname "$0")/.."
formatter=${1:-clang-format}
mode=--dry-run
if [ "${2:-}" = "--fix" ]; then
  mode=-i
fi
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './build/*')
if [ "${#files[@]}" -eq 0 ]; then
  echo "check-style: no C files"
  exit 0
fi
if [ "$mode" = "-i" ]; then
  "$formatter" -i "${files[@]}"
  exit 0
fi
"$formatter" --dry-run -Werror "${files[@]}"
echo "check-style: ${#files[@]} files formatted as .clang-format says"

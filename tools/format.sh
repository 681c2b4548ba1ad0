#!/usr/bin/env bash
# Formats every C++ file of ours with the repo's .clang-format; --check changes nothing and
# fails listing the files that differ (CI).
set -euo pipefail
cd "$(dirname "$0")/.."
clang_format=$(command -v clang-format-14 || command -v clang-format)
mapfile -t files < <(git ls-files -co --exclude-standard -- '*.h' '*.cc' | grep -v '^build')
if [ "${1:-}" = "--check" ]; then
    bad=0
    for f in "${files[@]}"; do
        if ! "$clang_format" --style=file "$f" | cmp -s - "$f"; then
            echo "format: $f differs from .clang-format (run tools/format.sh)" >&2
            bad=1
        fi
    done
    exit $bad
fi
"$clang_format" --style=file -i "${files[@]}"

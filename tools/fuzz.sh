#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, -DTB_FUZZ=ON, ASan+UBSan) in build-fuzz/ and runs each
# for the given time from its seed corpus in tests/fuzz/corpus/<target>/. New inputs go to a
# scratch directory, so the repo's corpus changes only when someone copies a finding in.
#   tools/fuzz.sh [--seconds N] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
bash tools/install-deps.sh
mkdir -p build-fuzz
CC=clang-14 CXX=clang++-14 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTB_FUZZ=ON -DTB_TESTS=OFF -DTB_SANITIZE=address,undefined >build-fuzz/configure.log 2>&1 || {
    cat build-fuzz/configure.log >&2
    exit 1
}
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(ls tests/fuzz/corpus)
fi
# Only the fuzz targets (and the codec they link), not every tool of the tree.
cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
    echo "fuzz: $t for ${seconds}s"
    mkdir -p "$scratch/$t"
    build-fuzz/bin/"fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$scratch/$t-" "$scratch/$t" "tests/fuzz/corpus/$t" \
        >"$scratch/$t.log" 2>&1 || {
        tail -n 60 "$scratch/$t.log" >&2
        mkdir -p build-fuzz/crashes && cp "$scratch/$t"-* build-fuzz/crashes/ 2>/dev/null || true
        echo "fuzz: $t failed; reproducer in build-fuzz/crashes/" >&2
        exit 1
    }
    grep -E '^stat::number_of_executed_units' "$scratch/$t.log" || true
done

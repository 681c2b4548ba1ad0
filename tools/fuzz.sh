#!/usr/bin/env bash
# Builds the libFuzzer targets (clang-14, -DTB_FUZZ=ON, ASan+UBSan) in build-fuzz/ (or
# --build-dir) and runs each for the given time from its seed corpus in tests/fuzz/corpus/<target>/,
# which also holds every input that once crashed it (replayed first, so they are regression tests).
# New inputs go to a scratch directory, so the repo's corpus changes only when someone copies a
# finding in. Targets: frame body envelope login game rules (default: all, one after another).
#   tools/fuzz.sh [--seconds N] [--build-dir DIR] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=30
build=build-fuzz
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds=$2; shift 2 ;;
        --build-dir) build=$2; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) targets+=("$1"); shift ;;
    esac
done
bash tools/install-deps.sh
mkdir -p "$build"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTB_FUZZ=ON -DTB_TESTS=OFF -DTB_SANITIZE=address,undefined >"$build/configure.log" 2>&1 || {
    cat "$build/configure.log" >&2
    exit 1
}
if [ ${#targets[@]} -eq 0 ]; then
    mapfile -t targets < <(ls tests/fuzz/corpus)
fi
# Only the fuzz targets (and the libraries they link), not every tool of the tree.
cmake --build "$build" -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
for t in "${targets[@]}"; do
    echo "fuzz: $t for ${seconds}s"
    mkdir -p "$scratch/$t"
    # CPU seconds beside the wall time: on a shared machine an hour of wall time can be much
    # less fuzzing (bash's `time` reports the fuzzer's user and system time).
    TIMEFORMAT="fuzz: $t wall %0R s, cpu %0U s user + %0S s system"
    time "$build/bin/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
        -artifact_prefix="$scratch/$t-" "$scratch/$t" "tests/fuzz/corpus/$t" \
        >"$scratch/$t.log" 2>&1 || {
        tail -n 60 "$scratch/$t.log" >&2
        mkdir -p "$build/crashes" && cp "$scratch/$t"-* "$build/crashes/" 2>/dev/null || true
        echo "fuzz: $t failed; reproducer in $build/crashes/ (run it: $build/bin/fuzz_$t FILE)" >&2
        exit 1
    }
    # The final "#N DONE cov: ft:" line: executions and coverage (edges, features).
    grep -E '^#[0-9]+[[:space:]]+DONE|^stat::number_of_executed_units' "$scratch/$t.log" || true
done

#!/usr/bin/env bash
# The test command (README): installs what is missing, configures, builds and runs the whole
# test suite with CTest. Exits non-zero on any failure.
#
#   tools/test.sh [--build-dir DIR] [--sanitize address,undefined|thread] [--werror]
#                 [--label unit|integration] [--jobs N]
set -euo pipefail
cd "$(dirname "$0")/.."

build_dir=build
sanitize=""
werror=OFF
label=""
jobs=$(nproc)
while [ $# -gt 0 ]; do
    case "$1" in
        --build-dir) build_dir=$2; shift 2 ;;
        --sanitize) sanitize=$2; shift 2 ;;
        --werror) werror=ON; shift ;;
        --label) label=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        -h|--help) sed -n '2,7p' "$0"; exit 0 ;;
        *) echo "test.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done

bash tools/install-deps.sh
mkdir -p "$build_dir"

cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DTB_SANITIZE="$sanitize" -DTB_WERROR="$werror" >"$build_dir/configure.log" 2>&1 || {
    cat "$build_dir/configure.log" >&2
    exit 1
}
cmake --build "$build_dir" -j"$jobs"

ctest_args=(--test-dir "$build_dir" --output-on-failure -j"$jobs" --no-tests=error)
[ -n "$label" ] && ctest_args+=(-L "$label")
if [ -n "$sanitize" ]; then
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
fi
ctest "${ctest_args[@]}"

#!/usr/bin/env bash
# The README's run command in CI: tools/demo.sh --for 30 on a private var dir and base port with
# the binaries of this build. It passes only if bots completed games of both kinds and every
# service was on the bus; afterwards nothing it started may still run.
#
#   tests/integration/demo_test.sh BIN_DIR
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
bin_dir=$(cd "$1" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

fail() { echo "FAIL: $*" >&2; exit 1; }

var=$(mktemp -d "${TMPDIR:-/tmp}/tb-demo-test.XXXXXX")
cleanup() {
    local rc=$?
    TB_BIN=$bin_dir bash "$root/tools/cluster.sh" down --var "$var" >/dev/null 2>&1 || true
    rm -rf "$var"
    exit $rc
}
trap cleanup EXIT

# shellcheck source=tests/integration/ports.sh
. "$root/tests/integration/ports.sh"
pick_base_port 10 && base=$TB_BASE_PORT || base=""
[ -n "$base" ] || fail "no free base port"

TB_BIN=$bin_dir bash "$root/tools/demo.sh" --for 30 --bots 12 --think-ms 100 \
    --base-port "$base" --var "$var" || fail "demo.sh --for 30 exited $?"

# Nothing of the demo is left running in its var dir.
for pid in $(pgrep -f -- "$var" || true); do
    fail "process $pid still runs: $(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null)"
done
echo "ok: demo.sh --for 30 held and left nothing running"

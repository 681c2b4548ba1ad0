#!/usr/bin/env bash
# tb-play end to end through a pseudo-terminal: a cluster of its own (tools/cluster.sh, one
# gomoku and one landlords game node, robots quick to sit and to think), then tb-play driven by
# tests/integration/play_driver.py like a person at a terminal: a whole gomoku game against the
# robot (with the connection dropped and tb-play reconnecting in the middle, where `ss -K` may
# kill sockets), then a whole Dou Dizhu round against two robots. Each must end with its
# "Game over:" line before a deadline, and tb-play must quit with exit status 0.
#
#   tests/integration/play_test.sh BIN_DIR
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
bin_dir=$(cd "$1" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cluster=$root/tools/cluster.sh
driver=$root/tests/integration/play_driver.py
export TB_BIN=$bin_dir
# Robots fill a person's table after 300 ms and think 50-100 ms (game.toml [robot], inherited
# by the nodes cluster.sh starts).
export TB_ROBOT_WAIT_MS=300 TB_ROBOT_THINK_MIN_MS=50 TB_ROBOT_THINK_MAX_MS=100

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

[ -x "$bin_dir/tb-play" ] || fail "$bin_dir/tb-play is missing (build the tb-play target)"
command -v python3 >/dev/null || fail "python3 is needed for the pseudo-terminal driver"

var=$(mktemp -d "${TMPDIR:-/tmp}/tb-play-test.XXXXXX")
cleanup() {
    local rc=$?
    if [ $rc -ne 0 ]; then
        for t in "$var"/*.transcript; do
            [ -f "$t" ] || continue
            echo "--- $t (tail) ---" >&2
            tail -n 60 "$t" >&2
        done
        for log in "$var"/*.jsonl; do
            [ -f "$log" ] || continue
            echo "--- $log (tail) ---" >&2
            tail -n 15 "$log" >&2
        done
        echo "--- cluster.sh status ---" >&2
        bash "$cluster" status --var "$var" >&2 || true
        for log in "$var"/log/*.log; do
            [ -f "$log" ] || continue
            echo "--- $log (tail) ---" >&2
            tail -n 20 "$log" >&2
        done
    fi
    bash "$cluster" down --var "$var" >/dev/null 2>&1 || true
    rm -rf "$var"
    exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# shellcheck source=tests/integration/ports.sh
. "$root/tests/integration/ports.sh"
pick_base_port 25 && base=$TB_BASE_PORT || base=""
[ -n "$base" ] || fail "no free base port"
proxy=127.0.0.1:$((base + 3333))
echo "var dir $var, base port $base"

out=$(bash "$cluster" up --base-port "$base" --var "$var" --game gomoku:1 --game landlords:1 2>&1) ||
    { printf '%s\n' "$out" >&2; fail "cluster.sh up failed"; }
[ "$(tail -n 1 <<<"$out")" = "proxy $proxy" ] || fail "cluster.sh up's last line: $(tail -n 1 <<<"$out")"
ok "cluster up: $proxy, game.gomoku.1 and game.landlords.1"

# Accounts unique per run, so a kept var dir or a parallel run never seats us somewhere else.
tag=$$

python3 "$driver" --bin "$bin_dir/tb-play" --proxy "$proxy" --account "play_g$tag" \
    --game gomoku --games 1 --timeout 120 --drop-after-moves 2 \
    --transcript "$var/gomoku.transcript" --json-log "$var/gomoku.jsonl" ||
    fail "gomoku through the pseudo-terminal"
ok "gomoku: a whole game against the robot, typed through a pseudo-terminal"

# The JSON log has every frame, with the device account's credential masked.
grep -q '"Machine":"\*\*\*"' "$var/gomoku.jsonl" || fail "FastRegister's Machine not masked in the JSON log"
! grep -q 'tb-play-[0-9a-f]\{16\}' "$var/gomoku.jsonl" || fail "the machine id leaked into the JSON log"
ok "the JSON log holds the frames, the machine id masked"

python3 "$driver" --bin "$bin_dir/tb-play" --proxy "$proxy" --account "play_l$tag" \
    --game landlords --games 1 --timeout 120 \
    --transcript "$var/landlords.transcript" --json-log "$var/landlords.jsonl" ||
    fail "landlords through the pseudo-terminal"
ok "landlords: a whole round against two robots, typed through a pseudo-terminal"

echo "PASS"

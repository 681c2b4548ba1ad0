#!/usr/bin/env bash
# The README's run command: from a fresh clone to robots playing, in one command.
#
#   tools/demo.sh [--for N] [--bots N] [--think-ms MS] [--base-port P] [--var DIR]
#
# Installs what is missing (tools/install-deps.sh), builds (build/), starts a whole cluster
# through tools/cluster.sh (private MariaDB and Redis under the var dir, data kept between runs;
# tb-manager, tb-db, tb-login, two gomoku game nodes, one landlords game node, tb-proxy), then
# tb-bot players of both games. On a terminal it shows `tb-mon top`; otherwise a status line
# every few seconds. It prints how to join with tb-play. Ctrl-C stops everything it started, in
# order (bots, proxy, login, games, db, manager, Redis, MariaDB), leaving no process behind.
#
# --for N        run N seconds once everything is up, then check that the bots completed at
#                least one game of each kind and that `tb-mon services --json` lists every
#                service; stop everything; exit 0 only if all of that held.
# --bots N       bots per game (default 24; landlords rounds need 3, gomoku games 2).
# --think-ms MS  bots' pause before each action (default 400: games a person can follow).
# --base-port P  the cluster's base port (default 5555: clients on P+3333 = 8888).
# --var DIR      data, logs and pids (default var/ at the repository root).
# TB_BIN=DIR uses binaries from DIR and skips the install and build steps.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly root
readonly me="demo.sh"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
die() { echo "$me: $*" >&2; exit 1; }
bad_usage() { echo "$me: $* (see --help)" >&2; exit 2; }
note() { echo "$me: $*" >&2; }

run_for=0
bots=24
think_ms=400
base_port=5555
var_dir=$root/var
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --for|--bots|--think-ms|--base-port|--var)
            [ $# -ge 2 ] || bad_usage "$1 needs a value"
            case "$1" in
                --for) run_for=$2 ;;
                --bots) bots=$2 ;;
                --think-ms) think_ms=$2 ;;
                --base-port) base_port=$2 ;;
                --var) var_dir=$2 ;;
            esac
            shift 2
            ;;
        *) bad_usage "unknown argument '$1'" ;;
    esac
done
[[ $run_for =~ ^[0-9]+$ ]] || bad_usage "--for '$run_for': a number of seconds"
[[ $bots =~ ^[0-9]+$ ]] && [ "$bots" -ge 3 ] || bad_usage "--bots '$bots': at least 3"
[[ $think_ms =~ ^[0-9]+$ ]] || bad_usage "--think-ms '$think_ms': milliseconds"
[[ $base_port =~ ^[0-9]+$ ]] || bad_usage "--base-port '$base_port': a port number"

# ---------------------------------------------------------------------------------------------
# Install and build

if [ -n "${TB_BIN:-}" ]; then
    bin_dir=$(cd "$TB_BIN" && pwd)
else
    bash "$root/tools/install-deps.sh"
    bin_dir=$root/build/bin
    note "building (build/)"
    cmake -S "$root" -B "$root/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
    cmake --build "$root/build" -j"$(nproc)" --target tb-manager tb-db tb-login tb-game \
        tb-proxy tb-mon tb-ctl tb-bot tb-play >/dev/null
fi
export TB_BIN=$bin_dir
for b in tb-manager tb-db tb-login tb-game tb-proxy tb-mon tb-bot; do
    [ -x "$bin_dir/$b" ] || die "$bin_dir/$b is missing: build first (cmake --build build)"
done

# ---------------------------------------------------------------------------------------------
# Start, and stop everything on the way out

cluster=(bash "$root/tools/cluster.sh")
manager="tcp://127.0.0.1:$base_port"
proxy_port=$((base_port + 3333))
mkdir -p "$var_dir/log"
bot_pids=()
stopping=0

stop_all() {
    [ "$stopping" -eq 0 ] || return 0
    stopping=1
    local pid
    for pid in "${bot_pids[@]}"; do kill -INT "$pid" 2>/dev/null || true; done
    for pid in "${bot_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
    note "stopping the cluster"
    "${cluster[@]}" down --var "$var_dir" >&2 || true
}
on_exit() {
    local rc=$?
    stop_all
    exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT TERM

note "starting the cluster (var dir $var_dir, base port $base_port)"
# Robots take empty chairs after a second, so a lone person (tb-play) need not wait.
TB_ROBOT_WAIT_MS=${TB_ROBOT_WAIT_MS:-1000} "${cluster[@]}" up --var "$var_dir" \
    --base-port "$base_port" --game gomoku:1:2 --game landlords:1 >/dev/null

# The bots: accounts of this run, so every run starts them with a fresh balance.
run_id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
bot_duration=${run_for}
[ "$run_for" -gt 0 ] || bot_duration=31536000  # "until Ctrl-C"
for kind in gomoku landlords; do
    "$bin_dir/tb-bot" --proxy "127.0.0.1:$proxy_port" --mode "$kind" --players "$bots" \
        --duration "$bot_duration" --think-ms "$think_ms" --json \
        --account-prefix "demo${run_id}${kind:0:1}_" \
        >"$var_dir/log/demo-bot-$kind.json" 2>"$var_dir/log/demo-bot-$kind.log" &
    bot_pids+=($!)
done

cat >&2 <<EOF
$me: everything is up: $((bots * 2)) bots are playing gomoku and Dou Dizhu.
$me: play yourself:   $bin_dir/tb-play --proxy 127.0.0.1:$proxy_port --account you --game gomoku
$me:                  $bin_dir/tb-play --proxy 127.0.0.1:$proxy_port --account you --game landlords
$me: watch the bus:   $bin_dir/tb-mon --manager $manager top
$me: logs in $var_dir/log; Ctrl-C stops everything.
EOF

# One line of what the bus carries (services, workers, load).
status_line() {
    local json
    json=$("$bin_dir/tb-mon" --manager "$manager" services --json 2>/dev/null) || {
        echo "$(date +%T) the manager does not answer"
        return
    }
    python3 - "$json" <<'PY' 2>/dev/null || echo "$(date +%T) $json"
import json, sys, time
rows = json.loads(sys.argv[1])
parts = [f"{r['service']} x{r['workers']} load {r.get('load', 0)}" for r in rows]
print(time.strftime("%H:%M:%S"), " | ".join(parts))
PY
}

if [ "$run_for" -eq 0 ]; then
    if [ -t 1 ]; then
        "$bin_dir/tb-mon" --manager "$manager" top || true
    else
        while :; do
            status_line
            sleep 5
        done
    fi
    exit 0
fi

# --for N: run, then check.
deadline=$((SECONDS + run_for))
while [ $SECONDS -lt $deadline ]; do
    status_line
    pause=$((deadline - SECONDS))
    [ "$pause" -le 5 ] || pause=5
    [ "$pause" -le 0 ] || sleep "$pause"
done
services_json=$("$bin_dir/tb-mon" --manager "$manager" services --json 2>/dev/null) || services_json=""
for pid in "${bot_pids[@]}"; do wait "$pid" || true; done
bot_pids=()

failed=0
for kind in gomoku landlords; do
    games=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("games", 0))' \
        "$var_dir/log/demo-bot-$kind.json" 2>/dev/null || echo 0)
    if [ "${games:-0}" -ge 1 ]; then
        note "ok: bots completed $games $kind games"
    else
        note "FAIL: no $kind game completed (see $var_dir/log/demo-bot-$kind.log)"
        failed=1
    fi
done
for service in login db proxy game.gomoku.1 game.landlords.1; do
    if [[ $services_json == *"\"service\":\"$service\""* ]]; then
        note "ok: tb-mon lists $service"
    else
        note "FAIL: tb-mon services does not list $service"
        failed=1
    fi
done
stop_all
[ "$failed" -eq 0 ] || die "the demo did not hold"
note "the demo held for $run_for s"

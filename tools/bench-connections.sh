#!/usr/bin/env bash
# Connections benchmark (docs/BENCHMARKS.md "Connections"): one tb-proxy holding N logged-in,
# idle clients. Starts its own cluster (tools/cluster.sh, own base port and var dir), runs
# `tb-bot --mode idle`, and reports the proxy's peak RSS (VmHWM) and its CPU at rest.
#   tools/bench-connections.sh [--players N (10000)] [--base-port P (26000)] [--json]
set -euo pipefail
cd "$(dirname "$0")/.."
players=10000
base=26000
json=0
while [ $# -gt 0 ]; do
    case "$1" in
        --players) players=$2; shift 2 ;;
        --base-port) base=$2; shift 2 ;;
        --json) json=1; shift ;;
        -h|--help) sed -n '2,5p' "$0"; exit 0 ;;
        *) echo "bench-connections: unknown argument '$1'" >&2; exit 2 ;;
    esac
done
bin=${TB_BIN:-build/bin}
var=$(mktemp -d /tmp/tb-bench-conn.XXXXXX)
cleanup() { tools/cluster.sh down --var "$var" >/dev/null 2>&1 || true; rm -rf "$var"; }
trap cleanup EXIT

addr=$(tools/cluster.sh up --base-port "$base" --var "$var" 2>/dev/null | tail -n 1)
port=${addr##*:}
proxy_pid=$(cat "$var/run/proxy-1.pid" 2>/dev/null || pgrep -f "tb-proxy.*node.base_port=$base" | head -n 1)
# Hold the connections long enough for every login plus a 10 s measurement at rest.
hold=$(( players / 500 + 40 ))
"$bin/tb-bot" --proxy "127.0.0.1:$port" --mode idle --players "$players" --duration "$hold" \
    --json >"$var/bot.json" 2>"$var/bot.err" &
bot=$!
# Wait until the proxy reports every session in its heartbeat, then measure.
for _ in $(seq 1 $(( hold - 12 ))); do
    load=$("$bin/tb-mon" --manager "tcp://127.0.0.1:$base" workers proxy --json 2>/dev/null |
           python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["load"])' 2>/dev/null || echo 0)
    [ "$load" -ge "$players" ] && break
    sleep 1
done
ticks() { awk '{print $14 + $15}' "/proc/$proxy_pid/stat"; }
t0=$(ticks); sleep 10; t1=$(ticks)
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$proxy_pid/status")
wait "$bot" || true
hz=$(getconf CLK_TCK)
cpu_pct=$(python3 -c "print(round(100 * ($t1 - $t0) / $hz / 10, 2))")
rss_mib=$(( hwm / 1024 ))
errors=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["errors"])' "$var/bot.json")
connected=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["connected"])' "$var/bot.json")
if [ "$json" -eq 1 ]; then
    printf '{"players":%s,"connected":%s,"errors":%s,"proxy_peak_rss_mib":%s,"proxy_cpu_rest_pct":%s}\n' \
        "$players" "$connected" "$errors" "$rss_mib" "$cpu_pct"
else
    echo "players $players, connected $connected, bot errors $errors"
    echo "proxy peak RSS (VmHWM) ${rss_mib} MiB, CPU at rest ${cpu_pct}% of one core"
fi

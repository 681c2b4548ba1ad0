#!/usr/bin/env bash
# Hostile input beside real play (issue 10, docs/RELIABILITY.md "Hostile input and security"):
# a whole cluster through tools/cluster.sh (private MariaDB and Redis, manager, db, login, one
# gomoku and one landlords game node, proxy with its default limits), then well-behaved tb-bot
# players of both games and idle logged-in sessions beside `tb-bot --mode chaos` (garbage,
# bad magic, bad lengths, truncated frames, encoding switches, oversize and deeply nested
# bodies, slow readers, floods past the rate limit, requests before login), all for the same
# duration. The proxy's VmRSS and VmHWM (/proc/<pid>/status) are sampled all along.
#
#   tools/chaos.sh [--minutes M | --seconds S] [--chaos N] [--gomoku N] [--landlords N]
#                  [--idle N] [--rss-limit-mib M] [--bin-dir DIR] [--out FILE]
#                  [--base-port P] [--keep]
#
# --minutes M / --seconds S  how long the bots run (default 10 minutes).
# --chaos N      chaos bots (default 60); --gomoku N (default 20), --landlords N (default 18),
#                --idle N (default 100): the well-behaved ones. Good bots think 100 ms before
#                each action, as people's clients do, so they stay inside the rate limit.
# --rss-limit-mib M  the proxy's peak VmRSS must stay under M MiB (default 256).
# --bin-dir DIR  the binaries (default build/bin; TB_BIN works too); nothing is built.
# --out FILE     the JSON summary (also printed on stdout; default: stdout only).
# --base-port P  the cluster's base port (default: a free one between 10000 and 15450).
# --keep         keep the work dir (bot outputs, samples, cluster logs) also after success.
#
# The summary: proxy_alive, nodes_alive, rss_start_mib (before the bots), rss_warm_mib (median
# of the second quarter of the run), rss_late_mib (median of the last quarter), rss_peak_mib,
# rss_end_mib, rss_growth_mib (late - warm), good_bot_errors (errors counted by every
# well-behaved bot), good_games, chaos_connections, chaos_violations (the proxy did not answer
# bad input as the protocol says), chaos_scenarios, samples, ok and why.
# Exit status: 0 when the proxy and every node stayed up, no good bot saw an error, no chaos
# violation was seen, the peak RSS stayed under the limit and the late RSS did not grow past
# the warm RSS by more than max(16 MiB, 25 %); 1 otherwise (the JSON says why; the work dir
# is kept); 2 bad arguments. Ctrl-C stops everything it started (cluster.sh down included).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly root
readonly me="chaos.sh"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
note() { echo "$me: $*" >&2; }
bad_usage() { echo "$me: $* (see --help)" >&2; exit 2; }
is_number() { [[ $1 =~ ^[0-9]+([.][0-9]+)?$ ]]; }
is_int() { [[ $1 =~ ^[0-9]+$ ]]; }

seconds=600
chaos=60
gomoku=20
landlords=18
idle=100
rss_limit=256
bin_dir=${TB_BIN:-$root/build/bin}
out=""
base=""
keep=0
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --minutes|--seconds|--chaos|--gomoku|--landlords|--idle|--rss-limit-mib|--bin-dir|--out|--base-port)
            if [ $# -lt 2 ] || [ -z "$2" ]; then bad_usage "$1 needs a value"; fi
            case "$1" in
                --minutes)
                    is_number "$2" || bad_usage "--minutes takes a number"
                    seconds=$(awk -v m="$2" 'BEGIN { printf "%d", m * 60 }') ;;
                --seconds) is_int "$2" || bad_usage "--seconds takes a whole number"; seconds=$2 ;;
                --chaos) is_int "$2" || bad_usage "--chaos takes a number"; chaos=$2 ;;
                --gomoku) is_int "$2" || bad_usage "--gomoku takes a number"; gomoku=$2 ;;
                --landlords) is_int "$2" || bad_usage "--landlords takes a number"; landlords=$2 ;;
                --idle) is_int "$2" || bad_usage "--idle takes a number"; idle=$2 ;;
                --rss-limit-mib) is_int "$2" || bad_usage "--rss-limit-mib takes a number"; rss_limit=$2 ;;
                --bin-dir) bin_dir=$2 ;;
                --out) out=$2 ;;
                --base-port) is_int "$2" || bad_usage "--base-port takes a number"; base=$2 ;;
            esac
            shift
            ;;
        --keep) keep=1 ;;
        *) bad_usage "unknown argument '$1'" ;;
    esac
    shift
done
[ "$seconds" -ge 10 ] || bad_usage "the run must last at least 10 seconds"
[ "$chaos" -ge 1 ] || bad_usage "--chaos must be at least 1"
[ -d "$bin_dir" ] || bad_usage "--bin-dir $bin_dir is not a directory"
bin_dir=$(cd "$bin_dir" && pwd)
for b in tb-bot tb-manager tb-db tb-login tb-proxy tb-game tb-mon; do
    [ -x "$bin_dir/$b" ] || { note "$bin_dir/$b is missing: build it first (cmake --build build -j2)"; exit 1; }
done
for b in python3 setsid timeout ss; do
    command -v "$b" >/dev/null 2>&1 || { note "$b not found (tools/install-deps.sh)"; exit 1; }
done
# Sampling: every 5 s, or every second for short runs (at least 20 samples either way).
interval=5
[ "$seconds" -ge 100 ] || interval=1

# ---------------------------------------------------------------------------------------------
# Work dir, children, cleanup

work=$(mktemp -d "${TMPDIR:-/tmp}/tb-chaos.XXXXXX")
readonly work
cluster_var=""
bots=()     # process group leaders (setsid) of the tb-bot runs
failed=0

cleanup() {
    local rc=$? pid
    trap '' INT TERM
    set +e
    for pid in "${bots[@]}"; do kill -TERM -- "-$pid" 2>/dev/null; done
    for pid in "${bots[@]}"; do wait "$pid" 2>/dev/null; done
    if [ -n "$cluster_var" ]; then
        TB_BIN=$bin_dir bash "$root/tools/cluster.sh" down --var "$cluster_var" \
            >>"$work/cluster-down.log" 2>&1 ||
            note "cluster.sh down --var $cluster_var failed (log: $work/cluster-down.log)"
    fi
    if [ $rc -eq 0 ] && [ $failed -eq 0 ] && [ $keep -eq 0 ]; then
        rm -rf "$work"
    else
        rm -rf "$work/var/mariadb" "$work/var/redis"
        note "work dir kept: $work (bot outputs, samples; cluster logs in $work/var/log)"
    fi
    exit $rc
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'note "terminated"; exit 143' TERM

# ---------------------------------------------------------------------------------------------
# The cluster

port_free() { [ -z "$(ss -Htan exclude time-wait "( sport = :$1 )" 2>/dev/null)" ]; }
if [ -z "$base" ]; then
    for i in $(seq 0 109); do
        candidate=$((10000 + (($$ + i * 7) % 110) * 50))
        if port_free "$candidate" && port_free $((candidate + 1)) &&
            port_free $((candidate + 3333)) && port_free $((candidate + 3545)); then
            base=$candidate
            break
        fi
    done
    [ -n "$base" ] || { note "no free base port between 10000 and 15450"; exit 1; }
fi
proxy_addr=127.0.0.1:$((base + 3333))
cluster_var=$work/var
note "cluster: tools/cluster.sh up --game gomoku:1 --game landlords:1 (base port $base, work dir $work)"
# Accounts start rich so that no good bot runs out of score in a long run; game nodes drain
# for at most 2 s at the end. The proxy keeps its default limits: they are what is tested.
if ! env TB_BIN="$bin_dir" TB_ECONOMY_INITIAL_SCORE=1000000000 TB_DRAIN_LIMIT_MS=2000 \
    bash "$root/tools/cluster.sh" up --var "$cluster_var" --base-port "$base" \
    --game gomoku:1 --game landlords:1 >"$work/cluster-up.out" 2>"$work/cluster-up.err"; then
    failed=1
    note "cluster.sh up failed (logs: $work/cluster-up.err, $cluster_var/log)"
    tail -n 20 "$work/cluster-up.err" >&2
    exit 1
fi
proxy_pid=$(cat "$cluster_var/run/proxy.pid" 2>/dev/null || true)
if [ -z "$proxy_pid" ] || [ ! -d "/proc/$proxy_pid" ]; then
    failed=1
    note "no proxy pid in $cluster_var/run"
    exit 1
fi

rss_of() {  # rss_of PID: "VmRSS VmHWM" in KiB, or nothing when the process is gone
    awk '/^VmRSS:/ { r = $2 } /^VmHWM:/ { h = $2 } END { if (r != "") print r, h }' \
        "/proc/$1/status" 2>/dev/null
}
read -r rss_start hwm_start <<<"$(rss_of "$proxy_pid")"

# ---------------------------------------------------------------------------------------------
# The bots

bot() {  # bot NAME ARGS...: a tb-bot run in a session of its own, JSON to NAME.json
    local name=$1
    shift
    setsid timeout -k 10 $((seconds + 180)) "$bin_dir/tb-bot" --proxy "$proxy_addr" --json \
        --duration "$seconds" "$@" >"$work/$name.json" 2>"$work/$name.err" </dev/null &
    bots+=("$!")
    echo "$name $!" >>"$work/bots"
}
note "bots for $seconds s: $chaos chaos, $gomoku gomoku, $landlords landlords, $idle idle; proxy $proxy_addr (pid $proxy_pid)"
[ "$gomoku" -eq 0 ] || bot gomoku --mode gomoku --players "$gomoku" --think-ms 100 --account-prefix chg
[ "$landlords" -eq 0 ] || bot landlords --mode landlords --players "$landlords" --think-ms 100 --account-prefix chl
[ "$idle" -eq 0 ] || bot idle --mode idle --players "$idle" --account-prefix chi
bot chaos --mode chaos --players "$chaos" --account-prefix chx

# Samples: "t_s rss_kib hwm_kib" until every bot has exited (or the proxy died).
started=$SECONDS
: >"$work/samples"
proxy_alive=1
while :; do
    if sample=$(rss_of "$proxy_pid") && [ -n "$sample" ]; then
        echo "$((SECONDS - started)) $sample" >>"$work/samples"
    else
        proxy_alive=0
        note "the proxy (pid $proxy_pid) is gone after $((SECONDS - started)) s"
        break
    fi
    running=0
    for pid in "${bots[@]}"; do kill -0 "$pid" 2>/dev/null && running=1; done
    [ $running -eq 1 ] || break
    sleep "$interval"
done
bot_status=""
while read -r name pid; do
    rc=0
    wait "$pid" || rc=$?
    bot_status+="$name=$rc "
done <"$work/bots"
bots=()
nodes_alive=1
TB_BIN=$bin_dir bash "$root/tools/cluster.sh" status --var "$cluster_var" >"$work/status.out" 2>&1 ||
    nodes_alive=0
[ -d "/proc/$proxy_pid" ] || proxy_alive=0

# ---------------------------------------------------------------------------------------------
# The summary

summary=$(python3 - "$work" "$seconds" "$rss_start" "$hwm_start" "$rss_limit" "$proxy_alive" \
    "$nodes_alive" "$bot_status" <<'EOF'
import json, os, statistics, sys
work, seconds, rss_start, hwm_start, limit, proxy_alive, nodes_alive, status = sys.argv[1:9]
mib = lambda kib: round(int(kib) / 1024, 1)
samples = []
for line in open(os.path.join(work, "samples")):
    t, r, h = line.split()
    samples.append((int(t), int(r), int(h)))
def load(name):
    try:
        return json.load(open(os.path.join(work, name + ".json")))
    except Exception:
        return None
good = {n: load(n) for n in ("gomoku", "landlords", "idle")}
chaos = load("chaos")
why = []
if proxy_alive != "1": why.append("the proxy died")
if nodes_alive != "1": why.append("a node died (cluster.sh status)")
good_errors = 0
for n, j in good.items():
    if not os.path.exists(os.path.join(work, n + ".json")): continue
    if j is None:
        why.append("no JSON from the %s bots" % n); continue
    good_errors += int(j.get("errors", 0))
if good_errors: why.append("well-behaved bots saw %d errors" % good_errors)
if chaos is None: why.append("no JSON from the chaos bots")
violations = int(chaos.get("violations", 0)) if chaos else 0
if violations: why.append("%d chaos violations" % violations)
n = len(samples)
rss = [s[1] for s in samples]
warm = statistics.median(rss[n // 4: max(n // 4 + 1, n // 2)]) if n else 0
late = statistics.median(rss[(3 * n) // 4:]) if n else 0
peak = max([s[1] for s in samples] + [0])
hwm = max([s[2] for s in samples] + [0])
growth = late - warm
if n < 4: why.append("too few RSS samples (%d)" % n)
if peak / 1024 > int(limit): why.append("peak RSS %.1f MiB over the limit %s MiB" % (peak / 1024, limit))
if growth > max(16 * 1024, warm * 0.25):
    why.append("RSS grew %.1f MiB from the second quarter to the last" % (growth / 1024))
out = {
    "seconds": int(seconds),
    "proxy_alive": proxy_alive == "1",
    "nodes_alive": nodes_alive == "1",
    "rss_start_mib": mib(rss_start),
    "rss_warm_mib": mib(warm),
    "rss_late_mib": mib(late),
    "rss_peak_mib": mib(peak),
    "hwm_mib": mib(hwm),
    "rss_end_mib": mib(rss[-1]) if rss else 0,
    "rss_growth_mib": round(growth / 1024, 1),
    "rss_limit_mib": int(limit),
    "samples": n,
    "good_bot_errors": good_errors,
    "good_games": sum(int(j.get("games", 0)) for j in good.values() if j),
    "good_actions": sum(int(j.get("actions", 0)) for j in good.values() if j),
    "good_players": {k: int(j.get("players", 0)) for k, j in good.items() if j},
    "idle_connected": int(good["idle"].get("connected", 0)) if good.get("idle") else 0,
    "chaos_bots": int(chaos.get("players", 0)) if chaos else 0,
    "chaos_connections": int(chaos.get("connects", 0)) if chaos else 0,
    "chaos_closed_by_server": int(chaos.get("closed_by_server", 0)) if chaos else 0,
    "chaos_error_frames": int(chaos.get("error_frames", 0)) if chaos else 0,
    "chaos_violations": violations,
    "chaos_scenarios": {k: v.get("runs", 0) for k, v in (chaos or {}).get("scenarios", {}).items()},
    "bot_exit": status.strip(),
    "ok": not why,
    "why": why,
}
print(json.dumps(out))
EOF
)
echo "$summary"
[ -z "$out" ] || echo "$summary" >"$out"
if ! python3 -c 'import json, sys; sys.exit(0 if json.loads(sys.argv[1])["ok"] else 1)' "$summary"; then
    failed=1
    note "FAILED: $(python3 -c 'import json, sys; print("; ".join(json.loads(sys.argv[1])["why"]))' "$summary")"
    exit 1
fi
note "ok: proxy up, no good-bot errors, RSS bounded"

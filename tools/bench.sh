#!/usr/bin/env bash
# The benchmark suite (issue 9; docs/BENCHMARKS.md "Suite"): every figure beside its baseline,
# measured in one run on this machine. It starts and stops everything it needs by itself.
#
#   tools/bench.sh [--short] [--bin-dir DIR] [--out FILE] [--no-docs | --docs] [--keep]
#                  [--storage-scheduler idle|batch|normal] [--storage-nice N]
#
# Steps, in order (each one's baseline in the same run):
#   bus          tb-bench bus --json: tablebus against raw libzmq (sync1, sync16, pipelined)
#   path         tb-bench path --json, 100 and 20 players: the action path's shape on plain
#                sockets and libzmq (players -> gateway -> zmq_proxy -> echo and back), the
#                ceiling the gomoku runs below are divided by
#   rules        tb-rules bench --json: classify and enumerate
#   db           tb-bench db --json: device logins straight to the db service
#   cluster      tools/cluster.sh up (private MariaDB, Redis, manager, db, login, proxy, one
#                gomoku and one landlords game node) with the proxy's per-connection rate
#                limit lifted, then tb-bot against it: gomoku 100 players closed loop, gomoku
#                100 players at about half that rate (--think-ms calibrated), gomoku 20
#                players, landlords 99 players, device-account logins; then cluster.sh down
#   connections  tools/bench-connections.sh: 10,000 and 15,000 idle logged-in sessions on one
#                proxy (peak RSS, CPU at rest); each on a cluster of its own
#
# --short      CI smoke (about 2 minutes): 1 s bus and db measurements, 5 s game runs, 3,000
#              idle sessions instead of 10,000 and 15,000 (idle_players says which); the same
#              JSON keys. Gates nothing on numbers.
# --bin-dir D  the binaries (default build/bin); nothing is built.
# --out FILE   the JSON (default build/bench.json).
# --docs / --no-docs  rewrite (or not) the generated block of docs/BENCHMARKS.md, between
#              "<!-- bench.sh results begin -->" and "<!-- bench.sh results end -->". Default:
#              only a full run with the default --out writes it; --short and --out do not.
# --keep       keep the work dir (tool outputs, cluster logs) also after a successful run.
# --storage-scheduler P  the policy of the cluster's storage side (tb-db, MariaDB, Redis;
#              tools/cluster.sh --storage-scheduler), default batch; and --storage-nice N their
#              nice value, -20..19, default 19. Everything shares this machine's cores: at nice
#              19 the storage is picked last while the action path has work, and still gets its
#              share under saturation, which idle does not (docs/operations.md, "Scheduling";
#              docs/BENCHMARKS.md, "One scheduling group"). The JSON says which
#              (storage_scheduler, storage_nice).
#
# The JSON holds every key of the contract (bus_sync16_ratio ... enumerate_lead_us, raw_*_rps)
# and more; the script checks that each one is there before it exits 0.
# Exit status: 0 ok, 1 a step failed (the message names the step and its log; the work dir
# with every log is kept), 2 bad arguments, 130/143 interrupted. Ctrl-C or SIGTERM stops
# everything the suite started (cluster.sh down included).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly root
readonly me="bench.sh"

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
note() { echo "$me: $*" >&2; }
bad_usage() { echo "$me: $* (see --help)" >&2; exit 2; }

# ---------------------------------------------------------------------------------------------
# Arguments

short=0
bin_dir=$root/build/bin
out=""
docs=auto
keep=0
storage_scheduler=batch
storage_nice=19
while [ $# -gt 0 ]; do
    case "$1" in
        -h|--help) usage; exit 0 ;;
        --short) short=1 ;;
        --bin-dir|--out)
            if [ $# -lt 2 ] || [ -z "$2" ]; then bad_usage "$1 needs a value"; fi
            if [ "$1" = --bin-dir ]; then bin_dir=$2; else out=$2; fi
            shift
            ;;
        --bin-dir=*) bin_dir=${1#*=} ;;
        --out=*) out=${1#*=} ;;
        --docs) docs=yes ;;
        --no-docs) docs=no ;;
        --keep) keep=1 ;;
        --storage-scheduler)
            [ $# -ge 2 ] || bad_usage "$1 needs a value"
            storage_scheduler=$2
            shift
            ;;
        --storage-scheduler=*) storage_scheduler=${1#*=} ;;
        --storage-nice)
            [ $# -ge 2 ] || bad_usage "$1 needs a value"
            storage_nice=$2
            shift
            ;;
        --storage-nice=*) storage_nice=${1#*=} ;;
        *) bad_usage "unknown argument '$1'" ;;
    esac
    shift
done
case "$storage_scheduler" in
    idle|batch|normal) ;;
    *) bad_usage "--storage-scheduler '$storage_scheduler': idle, batch or normal" ;;
esac
# Checked here as cluster.sh checks it: a bad value fails now, not after the bus and path steps.
[[ $storage_nice =~ ^-?[0-9]{1,2}$ ]] && [ "$storage_nice" -ge -20 ] && [ "$storage_nice" -le 19 ] ||
    bad_usage "--storage-nice '$storage_nice': a number from -20 to 19"
if [ "$docs" = auto ]; then
    if [ "$short" -eq 0 ] && [ -z "$out" ]; then docs=yes; else docs=no; fi
fi
[ -n "$out" ] || out=$root/build/bench.json
[ -d "$bin_dir" ] || bad_usage "--bin-dir $bin_dir is not a directory"
bin_dir=$(cd "$bin_dir" && pwd)
out_dir=$(dirname "$out")
mkdir -p "$out_dir" 2>/dev/null || bad_usage "cannot create the directory of --out $out"
out=$(cd "$out_dir" && pwd)/$(basename "$out")
readonly short bin_dir out docs keep
readonly docs_file=$root/docs/BENCHMARKS.md

for b in tb-bench tb-bot tb-rules tb-manager tb-db tb-login tb-proxy tb-game tb-mon; do
    [ -x "$bin_dir/$b" ] || { note "$bin_dir/$b is missing: build it first (cmake --build build -j2)"; exit 1; }
done
for b in python3 timeout; do
    command -v "$b" >/dev/null 2>&1 || { note "$b not found (tools/install-deps.sh)"; exit 1; }
done
if [ "$docs" = yes ]; then
    if ! grep -q '^<!-- bench.sh results begin -->$' "$docs_file" ||
        ! grep -q '^<!-- bench.sh results end -->$' "$docs_file"; then
        note "$docs_file lacks the bench.sh result markers: not running (--no-docs to skip the docs)"
        exit 1
    fi
fi

# Durations (seconds) per mode.
if [ "$short" -eq 1 ]; then
    mode=short
    bus_args=(--short)
    path_args=(--short)
    db_args=(--short)
    game_s=5
    probe_s=3
    warm_s=2
    login_s=3
    idle_counts=(3000)
else
    mode=full
    bus_args=(--repeat 3)
    path_args=(--seconds 10)
    db_args=()
    game_s=30
    probe_s=10
    warm_s=3
    login_s=10
    idle_counts=(10000 15000)
fi
readonly mode game_s probe_s warm_s login_s

# ---------------------------------------------------------------------------------------------
# Work dir, children, cleanup

work=$(mktemp -d "${TMPDIR:-/tmp}/tb-bench.XXXXXX")
readonly work
started=$SECONDS
children=()          # process group leaders (timeout) still running
cluster_var=""       # set once our cluster.sh up has begun
conn_bases=()        # base ports given to bench-connections.sh (its var dirs are its own)
conn_dirs_before=""
failed=0

# True when the pid is a live process (a zombie counts as gone).
alive() {
    local pid=$1 stat
    kill -0 "$pid" 2>/dev/null || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ] && [ "${stat:0:1}" != X ]
}

cleanup() {
    local rc=$? pid deadline left d
    trap '' INT TERM
    set +e
    if [ ${#children[@]} -gt 0 ]; then
        note "stopping ${#children[@]} running step(s)"
        for pid in "${children[@]}"; do
            kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null
        done
        # bench-connections.sh runs cluster.sh down in its own exit trap: give it time.
        deadline=$((SECONDS + 90))
        while :; do
            left=0
            for pid in "${children[@]}"; do alive "$pid" && left=1; done
            [ $left -eq 0 ] || [ $SECONDS -ge $deadline ] && break
            sleep 0.2
        done
        for pid in "${children[@]}"; do
            kill -KILL -- "-$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        done
    fi
    if [ -n "$cluster_var" ]; then
        TB_BIN=$bin_dir bash "$root/tools/cluster.sh" down --var "$cluster_var" \
            >>"$work/cluster-down.log" 2>&1 ||
            note "cluster.sh down --var $cluster_var failed (log: $work/cluster-down.log)"
    fi
    # A bench-connections.sh cluster whose script was killed before its own cleanup: only
    # the var dirs that appeared during this run and hold one of our base ports.
    if [ ${#conn_bases[@]} -gt 0 ]; then
        for d in /tmp/tb-bench-conn.*; do
            [ -d "$d" ] || continue
            grep -qxF "$d" <<<"$conn_dirs_before" && continue
            for b in "${conn_bases[@]}"; do
                if grep -qx "base_port=$b" "$d/run/cluster.state" 2>/dev/null; then
                    note "stopping the connections cluster left in $d"
                    TB_BIN=$bin_dir bash "$root/tools/cluster.sh" down --var "$d" >/dev/null 2>&1
                    rm -rf "$d"
                fi
            done
        done
    fi
    if [ $rc -eq 0 ] && [ $failed -eq 0 ] && [ $keep -eq 0 ]; then
        rm -rf "$work"
    else
        # The cluster's data is large and of no use; its logs stay.
        rm -rf "$work/var/mariadb" "$work/var/redis"
        if [ -d "$work/var/log" ]; then
            note "work dir kept: $work (tool outputs and logs; cluster logs in $work/var/log)"
        else
            note "work dir kept: $work (tool outputs and logs)"
        fi
    fi
    exit $rc
}
trap cleanup EXIT
trap 'note "interrupted"; exit 130' INT
trap 'note "terminated"; exit 143' TERM

fail_step() {  # fail_step STEP LOG WHY
    failed=1
    note "step '$1' failed: $3"
    note "log: $2"
    if [ -s "$2" ]; then
        echo "--- $2 (last 20 lines) ---" >&2
        tail -n 20 "$2" >&2
    fi
    exit 1
}

# run LIMIT_S OUT ERR CMD...: runs CMD in a session of its own (so a stop reaches all of it)
# under timeout(1), stdout to OUT and stderr to ERR; returns its exit status. The user+sys CPU
# of CMD and its descendants lands in step_cpu_s.
step_cpu_s=0
cpu_line=""
children_cpu() {  # cpu_line: the shell's reaped children's user and sys so far ("0m1.2s 0m0.3s")
    # `times` in this shell (in a $(...) subshell it would see no children), through a file.
    times >"$work/.times"
    { read -r _; read -r cpu_line; } <"$work/.times"
}
run() {
    local limit=$1 o=$2 e=$3 pid rc=0 c0 c1 i
    shift 3
    children_cpu
    c0=$cpu_line
    # timeout leads a process group of its own (what the cleanup kills), in this session: the
    # steps, the cluster and its bots are one scheduling group (see spawn in tools/cluster.sh).
    timeout -k 10 "$limit" "$@" >"$o" 2>"$e" </dev/null &
    pid=$!
    children+=("$pid")
    wait "$pid" || rc=$?
    children_cpu
    c1=$cpu_line
    step_cpu_s=$(awk -v a="$c0" -v b="$c1" 'function s(x,  w, i, t) { split(x, w, " "); t = 0
        for (i = 1; i <= 2; i++) { sub("s", "", w[i]); split(w[i], ms, "m"); t += ms[1] * 60 + ms[2] }
        return t } BEGIN { printf "%.3f", s(b) - s(a) }')
    for i in "${!children[@]}"; do [ "${children[$i]}" != "$pid" ] || unset 'children[i]'; done
    children=("${children[@]}")
    [ $rc -ne 124 ] || echo "$me: timed out after $limit s" >>"$e"
    return $rc
}

# A JSON value: jget FILE KEY (dots for nesting). Fails when the file is no JSON or lacks it.
jget() {
    python3 -c 'import json, sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[k]
print(v)' "$1" "$2" 2>/dev/null
}
# Checks that FILE is one JSON object (a tool's --json output).
is_json() { python3 -c 'import json, sys; assert isinstance(json.load(open(sys.argv[1])), dict)' "$1" 2>/dev/null; }

# ---------------------------------------------------------------------------------------------
# Ports: base ports below the ephemeral range (the idle sessions take thousands of ephemeral
# ports), multiples of 50 chosen from our pid like tests/integration/cluster_test.sh, every
# port a step uses free, none shared between steps.

port_free() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [ -z "$(ss -Htan exclude time-wait "( sport = :$port )" 2>/dev/null)" ]
    else
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 1; fi
    fi
}
used_bases=" "
base=""
pick_base() {  # pick_base OFFSET...: sets base
    local i candidate off ok
    for i in $(seq 0 109); do
        candidate=$((10000 + (($$ + i * 7) % 110) * 50))
        [[ $used_bases == *" $candidate "* ]] && continue
        ok=1
        for off in "$@"; do
            port_free $((candidate + off)) || { ok=0; break; }
        done
        if [ $ok -eq 1 ]; then
            used_bases+="$candidate "
            base=$candidate
            return 0
        fi
    done
    note "no free base port between 10000 and 15450"
    exit 1
}

# ---------------------------------------------------------------------------------------------
# CPU snapshots: the machine (/proc/stat) and every process of our cluster (run/*.pid).

snapshot() {  # snapshot FILE
    local f name pid stat u n s idle iow irq sirq steal
    {
        read -r _ u n s idle iow irq sirq steal _ </proc/stat
        echo "__machine $((u + n + s + irq + sirq + steal)) $((u + n + s + idle + iow + irq + sirq + steal))"
        for f in "$cluster_var"/run/*.pid; do
            [ -f "$f" ] || continue
            name=${f##*/}
            name=${name%.pid}
            pid=$(cat "$f" 2>/dev/null) || continue
            stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
            stat=${stat##*) }
            # shellcheck disable=SC2086 # fields
            set -- $stat
            echo "$name $((${12} + ${13}))"
        done
    } >"$1"
}

# ---------------------------------------------------------------------------------------------
# Steps

step_no=0
readonly steps_total=$((10 + ${#idle_counts[@]}))
begin() { step_no=$((step_no + 1)); note "[$step_no/$steps_total] $*"; }

note "$mode run, binaries $bin_dir, work dir $work"
read -r load_start _ </proc/loadavg
date -u +%Y-%m-%dT%H:%M:%SZ >"$work/started_at"

# --- bus
pick_base 0 1 10 11
bus_base=$base
begin "bus: tb-bench bus ${bus_args[*]} --json (base port $bus_base)"
run 600 "$work/bus.json" "$work/bus.err" "$bin_dir/tb-bench" bus --json "${bus_args[@]}" \
    --base-port "$bus_base" --manager-bin "$bin_dir/tb-manager" ||
    fail_step bus "$work/bus.err" "tb-bench bus exited $?"
is_json "$work/bus.json" || fail_step bus "$work/bus.err" "no JSON in $work/bus.json"
raw_pipelined=$(jget "$work/bus.json" raw.pipelined_rps)
note "    ratios sync16 $(jget "$work/bus.json" ratio.sync16_rps), pipelined $(jget "$work/bus.json" ratio.pipelined_rps), sync1 p50 $(jget "$work/bus.json" ratio.sync1_p50); raw pipelined $raw_pipelined req/s"

# --- the action path's shape on plain sockets and libzmq
pick_base 0 1 2
path_base=$base
begin "path: tb-bench path ${path_args[*]} --json, 100 and 20 players (base port $path_base)"
for n in 100 20; do
    run 300 "$work/path_$n.json" "$work/path_$n.err" "$bin_dir/tb-bench" path --json \
        "${path_args[@]}" --players "$n" --base-port "$path_base" ||
        fail_step path "$work/path_$n.err" "tb-bench path --players $n exited $?"
    is_json "$work/path_$n.json" || fail_step path "$work/path_$n.err" "no JSON in $work/path_$n.json"
    note "    $n players: $(jget "$work/path_$n.json" actions_per_s) actions/s, p99 $(jget "$work/path_$n.json" p99_ms) ms"
done

# --- rule engine
begin "rule engine: tb-rules bench --json"
run 300 "$work/rules.json" "$work/rules.err" "$bin_dir/tb-rules" bench --json ||
    fail_step rules "$work/rules.err" "tb-rules bench exited $?"
is_json "$work/rules.json" || fail_step rules "$work/rules.err" "no JSON in $work/rules.json"
note "    classify $(jget "$work/rules.json" classify_mean_ns) ns, enumerate leads median $(jget "$work/rules.json" enumerate_leads_median_us) us"

# --- db direct
pick_base 0 1
db_base=$base
begin "db direct: tb-bench db --json${db_args[*]:+ ${db_args[*]}} (base port $db_base)"
run 600 "$work/db.json" "$work/db.err" "$bin_dir/tb-bench" db --json "${db_args[@]}" \
    --base-port "$db_base" --manager-bin "$bin_dir/tb-manager" --db-bin "$bin_dir/tb-db" ||
    fail_step db "$work/db.err" "tb-bench db exited $?"
is_json "$work/db.json" || fail_step db "$work/db.err" "no JSON in $work/db.json"
note "    $(jget "$work/db.json" db_device_logins_per_s) device logins/s straight to the db service"

# --- the cluster
pick_base 0 1 3333 3545
cluster_base=$base
proxy_addr=127.0.0.1:$((cluster_base + 3333))
begin "cluster: tools/cluster.sh up --game gomoku:1 --game landlords:1 (base port $cluster_base)"
cluster_var=$work/var
# The proxy's per-connection limit (default 50 frames/s) would throttle closed-loop bots:
# lifted to the largest value the config accepts. New accounts start with 10^9 score, so no
# bot runs out of it in a long run (the stakes stay the default). A game node drains for at
# most 2 s at cluster.sh down instead of waiting for its rounds.
readonly cluster_env=(TB_PROXY_RATE_PER_S=100000 TB_PROXY_RATE_BURST=100000
    TB_ECONOMY_INITIAL_SCORE=1000000000 TB_DRAIN_LIMIT_MS=2000)
run 300 "$work/cluster-up.out" "$work/cluster-up.err" env TB_BIN="$bin_dir" "${cluster_env[@]}" \
    bash "$root/tools/cluster.sh" up --var "$cluster_var" --base-port "$cluster_base" \
    --game gomoku:1 --game landlords:1 --storage-scheduler "$storage_scheduler" \
    --storage-nice "$storage_nice" ||
    fail_step cluster "$work/cluster-up.err" "cluster.sh up exited $? (node logs: $cluster_var/log)"
[ "$(tail -n 1 "$work/cluster-up.out")" = "proxy $proxy_addr" ] ||
    fail_step cluster "$work/cluster-up.err" "cluster.sh up did not report proxy $proxy_addr"

# bot STEP OUTNAME ARGS...: one tb-bot run against the cluster with CPU snapshots around it.
bot() {
    local step=$1 name=$2 limit
    shift 2
    limit=$(awk -v a="$*" 'BEGIN { n = split(a, w, " "); for (i = 1; i < n; i++) if (w[i] == "--duration") print int(w[i + 1]) + 90 }')
    snapshot "$work/$name.before"
    run "${limit:-300}" "$work/$name.json" "$work/$name.err" "$bin_dir/tb-bot" --proxy "$proxy_addr" \
        --json "$@" || {
        local rc=$?
        # 1: the run finished but counted errors; its JSON stands, with the errors in it.
        if [ $rc -ne 1 ] || ! is_json "$work/$name.json"; then
            fail_step "$step" "$work/$name.err" "tb-bot exited $rc (cluster logs: $cluster_var/log)"
        fi
        note "    warning: tb-bot counted $(jget "$work/$name.json" errors) errors (see $work/$name.err)"
    }
    snapshot "$work/$name.after"
    echo "$step_cpu_s" >"$work/$name.botcpu"
    is_json "$work/$name.json" || fail_step "$step" "$work/$name.err" "no JSON in $work/$name.json"
    [ "$(jget "$work/$name.json" players)" -gt 0 ] || fail_step "$step" "$work/$name.err" "bad JSON"
}
summary() {  # one line about a game run
    local f=$work/$1.json
    note "    $(jget "$f" actions_per_s) actions/s, p50 $(jget "$f" p50_ms) ms, p99 $(jget "$f" p99_ms) ms, p99.9 $(jget "$f" p999_ms) ms (think $(jget "$f" think_ms) ms; raw pipelined libzmq $raw_pipelined req/s)"
}

begin "gomoku, 100 players, closed loop: tb-bot --mode gomoku --players 100 --duration $game_s"
bot gomoku-warmup gomoku_warmup --mode gomoku --players 100 --duration "$warm_s"
bot gomoku-closed gomoku_closed --mode gomoku --players 100 --duration "$game_s"
summary gomoku_closed
closed_rate=$(jget "$work/gomoku_closed.json" actions_per_s)
python3 -c 'import sys; sys.exit(0 if float(sys.argv[1]) > 0 else 1)' "$closed_rate" ||
    fail_step gomoku-closed "$work/gomoku_closed.err" "no actions in the closed loop"

# Half load. 50 tables of 2 take turns: at R actions/s closed loop a table makes R/50 actions/s,
# one every 50/R s, of which (almost) all is the round trip. A think time T before each action
# adds T to that interval; half the rate doubles it. A first guess T0 = 50,000/R ms runs for a
# short probe; the round trip that the probe measures (interval minus T0, lower than under full
# load) then gives T = 2 x 50,000/R - round trip.
begin "gomoku, 100 players, half load: --think-ms calibrated against $closed_rate actions/s"
t0=$(python3 -c 'import sys; print(max(1, round(50000 / float(sys.argv[1]))))' "$closed_rate")
bot gomoku-half-probe gomoku_probe --mode gomoku --players 100 --duration "$probe_s" --think-ms "$t0"
probe_rate=$(jget "$work/gomoku_probe.json" actions_per_s)
think=$(python3 -c 'import sys
r, t0, p = float(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
rtt = 50000 / p - t0 if p > 0 else 0
print(max(1, round(2 * 50000 / r - max(0.0, rtt))))' "$closed_rate" "$t0" "$probe_rate")
note "    probe: think $t0 ms gave $probe_rate actions/s; half load at think $think ms"
bot gomoku-half-load gomoku_half --mode gomoku --players 100 --duration "$game_s" --think-ms "$think"
summary gomoku_half

begin "gomoku, 20 players, closed loop"
bot gomoku-20 gomoku_20 --mode gomoku --players 20 --duration "$game_s"
summary gomoku_20

begin "landlords, 99 players, closed loop"
bot landlords-closed landlords_closed --mode landlords --players 99 --duration "$game_s"
summary landlords_closed

begin "logins end to end: tb-bot --mode login --players 50 --duration $login_s"
bot logins login --mode login --players 50 --duration "$login_s"
note "    $(jget "$work/login.json" requests_per_s) device logins/s end to end, p99 $(jget "$work/login.json" p99_ms) ms (db direct: $(jget "$work/db.json" db_device_logins_per_s)/s)"

run 300 "$work/cluster-down.out" "$work/cluster-down.log" env TB_BIN="$bin_dir" \
    bash "$root/tools/cluster.sh" down --var "$cluster_var" ||
    fail_step cluster-down "$work/cluster-down.log" "cluster.sh down exited $?"
cluster_var=""

# --- connections
for n in "${idle_counts[@]}"; do
    pick_base 0 1 3333 3545
    begin "connections: tools/bench-connections.sh --players $n (base port $base)"
    conn_dirs_before=$(ls -d /tmp/tb-bench-conn.* 2>/dev/null || true)
    conn_bases+=("$base")
    run $((n / 500 + 300)) "$work/conn_$n.json" "$work/conn_$n.err" env TB_BIN="$bin_dir" \
        bash "$root/tools/bench-connections.sh" --players "$n" --base-port "$base" --json ||
        fail_step "connections $n" "$work/conn_$n.err" "bench-connections.sh exited $? (it hides cluster.sh's messages; run it by hand to see them)"
    is_json "$work/conn_$n.json" || fail_step "connections $n" "$work/conn_$n.err" "no JSON in $work/conn_$n.json"
    note "    $(jget "$work/conn_$n.json" connected) connected, proxy peak RSS $(jget "$work/conn_$n.json" proxy_peak_rss_mib) MiB, CPU at rest $(jget "$work/conn_$n.json" proxy_cpu_rest_pct)%"
done

# ---------------------------------------------------------------------------------------------
# bench.json, the check of its keys, the docs block

read -r load_end _ </proc/loadavg
build_type=$(sed -n 's/^CMAKE_BUILD_TYPE:[A-Z]*=//p' "$(dirname "$bin_dir")/CMakeCache.txt" 2>/dev/null || true)
{
    echo "mode=$mode"
    echo "started_at=$(cat "$work/started_at")"
    echo "suite_seconds=$((SECONDS - started))"
    echo "load_start=$load_start"
    echo "load_end=$load_end"
    echo "nproc=$(nproc)"
    echo "cpu_model=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)"
    echo "mem_total_mib=$(free -m | awk '/^Mem:/ { print $2 }')"
    # shellcheck disable=SC1091
    echo "os=$(. /etc/os-release 2>/dev/null && echo "${PRETTY_NAME:-}")"
    echo "kernel=$(uname -r)"
    echo "build_type=$build_type"
    echo "git_commit=$(git -C "$root" rev-parse --short HEAD 2>/dev/null || true)"
    echo "git_dirty=$([ -n "$(git -C "$root" status --porcelain 2>/dev/null | head -n 1)" ] && echo 1 || echo 0)"
    echo "clk_tck=$(getconf CLK_TCK)"
    echo "game_s=$game_s"
    echo "login_s=$login_s"
    echo "bus_args=${bus_args[*]}"
    echo "path_args=${path_args[*]}"
    echo "idle_counts=${idle_counts[*]}"
    echo "half_probe_think_ms=$t0"
    echo "half_probe_actions_per_s=$probe_rate"
    echo "bin_dir=$bin_dir"
    echo "storage_scheduler=$storage_scheduler"
    echo "storage_nice=$storage_nice"
} >"$work/meta.env"

python3 - "$work" "$out" "$docs" "$docs_file" <<'PY' || { failed=1; note "assembling $out failed"; exit 1; }
import json, os, sys, tempfile

work, out, docs, docs_file = sys.argv[1:5]
meta = {}
for line in open(os.path.join(work, "meta.env")):
    k, _, v = line.rstrip("\n").partition("=")
    meta[k] = v
hz = int(meta["clk_tck"])


def load(name):
    with open(os.path.join(work, name + ".json")) as f:
        return json.load(f)


def snap(name):
    d = {}
    for line in open(os.path.join(work, name)):
        parts = line.split()
        d[parts[0]] = [int(x) for x in parts[1:]]
    return d


def rnd(x, n=1):
    return None if x is None else round(x, n)


bus, rules, db, login = load("bus"), load("rules"), load("db"), load("login")
R = {}
R["timestamp"] = meta["started_at"]
R["mode"] = meta["mode"]
R["suite_seconds"] = int(meta["suite_seconds"])
R["machine"] = {
    "nproc": int(meta["nproc"]),
    "cpu_model": meta["cpu_model"],
    "mem_total_mib": int(meta["mem_total_mib"] or 0),
    "os": meta["os"],
    "kernel": meta["kernel"],
    "build_type": meta["build_type"],
    "load_avg_start": float(meta["load_start"]),
    "load_avg_end": float(meta["load_end"]),
}
R["git_commit"] = meta["git_commit"] + ("-dirty" if meta["git_dirty"] == "1" else "")

# Bus
R["bus_sync16_ratio"] = bus["ratio"]["sync16_rps"]
R["bus_pipelined_ratio"] = bus["ratio"]["pipelined_rps"]
R["bus_sync1_p50_ratio"] = bus["ratio"]["sync1_p50"]
for side in ("raw", "tablebus"):
    for k in ("sync1_rps", "sync1_p50_us", "sync1_p99_us", "sync16_rps", "sync16_p99_us",
              "pipelined_rps", "pipelined_p99_us"):
        R[f"{side}_{k}"] = bus[side][k]
R["bus_args"] = meta["bus_args"]
raw_pipe = bus["raw"]["pipelined_rps"]

# The action path's shape on plain sockets and libzmq (tb-bench path)
R["path_args"] = meta["path_args"]
for players, key in ((100, "raw_path"), (20, "raw_path_20")):
    pj = load(f"path_{players}")
    R[f"{key}_actions_per_s"] = pj["actions_per_s"]
    for p in ("p50", "p90", "p99", "p999"):
        R[f"{key}_{p}_ms"] = pj[f"{p}_ms"]
    R[f"{key}_cpu_us_per_action"] = pj["cpu_us_per_action"]
    R[f"{key}_machine_busy_pct"] = pj["machine_busy_pct"]

# Game runs
LABELS = {"manager": "manager", "proxy": "proxy", "login-1": "login", "db-1": "db",
          "mariadb": "mariadb", "redis": "redis"}


def game(prefix, name):
    j = load(name)
    actions = j.get("actions", 0)
    R[f"{prefix}_players"] = j["players"]
    R[f"{prefix}_think_ms"] = j.get("think_ms", 0)
    R[f"{prefix}_actions"] = actions
    R[f"{prefix}_actions_per_s"] = j["actions_per_s"]
    R[f"{prefix}_games"] = j.get("games", 0)
    for p in ("p50", "p90", "p99", "p999"):
        R[f"{prefix}_{p}_ms"] = j[f"{p}_ms"]
    R[f"{prefix}_errors"] = j["errors"]
    bot_cpu = float(open(os.path.join(work, name + ".botcpu")).read())
    R[f"{prefix}_bot_cpu_us_per_action"] = rnd(bot_cpu * 1e6 / actions) if actions else None
    R[f"{prefix}_vs_raw_pipelined"] = round(j["actions_per_s"] / raw_pipe, 4) if raw_pipe else None
    before, after = snap(name + ".before"), snap(name + ".after")
    cpu = {"bot": R[f"{prefix}_bot_cpu_us_per_action"]}
    for proc, b in before.items():
        if proc == "__machine" or proc not in after:
            continue
        label = LABELS.get(proc) or ("game" if proc.startswith("game-") and
                                     proc.endswith(j["mode"] + "-1") else None)
        if label is None or not actions:
            continue
        cpu[label] = rnd((after[proc][0] - b[0]) / hz * 1e6 / actions)
    R[f"{prefix}_cpu_us_per_action"] = cpu
    mb, ma = before["__machine"], after["__machine"]
    R[f"{prefix}_machine_busy_pct"] = rnd(100 * (ma[0] - mb[0]) / max(1, ma[1] - mb[1]))
    return j


game("gomoku_closed", "gomoku_closed")
game("gomoku_half_load", "gomoku_half")
game("gomoku_20", "gomoku_20")
game("landlords_closed", "landlords_closed")
# tablebus against the same shape without it: how much of the ceiling the gomoku runs reach.
R["gomoku_closed_vs_raw_path"] = round(R["gomoku_closed_actions_per_s"] /
                                       R["raw_path_actions_per_s"], 3)
R["gomoku_closed_p99_vs_raw_path"] = round(R["gomoku_closed_p99_ms"] / R["raw_path_p99_ms"], 2)
R["gomoku_20_vs_raw_path"] = round(R["gomoku_20_actions_per_s"] /
                                   R["raw_path_20_actions_per_s"], 3)
R["gomoku_20_p99_vs_raw_path"] = round(R["gomoku_20_p99_ms"] / R["raw_path_20_p99_ms"], 2)
R["gomoku_half_load_fraction"] = round(R["gomoku_half_load_actions_per_s"] /
                                       R["gomoku_closed_actions_per_s"], 3)
R["gomoku_half_load_probe_think_ms"] = int(meta["half_probe_think_ms"])
R["gomoku_half_load_probe_actions_per_s"] = float(meta["half_probe_actions_per_s"])
R["game_seconds"] = int(meta["game_s"])
R["storage_scheduler"] = meta["storage_scheduler"]
R["storage_nice"] = int(meta["storage_nice"])

# Connections
counts = [int(x) for x in meta["idle_counts"].split()]
big = max(counts)
c = load(f"conn_{big}")
R["idle_players"] = big
R["idle_15k_rss_mib"] = c["proxy_peak_rss_mib"]
R["idle_15k_cpu_rest_pct"] = c["proxy_cpu_rest_pct"]
R["idle_15k_connected"] = c["connected"]
R["idle_15k_errors"] = c["errors"]
R["idle_15k_kib_per_session"] = rnd(c["proxy_peak_rss_mib"] * 1024 / big, 2)
if 10000 in counts:
    c = load("conn_10000")
    R["idle_10k_players"] = 10000
    R["idle_10k_rss_mib"] = c["proxy_peak_rss_mib"]
    R["idle_10k_cpu_rest_pct"] = c["proxy_cpu_rest_pct"]
    R["idle_10k_connected"] = c["connected"]
    R["idle_10k_errors"] = c["errors"]
else:
    for k in ("players", "rss_mib", "cpu_rest_pct", "connected", "errors"):
        R[f"idle_10k_{k}"] = None  # not measured (--short)

# Logins
login_s = login["duration_s"] or 1
R["device_logins_per_s"] = round(login["logins"] / login_s, 1)
R["login_p50_ms"] = login["p50_ms"]
R["login_p99_ms"] = login["p99_ms"]
R["login_errors"] = login["errors"]
R["login_bot_cpu_us_per_login"] = rnd(float(open(os.path.join(work, "login.botcpu")).read()) *
                                      1e6 / login["logins"]) if login["logins"] else None
R["db_device_logins_per_s"] = db["db_device_logins_per_s"]
R["db_login_p50_ms"] = db["login_p50_ms"]
R["db_login_p99_ms"] = db["login_p99_ms"]
R["db_settles_per_s"] = db["settles_per_s"]
R["logins_e2e_vs_db"] = round(R["device_logins_per_s"] / db["db_device_logins_per_s"], 3) \
    if db["db_device_logins_per_s"] else None

# Rule engine
R["classify_ns"] = rules["classify_mean_ns"]
R["classify_vector_ns"] = rules["classify_vector_mean_ns"]
R["enumerate_lead_us"] = rules["enumerate_leads_median_us"]
R["enumerate_lead_p99_us"] = rules["enumerate_leads_p99_us"]
R["simulate_games_per_s"] = rules["simulate_games_per_s"]

# Issue 9's targets on 2 cores (informational; nothing gates on them).
T = [
    ("gomoku_closed_actions_per_s", ">=", 20000, "gomoku closed loop, 100 players, actions/s"),
    ("gomoku_closed_p99_ms", "<=", 5, "gomoku closed loop, 100 players, p99 ms"),
    ("gomoku_20_p99_ms", "<=", 1.5, "gomoku 20 players, p99 ms"),
    ("gomoku_half_load_p99_ms", "<=", 3, "gomoku half load, p99 ms"),
    ("idle_15k_rss_mib", "<=", 300, "proxy peak RSS, 15,000 idle sessions, MiB"),
    ("device_logins_per_s", ">=", 2000, "device logins/s end to end"),
    ("bus_sync16_ratio", ">=", 0.8, "bus sync16 req/s, tablebus / raw"),
    ("bus_pipelined_ratio", ">=", 0.5, "bus pipelined req/s, tablebus / raw"),
    ("bus_sync1_p50_ratio", "<=", 1.5, "bus sync1 p50, tablebus / raw"),
    ("classify_ns", "<", 1000, "classify mean, ns"),
    ("enumerate_lead_us", "<", 100, "enumerate leads median, µs"),
]
R["targets"] = {}
for key, op, limit, _ in T:
    v = R[key]
    met = v >= limit if op == ">=" else v <= limit if op == "<=" else v < limit
    R["targets"][key] = {"target": f"{op} {limit}", "value": v, "met": bool(met)}

REQUIRED = ["bus_sync16_ratio", "bus_pipelined_ratio", "bus_sync1_p50_ratio",
            "gomoku_closed_actions_per_s", "gomoku_closed_p99_ms", "gomoku_20_p99_ms",
            "gomoku_half_load_p99_ms", "landlords_closed_actions_per_s", "idle_15k_rss_mib",
            "device_logins_per_s", "db_device_logins_per_s", "classify_ns", "enumerate_lead_us",
            "raw_pipelined_rps", "raw_sync16_rps", "raw_sync1_p50_us", "raw_path_actions_per_s",
            "raw_path_p99_ms", "raw_path_20_p99_ms", "machine", "timestamp", "storage_scheduler",
            "storage_nice"]
missing = [k for k in REQUIRED if R.get(k) is None]
if missing:
    print("bench.sh: the results lack " + ", ".join(missing), file=sys.stderr)
    sys.exit(1)

tmp = out + ".tmp"
with open(tmp, "w") as f:
    json.dump(R, f, indent=1)
    f.write("\n")
os.replace(tmp, out)
# Read back: the file on disk holds every key.
with open(out) as f:
    back = json.load(f)
assert all(back.get(k) is not None for k in REQUIRED)


# ------------------------------------------------------------------ the human summary and docs
def n(x, d=0):
    if x is None:
        return "–"
    return f"{x:,.{d}f}"


def auto(x):
    """A value as read: whole numbers from 100 on, else two or three decimals."""
    if isinstance(x, int) or abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.2f}" if abs(x) >= 1 else f"{x:.3f}"


m = R["machine"]
mins, secs = divmod(R["suite_seconds"], 60)
machine = (f"{m['nproc']} CPUs ({m['cpu_model']}), {m['mem_total_mib'] / 1024:.1f} GiB RAM, "
           f"{m['os']}, kernel {m['kernel']}, {m['build_type'] or 'unknown'} build; load average "
           f"{m['load_avg_start']:.2f} at the start, {m['load_avg_end']:.2f} at the end")
L = []
L.append(f"Generated by `tools/bench.sh` ({R['mode']} run, {mins} min {secs} s) at "
         f"{R['timestamp']}, commit {R['git_commit']}; the same figures are in `build/bench.json`.")
L.append("")
L.append(f"Machine: {machine}.")
L.append("")
L.append("**Bus** (`tb-bench bus --json " + R["bus_args"] + "`):")
L.append("")
L.append("| scenario | raw libzmq | tablebus | ratio |")
L.append("|---|---|---|---|")
L.append(f"| sync1 p50 | {n(R['raw_sync1_p50_us'], 1)} µs | {n(R['tablebus_sync1_p50_us'], 1)} µs | "
         f"{R['bus_sync1_p50_ratio']:.3f} |")
L.append(f"| sync16 req/s | {n(R['raw_sync16_rps'])} | {n(R['tablebus_sync16_rps'])} | "
         f"{R['bus_sync16_ratio']:.3f} |")
L.append(f"| pipelined req/s | {n(R['raw_pipelined_rps'])} | {n(R['tablebus_pipelined_rps'])} | "
         f"{R['bus_pipelined_ratio']:.3f} |")
L.append("")
L.append(f"**Actions end to end** (`tb-bot`, {R['game_seconds']} s each; round trip = action sent "
         "→ own broadcast received; raw pipelined libzmq of this run: "
         f"{n(raw_pipe)} req/s; storage side (tb-db, MariaDB, Redis) under "
         f"`--storage-scheduler {R['storage_scheduler']} --storage-nice {R['storage_nice']}`):")
L.append("")
L.append("| run | think | actions/s | ÷ raw pipelined | p50 ms | p99 ms | p99.9 ms | bot CPU µs/action | errors |")
L.append("|---|---|---|---|---|---|---|---|---|")
rows = [("gomoku, 100 players, closed loop", "gomoku_closed"),
        (f"gomoku, 100 players, half load ({R['gomoku_half_load_fraction']:.2f} of closed)",
         "gomoku_half_load"),
        ("gomoku, 20 players, closed loop", "gomoku_20"),
        ("landlords, 99 players, closed loop", "landlords_closed")]
for label, p in rows:
    L.append(f"| {label} | {R[p + '_think_ms']} ms | {n(R[p + '_actions_per_s'])} | "
             f"{R[p + '_vs_raw_pipelined']:.3f} | {n(R[p + '_p50_ms'], 2)} | {n(R[p + '_p99_ms'], 2)} | "
             f"{n(R[p + '_p999_ms'], 2)} | {n(R[p + '_bot_cpu_us_per_action'], 1)} | {R[p + '_errors']} |")
L.append("")
L.append("**The same path without tablebus** (`tb-bench path --json " + R["path_args"] + "`: players on "
         "TCP → gateway → `zmq_proxy` → libzmq echo → back, the gateway writing each move to both "
         "players of its table; no codec, game logic, settlement or strategy):")
L.append("")
L.append("| players | raw path actions/s | p50 ms | p99 ms | p99.9 ms | CPU µs/action (players / gateway / broker / echo) | tablebus gomoku actions/s ÷ raw path | tablebus p99 ÷ raw path |")
L.append("|---|---|---|---|---|---|---|---|")
for players, key, run in ((100, "raw_path", "gomoku_closed"), (20, "raw_path_20", "gomoku_20")):
    c = R[key + "_cpu_us_per_action"]
    L.append(f"| {players} | {n(R[key + '_actions_per_s'])} | {n(R[key + '_p50_ms'], 2)} | "
             f"{n(R[key + '_p99_ms'], 2)} | {n(R[key + '_p999_ms'], 2)} | "
             f"{n(c['players'], 1)} / {n(c['gateway'], 1)} / {n(c['broker'], 1)} / {n(c['table'], 1)} | "
             f"{R[run + '_vs_raw_path']:.3f} | {R[run + '_p99_vs_raw_path']:.2f} |")
L.append("")
L.append("CPU per action by process (µs user+sys, from `/proc/<pid>/stat` around each run, login "
         "ramp included) and how busy the whole machine was:")
L.append("")
procs = ["bot", "proxy", "manager", "game", "login", "db", "mariadb", "redis"]
L.append("| run | " + " | ".join(procs) + " | sum | machine busy |")
L.append("|---|" + "---|" * (len(procs) + 2))
for label, p in rows:
    cpu = R[p + "_cpu_us_per_action"]
    total = sum(v for v in cpu.values() if v is not None)
    L.append(f"| {label.split(' (')[0]} | " + " | ".join(n(cpu.get(k), 1) for k in procs) +
             f" | {n(total, 1)} | {n(R[p + '_machine_busy_pct'])} % |")
L.append("")
idle_label = f"{R['idle_players']:,} idle sessions"
L.append("**Connections** (`tools/bench-connections.sh`, one proxy):")
L.append("")
L.append("| sessions | connected | errors | proxy peak RSS (VmHWM) | per session | proxy CPU at rest |")
L.append("|---|---|---|---|---|---|")
if R["idle_10k_rss_mib"] is not None:
    L.append(f"| 10,000 | {n(R['idle_10k_connected'])} | {R['idle_10k_errors']} | "
             f"{R['idle_10k_rss_mib']} MiB | {R['idle_10k_rss_mib'] * 1024 / 10000:.2f} KiB | "
             f"{R['idle_10k_cpu_rest_pct']} % |")
L.append(f"| {R['idle_players']:,} | {n(R['idle_15k_connected'])} | {R['idle_15k_errors']} | "
         f"{R['idle_15k_rss_mib']} MiB | {R['idle_15k_kib_per_session']:.2f} KiB | "
         f"{R['idle_15k_cpu_rest_pct']} % |")
L.append("")
L.append("**Logins**:")
L.append("")
L.append("| path | logins/s | p50 ms | p99 ms |")
L.append("|---|---|---|---|")
L.append(f"| end to end, `tb-bot --mode login --players 50` | {n(R['device_logins_per_s'])} | "
         f"{n(R['login_p50_ms'], 1)} | {n(R['login_p99_ms'], 1)} |")
L.append(f"| db service direct, `tb-bench db` (32 in flight) | {n(R['db_device_logins_per_s'])} | "
         f"{n(R['db_login_p50_ms'], 1)} | {n(R['db_login_p99_ms'], 1)} |")
L.append("")
L.append(f"End to end / direct: {R['logins_e2e_vs_db']:.2f}.")
L.append("")
L.append(f"**Rule engine** (`tb-rules bench --json`): classify {R['classify_ns']} ns mean "
         f"(std::vector form {R['classify_vector_ns']} ns), enumerate leads median "
         f"{R['enumerate_lead_us']} µs (p99 {R['enumerate_lead_p99_us']} µs).")
L.append("")
L.append("**Issue 9's targets** (2 cores, everything on one box):")
L.append("")
L.append("| figure | target | this run | |")
L.append("|---|---|---|---|")
for key, op, limit, label in T:
    t = R["targets"][key]
    sign = {">=": "≥", "<=": "≤", "<": "<"}[op]
    lab = label if key != "idle_15k_rss_mib" else f"proxy peak RSS, {idle_label}, MiB"
    L.append(f"| {lab} | {sign} {limit:,} | {auto(t['value'])} | {'met' if t['met'] else '**missed**'} |")
block = "\n".join(L)
print(block)

if docs == "yes":
    begin, end = "<!-- bench.sh results begin -->", "<!-- bench.sh results end -->"
    text = open(docs_file).read()
    i, j = text.find(begin + "\n"), text.find("\n" + end)
    if i < 0 or j < 0 or j < i:
        print(f"bench.sh: {docs_file} lacks the markers; not written", file=sys.stderr)
        sys.exit(1)
    new = text[:i + len(begin) + 1] + block + "\n" + text[j + 1:]
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(docs_file), prefix=".BENCHMARKS.")
    with os.fdopen(fd, "w") as f:
        f.write(new)
    os.chmod(tmp, os.stat(docs_file).st_mode & 0o777)
    os.replace(tmp, docs_file)
    print(f"bench.sh: wrote the results block of {docs_file}", file=sys.stderr)
PY
note "wrote $out ($mode run, $((SECONDS - started)) s)"

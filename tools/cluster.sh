#!/usr/bin/env bash
# A whole tablebus cluster on one machine: private MariaDB and Redis, tb-manager, tb-db,
# tb-login, tb-game and tb-proxy, all detached, with data, logs and pids under a var dir.
#
#   tools/cluster.sh up [--game KIND:LEVEL[:COUNT]]... [--db N] [--login N] [--base-port P]
#                       [--storage-scheduler batch|idle|normal] [--storage-nice N] [--var DIR]
#   tools/cluster.sh status [--var DIR]
#   tools/cluster.sh down [--var DIR]
#
# up      starts what is not running yet and waits (60 s) until tb-mon shows every service with
#         its worker count; its last line is "proxy 127.0.0.1:PORT" (base port + 3333). On a
#         running cluster it only prints that address (a different shape needs down first).
# status  each process, its pid and whether it is alive, then tb-mon services.
#         Exit 0 all alive, 1 some dead or the manager does not answer, 3 nothing runs.
# down    stops everything (proxy, login, game, db, manager, Redis, MariaDB: SIGTERM, waiting
#         for each to exit; a game node still draining after 20 s gets a second SIGTERM, which
#         ends its rounds unsettled); exit 0, also when nothing runs. Data stays in the var dir.
#
# --var DIR     data (mariadb/, redis/), logs (log/<name>.log), pids (run/<name>.pid) and the
#               remembered storage ports (storage.env); default var/ at the repository root.
#               The data is kept between runs; delete the directory to start afresh.
# --base-port P the manager's bus is P, announcements P+1, clients P+3333, metrics P+3545
#               (default 5555). Clusters with other var dirs and base ports run side by side.
# --db N, --login N   how many of each (default 1). --game KIND:LEVEL[:COUNT] (repeatable):
#               COUNT (default 1) tb-game nodes serving game.KIND.LEVEL.
# Binaries come from build/bin (TB_BIN=DIR overrides); when build/bin lacks them the build runs
# first (tools/install-deps.sh, cmake). TB_TICKET_SECRET, if set, reaches the proxy and games.
# --storage-scheduler POLICY   the scheduling policy of the storage side: tb-db (its
#               process.scheduler), MariaDB and Redis (chrt). batch (the default, as the other
#               nodes), idle (SCHED_IDLE: any thread of the action path that wakes takes the core
#               from them at once; lower action latency when everything shares a few cores, but
#               logins and settlements starve while the cores are saturated; docs/operations.md)
#               or normal (the kernel's default). Also TB_STORAGE_SCHEDULER. Without either,
#               TB_PROCESS_SCHEDULER=normal leaves the storage on the default policy too.
#               Applied as each of them starts: on a running cluster it changes nothing (up
#               says so).
# --storage-nice N   the nice value of every thread of tb-db (process.nice), MariaDB and Redis
#               (renice), -20..19; default 0 (as started), also TB_STORAGE_NICE. With batch, 19
#               keeps the storage from holding a core the action path wants without starving it
#               as idle does (docs/operations.md). Applied as each of them starts. Below 0 needs
#               CAP_SYS_NICE.
# Exit status: 0 ok, 1 failure (the logs named in the message tell why), 2 bad arguments.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
readonly root
readonly me="cluster.sh"
readonly mariadb_user=tablebus
readonly mariadb_password=tablebus
readonly database=tablebus
readonly ready_seconds=60
readonly stop_seconds=20        # per node before SIGKILL
readonly mariadb_stop_seconds=180

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; }
die() { echo "$me: $*" >&2; exit 1; }
bad_usage() { echo "$me: $* (see --help)" >&2; exit 2; }
note() { echo "$me: $*" >&2; }

# ---------------------------------------------------------------------------------------------
# Arguments

command=""
var_dir=""
base_port=5555
db_count=1
login_count=1
games=()
explicit_shape=0
explicit_storage=0  # --storage-scheduler or --storage-nice given on this command line
storage_scheduler=""
storage_nice=""

[ $# -gt 0 ] || { usage >&2; exit 2; }
case "$1" in
    -h|--help|help) usage; exit 0 ;;
    up|status|down) command=$1; shift ;;
    *) bad_usage "unknown command '$1': up, status or down" ;;
esac

is_uint() { [[ $1 =~ ^[0-9]+$ ]] && [ ${#1} -le 6 ]; }

while [ $# -gt 0 ]; do
    opt=$1
    value=""
    has_value=0
    case "$opt" in
        --*=*) value=${opt#*=}; opt=${opt%%=*}; has_value=1 ;;
    esac
    case "$opt" in
        -h|--help) usage; exit 0 ;;
        --var|--game|--db|--login|--base-port|--storage-scheduler|--storage-nice)
            if [ $has_value -eq 0 ]; then
                [ $# -ge 2 ] || bad_usage "$opt needs a value"
                value=$2
                shift
            fi
            ;;
        *) bad_usage "unknown argument '$1'" ;;
    esac
    shift
    if [ "$command" != up ] && [ "$opt" != --var ]; then
        bad_usage "$command takes only --var DIR"
    fi
    case "$opt" in
        --var)
            [ -n "$value" ] || bad_usage "--var needs a directory"
            var_dir=$value
            ;;
        --base-port)
            if ! is_uint "$value" || [ "$value" -lt 1024 ] || [ "$value" -gt $((65535 - 3545)) ]; then
                bad_usage "--base-port '$value': a number from 1024 to $((65535 - 3545))"
            fi
            base_port=$((10#$value))
            explicit_shape=1
            ;;
        --storage-scheduler)
            storage_scheduler=$value
            explicit_storage=1
            ;;
        --storage-nice)
            storage_nice=$value
            explicit_storage=1
            ;;
        --db|--login)
            if ! is_uint "$value" || [ "$value" -lt 1 ] || [ "$value" -gt 64 ]; then
                bad_usage "$opt '$value': a number from 1 to 64"
            fi
            if [ "$opt" = --db ]; then db_count=$((10#$value)); else login_count=$((10#$value)); fi
            explicit_shape=1
            ;;
        --game)
            [[ $value =~ ^([a-z][a-z0-9_]*):([0-9]{1,4})(:([0-9]{1,3}))?$ ]] ||
                bad_usage "--game '$value': KIND:LEVEL[:COUNT], e.g. gomoku:1 or landlords:2:3"
            level=$((10#${BASH_REMATCH[2]}))
            count=$((10#${BASH_REMATCH[4]:-1}))
            [ "$level" -ge 1 ] || bad_usage "--game '$value': LEVEL must be at least 1"
            [ "$count" -ge 1 ] || bad_usage "--game '$value': COUNT must be at least 1"
            games+=("${BASH_REMATCH[1]}:$level:$count")
            explicit_shape=1
            ;;
    esac
done

if [ -z "$storage_scheduler" ]; then
    if [ -n "${TB_STORAGE_SCHEDULER:-}" ]; then
        storage_scheduler=$TB_STORAGE_SCHEDULER
    elif [ "${TB_PROCESS_SCHEDULER:-batch}" = normal ]; then
        storage_scheduler=normal
    else
        storage_scheduler=batch
    fi
fi
# Only up uses it: a bad TB_STORAGE_SCHEDULER must not keep status or down from working.
if [ "$command" = up ]; then
    case "$storage_scheduler" in
        batch|idle|normal) ;;
        *) bad_usage "storage scheduler '$storage_scheduler': batch, idle or normal" ;;
    esac
fi
readonly storage_scheduler
[ -n "$storage_nice" ] || storage_nice=${TB_STORAGE_NICE:-0}
if [ "$command" = up ]; then
    [[ $storage_nice =~ ^(-?)([0-9]{1,2})$ ]] ||
        bad_usage "storage nice '$storage_nice': a number from -20 to 19"
    storage_nice=$((${BASH_REMATCH[1]}10#${BASH_REMATCH[2]}))
    [ "$storage_nice" -ge -20 ] && [ "$storage_nice" -le 19 ] ||
        bad_usage "storage nice '$storage_nice': a number from -20 to 19"
fi
readonly storage_nice

[ -n "$var_dir" ] || var_dir=$root/var
if [ "$command" != up ] && [ ! -d "$var_dir" ]; then
    if [ "$command" = status ]; then
        echo "nothing runs in $var_dir (no such directory)"
        exit 3
    fi
    exit 0
fi
mkdir -p "$var_dir" 2>/dev/null || die "cannot create the var dir $var_dir"
var_dir=$(cd "$var_dir" && pwd -P)
readonly var_dir
readonly run_dir=$var_dir/run log_dir=$var_dir/log
readonly state_file=$run_dir/cluster.state storage_file=$var_dir/storage.env
mkdir -p "$run_dir" "$log_dir"

# ---------------------------------------------------------------------------------------------
# Processes

# True when the pid is a live process (a zombie waiting for its reaper counts as gone).
alive() {
    local pid=$1 stat
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    kill -0 "$pid" 2>/dev/null || return 1
    stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat:0:1}" != Z ] && [ "${stat:0:1}" != X ]
}

pid_of() {
    local file=$run_dir/$1.pid pid
    [ -f "$file" ] || return 1
    pid=$(cat "$file" 2>/dev/null) || return 1
    echo "$pid"
}

# The pid recorded for a component, if that process still runs what we started there (the
# program name is checked, so a recycled pid is not mistaken for ours).
running_pid() {
    local name=$1 pid program comm
    pid=$(pid_of "$name") || return 1
    alive "$pid" || return 1
    case "$name" in
        mariadb) program=mariadbd ;;
        redis) program=redis-server ;;
        *) program=tb-${name%%-*} ;;
    esac
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [ "$comm" = "$program" ] || [ "$comm" = "${program:0:15}" ] || return 1
    echo "$pid"
}

# Every component named by a pid file, in stop order: proxy, login, game, db, manager, redis,
# mariadb.
recorded_names() {
    local group f
    for group in proxy login game db manager redis mariadb; do
        for f in "$run_dir/$group".pid "$run_dir/$group"-*.pid; do
            [ -f "$f" ] || continue
            f=${f##*/}
            echo "${f%.pid}"
        done
    done
}

anything_running() {
    local name
    for name in $(recorded_names); do
        running_pid "$name" >/dev/null && return 0
    done
    return 1
}

# Starts a detached process (own process group, so a Ctrl-C at the terminal does not reach it;
# immune to hang-ups; stdin closed) in the var dir, output appended to log/<name>.log, pid in
# run/<name>.pid. Remaining arguments: the command.
#
# Not a session of its own (setsid): with autogroup on (kernel.sched_autogroup_enabled, Debian's
# default) every session is a scheduling group, and the kernel first shares the cores between
# groups, each at nice 0, whatever the policies of their threads. A process per group made
# every wake-up on the action path a group enqueue, kept SCHED_BATCH and SCHED_IDLE from acting
# across processes, and cost the 2-core benchmark a third of its 20-player gomoku p99
# (docs/BENCHMARKS.md, "One scheduling group"). The cluster stays in the caller's session.
spawn() {
    local name=$1 log=$log_dir/$1.log pid
    shift
    printf '=== %s: %s %s\n' "$(date '+%F %T')" "$me" "$*" >>"$log"
    # fd 9 (the lock) is not handed down. perl (perl-base is essential on Debian) makes the
    # process group and execs, so $! is the program's own pid.
    (cd "$var_dir" && exec perl -e 'setpgrp(0, 0) or die "setpgrp: $!\n";
        exec { $ARGV[0] } @ARGV or die "exec $ARGV[0]: $!\n"' nohup "$@" \
        </dev/null >>"$log" 2>&1 9>&-) &
    pid=$!
    echo "$pid" >"$run_dir/$name.pid"
    # Until the exec the process is still a shell (then perl, nohup): wait for the program,
    # so that running_pid, which checks the program's name, knows it.
    local program=${1##*/} tries=0
    program=${program:0:15}
    while alive "$pid" && [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" != "$program" ]; do
        tries=$((tries + 1))
        [ $tries -lt 500 ] || break
        sleep 0.01
    done
}

# Puts every thread of a storage server (and so the threads it starts later) under the
# storage side's policy and nice value (--storage-scheduler, --storage-nice), as tb-db puts
# itself (process.scheduler, process.nice); a refusal only costs speed.
storage_schedule() {  # storage_schedule NAME PID
    storage_renice "$1" "$2"
    [ "$storage_scheduler" != normal ] || return 0
    command -v chrt >/dev/null 2>&1 || return 0
    chrt "--$storage_scheduler" --all-tasks --pid 0 "$2" >/dev/null 2>&1 ||
        note "could not put $1 (pid $2) under SCHED_${storage_scheduler^^}: it runs under the default policy"
}

# --storage-nice for every thread a storage server has now; the threads it starts later take
# their creator's value.
storage_renice() {  # storage_renice NAME PID
    [ "$storage_nice" -ne 0 ] || return 0
    command -v renice >/dev/null 2>&1 || return 0
    local tids=(/proc/"$2"/task/*)
    # One call for all of them; it fails if any thread was refused.
    renice -n "$storage_nice" -p "${tids[@]##*/}" >/dev/null 2>&1 ||
        note "could not set nice $storage_nice on every thread of $1 (pid $2): some run as started"
}

tail_log() {
    local log=$log_dir/$1.log
    [ -f "$log" ] || return 0
    echo "--- $log (last 15 lines) ---" >&2
    tail -n 15 "$log" >&2
}

# SIGTERM to each named component, then waits for all of them. After the grace period a second
# SIGTERM (a game node then ends its rounds at once, unsettled, and exits cleanly), and SIGKILL
# 5 s after that.
stop_group() {
    local grace=$1 name pid deadline left i second=0
    shift
    local -a pids=() names=()
    for name in "$@"; do
        if pid=$(running_pid "$name"); then
            kill -TERM "$pid" 2>/dev/null || true
            pids+=("$pid")
            names+=("$name")
        fi
    done
    deadline=$((SECONDS + grace))
    while :; do
        left=0
        for pid in "${pids[@]}"; do alive "$pid" && left=1; done
        [ $left -eq 0 ] && break
        if [ $SECONDS -ge $deadline ] && [ $second -eq 0 ]; then
            second=1
            deadline=$((SECONDS + 5))
            for i in "${!pids[@]}"; do
                if alive "${pids[$i]}"; then
                    note "${names[$i]} (pid ${pids[$i]}) still draining after ${grace} s: SIGTERM again"
                    kill -TERM "${pids[$i]}" 2>/dev/null || true
                fi
            done
        elif [ $SECONDS -ge $deadline ]; then
            for i in "${!pids[@]}"; do
                if alive "${pids[$i]}"; then
                    note "${names[$i]} (pid ${pids[$i]}) ignored SIGTERM twice: SIGKILL"
                    kill -KILL "${pids[$i]}" 2>/dev/null || true
                fi
            done
            sleep 0.5
            break
        fi
        sleep 0.2
    done
    for name in "$@"; do rm -f "$run_dir/$name.pid"; done
    for name in "${names[@]}"; do note "stopped $name"; done
}

# Our programs still running in the var dir without a pid file (a killed up, a lost pid file).
strays() {
    local d pid cwd comm
    for d in /proc/[0-9]*; do
        pid=${d#/proc/}
        cwd=$(readlink "$d/cwd" 2>/dev/null) || continue
        case "$cwd" in "$var_dir"|"$var_dir"/*) ;; *) continue ;; esac
        comm=$(cat "$d/comm" 2>/dev/null) || continue
        case "$comm" in
            tb-*|mariadbd|mysqld|redis-server) alive "$pid" && echo "$pid" ;;
        esac
    done
}

# Stops them in the same order as down does, each with SIGTERM first.
stop_strays() {
    local all stray program deadline
    all=$(strays)
    [ -n "$all" ] || return 0
    for program in tb-proxy tb-login tb-game tb-db tb-manager redis-server mariadbd mysqld; do
        for stray in $all; do
            [ "$(cat "/proc/$stray/comm" 2>/dev/null || true)" = "$program" ] || continue
            note "stopping a leftover $program (pid $stray)"
            kill -TERM "$stray" 2>/dev/null || true
            deadline=$((SECONDS + mariadb_stop_seconds))
            while alive "$stray" && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
            ! alive "$stray" || kill -KILL "$stray" 2>/dev/null || true
        done
    done
}

# ---------------------------------------------------------------------------------------------
# Ports

# True when nothing on this machine uses the TCP port (TIME-WAIT aside: servers reuse those).
port_free() {
    local port=$1
    if command -v ss >/dev/null 2>&1; then
        [ -z "$(ss -Htan exclude time-wait "( sport = :$port )" 2>/dev/null)" ]
    else
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return 1; fi
    fi
}

# A free port below the kernel's ephemeral range (so no outgoing connection takes it later).
pick_port() {
    local low=32768 _high _try port
    if [ -r /proc/sys/net/ipv4/ip_local_port_range ]; then
        read -r low _high </proc/sys/net/ipv4/ip_local_port_range || true
    fi
    [ "$low" -gt 12000 ] || low=32768
    for _try in $(seq 1 200); do
        port=$((10000 + (RANDOM * 32768 + RANDOM) % (low - 10000)))
        case "$port" in  # not one of this cluster's own
            "$base_port" | $((base_port + 1)) | $((base_port + 3333)) | $((base_port + 3545)) | \
                "$mariadb_port" | "$redis_port") continue ;;
        esac
        if port_free "$port"; then
            echo "$port"
            return 0
        fi
    done
    die "no free port found for the private storage servers"
}

# ---------------------------------------------------------------------------------------------
# Binaries

find_bins() {
    local need=(tb-manager tb-db tb-login tb-proxy tb-mon) b missing=()
    if [ -n "${TB_BIN:-}" ]; then
        bin_dir=$(cd "$TB_BIN" 2>/dev/null && pwd) || die "TB_BIN=$TB_BIN is not a directory"
    else
        bin_dir=$root/build/bin
    fi
    for b in "${need[@]}"; do [ -x "$bin_dir/$b" ] || missing+=("$b"); done
    if [ ${#missing[@]} -gt 0 ]; then
        if [ -n "${TB_BIN:-}" ]; then
            die "TB_BIN=$TB_BIN lacks ${missing[*]}: build them first (tools/test.sh, or cmake --build)"
        fi
        note "build/bin lacks ${missing[*]}: building (tools/install-deps.sh, cmake)"
        (cd "$root" && bash tools/install-deps.sh && cmake -S . -B build >&2 &&
            cmake --build build -j"$(nproc)" >&2) || die "the build failed"
        missing=()
        for b in "${need[@]}"; do [ -x "$bin_dir/$b" ] || missing+=("$b"); done
        [ ${#missing[@]} -eq 0 ] || die "the build made no ${missing[*]} in $bin_dir"
    fi
    for b in mariadbd mariadb-install-db mariadb mariadb-admin redis-server redis-cli; do
        if ! command -v "$b" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$b" ]; then
            die "$b not found: run tools/install-deps.sh"
        fi
    done
}

storage_tool() {
    if command -v "$1" >/dev/null 2>&1; then command -v "$1"; else echo "/usr/sbin/$1"; fi
}

# ---------------------------------------------------------------------------------------------
# State: the running cluster's shape (run/cluster.state) and the storage ports (storage.env)

save_state() {
    {
        echo "base_port=$base_port"
        echo "db_count=$db_count"
        echo "login_count=$login_count"
        echo "games=${games[*]:-}"
    } >"$state_file"
}

load_state() {
    local key value
    [ -f "$state_file" ] || return 1
    games=()
    while IFS='=' read -r key value; do
        case "$key" in
            base_port) base_port=$value ;;
            db_count) db_count=$value ;;
            login_count) login_count=$value ;;
            games) read -r -a games <<<"$value" ;;
        esac
    done <"$state_file"
}

describe_shape() {
    local s="base port $1, db x$2, login x$3"
    [ -z "$4" ] || s+=", games $4"
    echo "$s"
}

mariadb_port=""
redis_port=""
load_storage_ports() {
    local key value
    [ -f "$storage_file" ] || return 0
    while IFS='=' read -r key value; do
        case "$key" in
            mariadb_port) mariadb_port=$value ;;
            redis_port) redis_port=$value ;;
        esac
    done <"$storage_file"
}

save_storage_ports() {
    printf 'mariadb_port=%s\nredis_port=%s\n' "$mariadb_port" "$redis_port" >"$storage_file"
}

# MariaDB's socket: in run/ unless that path is too long for sun_path.
mariadb_socket() {
    local s=$run_dir/mariadb.sock
    if [ ${#s} -ge 100 ]; then
        s=${TMPDIR:-/tmp}/tb-cluster-$(printf '%s' "$var_dir" | md5sum | cut -c1-12).sock
    fi
    echo "$s"
}

# ---------------------------------------------------------------------------------------------
# Storage

root_sql() {
    "$(storage_tool mariadb)" --no-defaults --socket="$(mariadb_socket)" --user=root --batch \
        --skip-column-names --connect-timeout=5 --execute="$1"
}

start_mariadb() {
    local data=$var_dir/mariadb/data tmp pid deadline socket user_args=()
    socket=$(mariadb_socket)
    [ "$(id -u)" -ne 0 ] || user_args=(--user=root)
    if [ ! -d "$data/mysql" ]; then
        note "initializing MariaDB in $data (first start)"
        mkdir -p "$var_dir/mariadb"
        tmp=$var_dir/mariadb/data.tmp
        rm -rf "$tmp"
        # Its own tmpdir, as for the server below: a starting mariadbd deletes the #sql files in
        # its tmpdir, so bootstraps sharing /tmp broke each other when clusters started at once.
        mkdir -p "$var_dir/mariadb/tmp"
        if ! "$(storage_tool mariadb-install-db)" --no-defaults --datadir="$tmp" \
            --tmpdir="$var_dir/mariadb/tmp" \
            --auth-root-authentication-method=normal --skip-test-db --skip-name-resolve \
            --innodb-log-file-size=16M "${user_args[@]}" >>"$log_dir/mariadb-install.log" 2>&1; then
            tail_log mariadb-install
            die "mariadb-install-db failed (log: $log_dir/mariadb-install.log)"
        fi
        rm -rf "$data"
        mv "$tmp" "$data"
    fi
    if [ -z "$mariadb_port" ] || ! port_free "$mariadb_port"; then
        [ -z "$mariadb_port" ] || note "MariaDB's port $mariadb_port is taken now: picking another"
        mariadb_port=$(pick_port)
        save_storage_ports
    fi
    rm -f "$socket"
    mkdir -p "$var_dir/mariadb/tmp"
    spawn mariadb "$(storage_tool mariadbd)" --no-defaults --datadir="$data" \
        --tmpdir="$var_dir/mariadb/tmp" \
        --port="$mariadb_port" --bind-address=127.0.0.1 --socket="$socket" \
        --pid-file="$var_dir/mariadb/mariadbd.pid" --skip-name-resolve \
        --innodb-flush-log-at-trx-commit=1 --innodb-buffer-pool-size=128M \
        --innodb-log-file-size=16M --max-connections=500 --skip-log-bin \
        --log-error="$log_dir/mariadb.log" "${user_args[@]}"
    pid=$(pid_of mariadb)
    deadline=$((SECONDS + ready_seconds))
    until "$(storage_tool mariadb-admin)" --no-defaults --socket="$socket" --user=root \
        --connect-timeout=2 ping >/dev/null 2>&1; do
        if ! alive "$pid"; then
            tail_log mariadb
            die "MariaDB exited during startup (log: $log_dir/mariadb.log)"
        fi
        if [ $SECONDS -ge $deadline ]; then
            tail_log mariadb
            die "MariaDB not ready after ${ready_seconds} s (log: $log_dir/mariadb.log)"
        fi
        sleep 0.2
    done
    root_sql "CREATE USER IF NOT EXISTS '$mariadb_user'@'%' IDENTIFIED BY '$mariadb_password';
        CREATE USER IF NOT EXISTS '$mariadb_user'@'localhost' IDENTIFIED BY '$mariadb_password';
        GRANT ALL PRIVILEGES ON *.* TO '$mariadb_user'@'%';
        GRANT ALL PRIVILEGES ON *.* TO '$mariadb_user'@'localhost';
        CREATE DATABASE IF NOT EXISTS \`$database\`;" >/dev/null ||
        die "cannot create the MariaDB user $mariadb_user (log: $log_dir/mariadb.log)"
    storage_schedule MariaDB "$pid"
    note "MariaDB up on 127.0.0.1:$mariadb_port (pid $pid)"
}

start_redis() {
    local dir=$var_dir/redis pid deadline
    mkdir -p "$dir"
    if [ -z "$redis_port" ] || ! port_free "$redis_port"; then
        [ -z "$redis_port" ] || note "Redis's port $redis_port is taken now: picking another"
        redis_port=$(pick_port)
        [ "$redis_port" != "$mariadb_port" ] || redis_port=$(pick_port)
        save_storage_ports
    fi
    # Append-only file, fsync every second: the ranking and lockouts survive a restart.
    spawn redis "$(storage_tool redis-server)" --port "$redis_port" --bind 127.0.0.1 \
        --dir "$dir" --appendonly yes --appendfsync everysec --save "" \
        --protected-mode no --daemonize no --logfile "$log_dir/redis.log" \
        --pidfile "$dir/redis-server.pid"
    pid=$(pid_of redis)
    deadline=$((SECONDS + ready_seconds))
    until [ "$("$(storage_tool redis-cli)" -h 127.0.0.1 -p "$redis_port" PING 2>/dev/null)" = PONG ]; do
        if ! alive "$pid"; then
            tail_log redis
            die "Redis exited during startup (log: $log_dir/redis.log)"
        fi
        if [ $SECONDS -ge $deadline ]; then
            tail_log redis
            die "Redis not ready after ${ready_seconds} s (log: $log_dir/redis.log)"
        fi
        sleep 0.1
    done
    storage_schedule Redis "$pid"
    note "Redis up on 127.0.0.1:$redis_port (pid $pid)"
}

# ---------------------------------------------------------------------------------------------
# Nodes

manager_endpoint() { echo "tcp://127.0.0.1:$base_port"; }

# "service count" lines the cluster must show, one per service.
expected_services() {
    local g kind level count
    local -A game_workers=()
    echo "db $db_count"
    echo "login $login_count"
    echo "proxy 1"
    for g in "${games[@]}"; do
        IFS=: read -r kind level count <<<"$g"
        game_workers["game.$kind.$level"]=$((${game_workers["game.$kind.$level"]:-0} + count))
    done
    for g in "${!game_workers[@]}"; do echo "$g ${game_workers[$g]}"; done
}

# Every node component as "name", in start order; game names carry kind and level.
node_names() {
    local i g kind level count k id=0
    echo manager
    for ((i = 1; i <= db_count; i++)); do echo "db-$i"; done
    for ((i = 1; i <= login_count; i++)); do echo "login-$i"; done
    for g in "${games[@]}"; do
        IFS=: read -r kind level count <<<"$g"
        for ((k = 1; k <= count; k++)); do
            id=$((id + 1))
            echo "game-$id-$kind-$level"
        done
    done
    echo proxy
}

start_node() {
    local name=$1 id rest kind level
    local common=(--set "node.base_port=$base_port")
    case "$name" in
        manager)
            spawn manager "$bin_dir/tb-manager" --config "$root/conf/manager.toml" \
                --base-port "$base_port"
            ;;
        db-*)
            TB_MYSQL_PASSWORD=$mariadb_password spawn "$name" "$bin_dir/tb-db" \
                --config "$root/conf/db.toml" --id "${name#db-}" "${common[@]}" \
                --set mysql.host=127.0.0.1 --set "mysql.port=$mariadb_port" \
                --set "mysql.user=$mariadb_user" --set "mysql.database=$database" \
                --set redis.host=127.0.0.1 --set "redis.port=$redis_port" \
                --set "process.scheduler=$storage_scheduler" --set "process.nice=$storage_nice"
            ;;
        login-*)
            spawn "$name" "$bin_dir/tb-login" --config "$root/conf/login.toml" \
                --id "${name#login-}" "${common[@]}"
            ;;
        game-*)
            rest=${name#game-}
            id=${rest%%-*}
            rest=${rest#*-}
            kind=${rest%-*}
            level=${rest##*-}
            local config=()
            [ ! -f "$root/conf/game.toml" ] || config=(--config "$root/conf/game.toml")
            spawn "$name" "$bin_dir/tb-game" "${config[@]}" --game "$kind" --level "$level" \
                --id "$id" "${common[@]}"
            ;;
        proxy)
            spawn proxy "$bin_dir/tb-proxy" --config "$root/conf/proxy.toml" --id 1 "${common[@]}"
            ;;
    esac
}

# Waits until tb-mon shows every expected service with its worker count; fails early when a
# node dies.
wait_for_services() {
    local deadline=$((SECONDS + ready_seconds)) json line service want have missing name
    while :; do
        for name in $(node_names); do
            if ! running_pid "$name" >/dev/null; then
                tail_log "$name"
                die "$name exited during startup (log: $log_dir/$name.log); 'tools/cluster.sh down --var $var_dir' stops the rest"
            fi
        done
        missing=""
        json=$("$bin_dir/tb-mon" --manager "$(manager_endpoint)" services --json 2>/dev/null) ||
            json=""
        if [ -z "$json" ]; then
            missing="the manager's answer"
        else
            while read -r service want; do
                have=0
                while IFS= read -r line; do
                    if [[ $line == *"\"service\":\"$service\""* ]] &&
                        [[ $line =~ \"workers\":([0-9]+) ]]; then
                        have=${BASH_REMATCH[1]}
                    fi
                done < <(tr '{' '\n' <<<"$json")
                [ "$have" -eq "$want" ] || missing+=" $service($have/$want)"
            done < <(expected_services)
        fi
        [ -z "$missing" ] && return 0
        if [ $SECONDS -ge $deadline ]; then
            die "not ready after ${ready_seconds} s: waiting for$missing (logs: $log_dir); 'tools/cluster.sh down --var $var_dir' stops what runs"
        fi
        sleep 0.3
    done
}

# ---------------------------------------------------------------------------------------------
# Commands

lock() {
    exec 9>"$run_dir/lock"
    if command -v flock >/dev/null 2>&1; then
        flock -w 120 9 || die "another cluster.sh holds $run_dir/lock"
    fi
}

cmd_up() {
    local started=$SECONDS name requested games_needed=0 port g
    find_bins
    [ ${#games[@]} -eq 0 ] || games_needed=1
    if [ $games_needed -eq 1 ] && [ ! -x "$bin_dir/tb-game" ]; then
        die "--game needs tb-game, which $bin_dir does not have (game nodes are not built yet)"
    fi
    lock
    requested=$(describe_shape "$base_port" "$db_count" "$login_count" "${games[*]:-}")
    if anything_running; then
        load_state || die "processes run in $var_dir but $state_file is gone: 'down' first"
        local current
        current=$(describe_shape "$base_port" "$db_count" "$login_count" "${games[*]:-}")
        if [ $explicit_shape -eq 1 ] && [ "$current" != "$requested" ]; then
            note "the cluster in $var_dir already runs ($current); not changed to ($requested): 'down' first"
        fi
        # A policy is set when a process starts; the running storage side keeps what it has.
        if [ $explicit_storage -eq 1 ] && { running_pid redis >/dev/null || running_pid mariadb >/dev/null; }; then
            note "the storage side in $var_dir already runs; --storage-scheduler and --storage-nice apply only to what starts now: 'down' first"
        fi
    else
        # Nothing of ours runs: leftovers of a killed run first, then a fresh start.
        stop_strays
        rm -f "$run_dir"/*.pid
        save_state
        for port in "$base_port" $((base_port + 1)) $((base_port + 3333)) $((base_port + 3545)); do
            port_free "$port" ||
                die "port $port is in use (base port $base_port: bus, +1, +3333, +3545); choose another --base-port"
        done
    fi

    load_storage_ports
    running_pid redis >/dev/null || start_redis
    running_pid mariadb >/dev/null || start_mariadb
    local fresh=()
    for name in $(node_names); do
        if ! running_pid "$name" >/dev/null; then
            start_node "$name"
            fresh+=("$name")
            # Nodes register with a running manager; give it a moment to bind first.
            [ "$name" != manager ] || sleep 0.2
        fi
    done
    local how="up in"
    if [ ${#fresh[@]} -eq 0 ]; then how="already running, checked in"; else note "started ${fresh[*]}"; fi
    wait_for_services
    note "cluster $how $((SECONDS - started)) s: $(describe_shape "$base_port" "$db_count" \
        "$login_count" "${games[*]:-}"); MariaDB 127.0.0.1:$mariadb_port, Redis 127.0.0.1:$redis_port"
    note "manager $(manager_endpoint), metrics http://127.0.0.1:$((base_port + 3545))/metrics, logs $log_dir"
    echo "proxy 127.0.0.1:$((base_port + 3333))"
}

cmd_status() {
    local name pid any=0 dead=0 rc=0
    for name in $(recorded_names); do
        pid=$(pid_of "$name" || echo '?')
        if running_pid "$name" >/dev/null; then
            printf '%-24s pid %-8s alive\n' "$name" "$pid"
            any=1
        else
            printf '%-24s pid %-8s DEAD (log: %s)\n' "$name" "$pid" "$log_dir/$name.log"
            dead=1
        fi
    done
    if [ $any -eq 0 ]; then
        echo "nothing runs in $var_dir"
        return 3
    fi
    if load_state; then
        echo
        echo "$(describe_shape "$base_port" "$db_count" "$login_count" "${games[*]:-}"); proxy 127.0.0.1:$((base_port + 3333))"
        local mon=$root/build/bin/tb-mon
        [ -z "${TB_BIN:-}" ] || mon=$TB_BIN/tb-mon
        if [ -x "$mon" ]; then
            "$mon" --manager "$(manager_endpoint)" services || rc=1
        fi
    fi
    [ $dead -eq 0 ] || rc=1
    return $rc
}

cmd_down() {
    local names group
    lock
    names=$(recorded_names)
    for group in proxy login game db manager redis; do
        # shellcheck disable=SC2046 # names have no spaces
        stop_group "$stop_seconds" $(grep -E "^$group(-|\$)" <<<"$names" || true)
    done
    # shellcheck disable=SC2046
    stop_group "$mariadb_stop_seconds" $(grep -E '^mariadb$' <<<"$names" || true)
    stop_strays
    rm -f "$run_dir"/*.pid "$state_file" "$(mariadb_socket)"
    return 0
}

case "$command" in
    up) cmd_up ;;
    status) cmd_status ;;
    down) cmd_down ;;
esac

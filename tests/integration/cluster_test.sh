#!/usr/bin/env bash
# tools/cluster.sh end to end: up (first start, MariaDB initialized), the services on the bus,
# up again on the running cluster, status, a FastRegister through the proxy, down, nothing left
# behind, a second up on the kept data (the account is still there) with the storage under
# SCHED_IDLE at nice 19 (--storage-scheduler, --storage-nice), down twice.
#
#   tests/integration/cluster_test.sh BIN_DIR
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 BIN_DIR" >&2; exit 2; }
bin_dir=$(cd "$1" && pwd)
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cluster=$root/tools/cluster.sh
export TB_BIN=$bin_dir

fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }

var=$(mktemp -d "${TMPDIR:-/tmp}/tb-cluster-test.XXXXXX")
cleanup() {
    local rc=$?
    if [ $rc -ne 0 ]; then
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
pick_base_port 0 && base=$TB_BASE_PORT || base=""
[ -n "$base" ] || fail "no free base port"
proxy_port=$((base + 3333))
expect_last="proxy 127.0.0.1:$proxy_port"
echo "var dir $var, base port $base"

now_ms() { date +%s%3N; }

# up [ARGS...]; checks the exit status and the last line; sets up_ms.
run_up() {
    local out start rc=0
    start=$(now_ms)
    out=$(bash "$cluster" up --base-port "$base" --var "$var" "$@" 2>&1) || rc=$?
    up_ms=$(($(now_ms) - start))
    printf '    %s\n' "${out//$'\n'/$'\n    '}"
    [ $rc -eq 0 ] || fail "up exited $rc"
    [ "$(tail -n 1 <<<"$out")" = "$expect_last" ] ||
        fail "up's last line is '$(tail -n 1 <<<"$out")', expected '$expect_last'"
}

# The scheduling policies of every thread of a cluster process, e.g. "SCHED_BATCH".
policies_of() {
    local pid t
    pid=$(cat "$var/run/$1.pid")
    for t in /proc/"$pid"/task/*; do
        chrt --pid "${t##*/}" | awk -F': *' 'NR == 1 { print $2 }'
    done | sort -u | tr '\n' ' ' | sed 's/ $//'
}

# expect_policies POLICY NAME...: every thread of each process runs under POLICY.
expect_policies() {
    local want=$1 name got
    shift
    for name in "$@"; do
        got=$(policies_of "$name")
        [ "$got" = "$want" ] || fail "$name runs under '$got', expected $want"
    done
}

# expect_nice NICE NAME...: every thread of each process runs at nice NICE.
expect_nice() {
    local want=$1 name got
    shift
    for name in "$@"; do
        # Field 19 of each thread's stat (ps prints "-" for a SCHED_IDLE thread's nice); the
        # command name (field 2) has no spaces for these programs.
        got=$(cat /proc/"$(cat "$var/run/$name.pid")"/task/*/stat | awk '{ print $19 }' |
            sort -u | tr '\n' ' ' | sed 's/ $//')
        [ "$got" = "$want" ] || fail "$name's threads run at nice '$got', expected $want"
    done
}

# expect_one_group NAME...: each process leads a process group of its own (a Ctrl-C at the
# terminal does not reach it) in this shell's session, so the kernel schedules the cluster as
# one group with whatever ran it (with autogroup on, a session of its own would be a group).
expect_one_group() {
    local name pid sid pgid mine
    mine=$(ps -o sid= -p $$ | tr -d ' ')
    for name in "$@"; do
        pid=$(cat "$var/run/$name.pid")
        read -r sid pgid < <(ps -o sid=,pgid= -p "$pid")
        [ "$pgid" = "$pid" ] || fail "$name (pid $pid) is in process group $pgid, not its own"
        [ "$sid" = "$mine" ] || fail "$name (pid $pid) is in session $sid, not this shell's $mine"
        if [ -r /proc/$$/autogroup ]; then
            [ "$(cut -d' ' -f1 "/proc/$pid/autogroup")" = "$(cut -d' ' -f1 /proc/$$/autogroup)" ] ||
                fail "$name is in $(cat "/proc/$pid/autogroup"), not in $(cat /proc/$$/autogroup)"
        fi
    done
}

# FastRegister (1,1) through the proxy; prints the UserID of the (1,1) reply.
fast_register() {
    python3 - "$proxy_port" <<'EOF'
import json, socket, struct, sys, time

port = int(sys.argv[1])
body = json.dumps({"Account": "cluster_test_1", "Password": "cluster-test-pw", "Machine":
                   "cluster-test-machine-0001", "Name": "tester", "Icon": 1,
                   "Gender": 3}).encode()
frame = struct.pack(">HHHH", 0x5277, 8 + len(body), 1, 1) + body
sock = socket.create_connection(("127.0.0.1", port), timeout=10)
sock.sendall(frame)
buf = b""
deadline = time.monotonic() + 15
while time.monotonic() < deadline:
    while len(buf) >= 4 and len(buf) >= struct.unpack(">H", buf[2:4])[0]:
        magic, length, mcmd, scmd = struct.unpack(">HHHH", buf[:8])
        payload, buf = buf[8:length], buf[length:]
        if magic != 0x5277:
            sys.exit(f"bad magic {magic:#x}")
        if (mcmd, scmd) == (0, 0):
            continue  # keep-alive
        if (mcmd, scmd) != (1, 1):
            sys.exit(f"unexpected ({mcmd},{scmd}): {payload!r}")
        reply = json.loads(payload)
        if reply.get("Errno") or not reply.get("UserID"):
            sys.exit(f"FastRegister failed: {reply}")
        print(reply["UserID"])
        sys.exit(0)
    chunk = sock.recv(65536)
    if not chunk:
        sys.exit("the proxy closed the connection")
    buf += chunk
sys.exit("no (1,1) reply within 15 s")
EOF
}

# --- first up: MariaDB initialized -------------------------------------------------------------
run_up
first_ms=$up_ms
ok "up (first start, MariaDB initialized) in ${first_ms} ms: $expect_last"

services=$("$bin_dir/tb-mon" --manager "tcp://127.0.0.1:$base" services --json)
for s in db login proxy; do
    grep -q "\"service\":\"$s\"" <<<"$services" || fail "tb-mon services lacks $s: $services"
done
ok "tb-mon services lists db, login and proxy"

expect_policies SCHED_BATCH manager proxy login-1 db-1 mariadb redis
ok "every node, MariaDB and Redis run under SCHED_BATCH by default"
expect_one_group manager proxy login-1 db-1 mariadb redis
ok "every process leads its own process group, in this shell's session (one scheduling group)"

run_up
ok "up on the running cluster: exit 0, same address, ${up_ms} ms"

out=$(bash "$cluster" up --base-port "$base" --var "$var" --storage-nice 7 2>&1) ||
    fail "up --storage-nice 7 on the running cluster exited non-zero: $out"
grep -q "storage side in $var already runs.*'down' first" <<<"$out" ||
    fail "up --storage-nice 7 on the running cluster did not say the storage side keeps its nice: $out"
expect_nice 0 db-1 mariadb redis
ok "up --storage-nice 7 on the running cluster says it applies only to what starts; nice stays 0"

bash "$cluster" status --var "$var" | sed 's/^/    /' || fail "status did not exit 0"
ok "status exits 0"

user_id=$(fast_register) || fail "FastRegister through the proxy"
ok "FastRegister through 127.0.0.1:$proxy_port answered (1,1), UserID $user_id"

start=$(now_ms)
bash "$cluster" down --var "$var" || fail "down exited non-zero"
ok "down in $(($(now_ms) - start)) ms"

rc=0
bash "$cluster" status --var "$var" >/dev/null || rc=$?
[ $rc -eq 3 ] || fail "status after down exited $rc, expected 3"
ok "status after down exits 3"

left=$(pgrep -af -- "$var" || true)
[ -z "$left" ] || fail "processes left after down: $left"
ok "no process mentions $var"

# --- second up: the data was kept; the storage side under SCHED_IDLE at nice 19 ---------------
rc=0
out=$(bash "$cluster" up --base-port "$base" --var "$var" --storage-scheduler fifo 2>&1) || rc=$?
[ $rc -eq 2 ] || fail "up --storage-scheduler fifo exited $rc, expected 2: $out"
grep -q "batch, idle or normal" <<<"$out" || fail "no clear error for a bad storage scheduler: $out"
[ ! -e "$var/run/manager.pid" ] || ! kill -0 "$(cat "$var/run/manager.pid")" 2>/dev/null ||
    fail "up with a bad storage scheduler started the manager"
ok "up --storage-scheduler fifo: exit 2, nothing started"
rc=0
out=$(bash "$cluster" up --base-port "$base" --var "$var" --storage-nice 20 2>&1) || rc=$?
[ $rc -eq 2 ] || fail "up --storage-nice 20 exited $rc, expected 2: $out"
grep -q "from -20 to 19" <<<"$out" || fail "no clear error for a bad storage nice: $out"
[ ! -e "$var/run/manager.pid" ] || ! kill -0 "$(cat "$var/run/manager.pid")" 2>/dev/null ||
    fail "up with a bad storage nice started the manager"
ok "up --storage-nice 20: exit 2, nothing started"

run_up --storage-scheduler idle --storage-nice 19
second_ms=$up_ms
ok "up again (kept data, --storage-scheduler idle --storage-nice 19) in ${second_ms} ms"
expect_policies SCHED_IDLE db-1 mariadb redis
expect_policies SCHED_BATCH manager proxy login-1
ok "tb-db, MariaDB and Redis run under SCHED_IDLE, the other nodes under SCHED_BATCH"
expect_nice 19 db-1 mariadb redis
expect_nice 0 manager proxy login-1
ok "every thread of tb-db, MariaDB and Redis at nice 19, of the other nodes at nice 0"
again=$(fast_register) || fail "FastRegister after the restart"
[ "$again" = "$user_id" ] || fail "the account changed across the restart: $user_id, then $again"
ok "the account survived down/up (UserID $again)"

bash "$cluster" down --var "$var" >/dev/null 2>&1 || fail "down exited non-zero"
bash "$cluster" down --var "$var" || fail "a second down exited non-zero"
ok "down twice: exit 0"
left=$(pgrep -af -- "$var" || true)
[ -z "$left" ] || fail "processes left after down: $left"

echo "timings: first up ${first_ms} ms (MariaDB initialized), up on kept data ${second_ms} ms"
echo "PASS"

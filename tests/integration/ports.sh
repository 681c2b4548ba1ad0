# Sourced by the shell integration tests: a base port for a cluster of their own.
#
# pick_base_port OFFSET sets TB_BASE_PORT to 20000 + 50 * r + OFFSET for a port range r that
# this shell holds exclusively, by the same lock files as tests/support/process.cc port_base():
# range r owns the 50-port blocks r, r + 66, r + 67, r + 70 and r + 71 (its clients listen on
# base + 3333, metrics on base + 3545), and a flock on each block's file, held on an fd of this
# shell until it exits, keeps every other test process out of them. Call it directly, not in
# $(...): a subshell would drop the locks when it ends.

port_free() { [ -z "$(ss -Htan exclude time-wait "( sport = :$1 )" 2>/dev/null)" ]; }

pick_base_port() {
    local offset=$1 dir=${TB_TEST_PORT_LOCKS:-/tmp/tablebus-test-ports} i r b fd base ok
    local -a fds
    mkdir -p "$dir" || return 1
    for i in $(seq 0 179); do
        r=$(((BASHPID + i) % 180))
        fds=()
        ok=1
        for b in $r $((r + 66)) $((r + 67)) $((r + 70)) $((r + 71)); do
            exec {fd}>>"$dir/block-$b.lock" || { ok=0; break; }
            if flock -n "$fd"; then
                fds+=("$fd")
            else
                exec {fd}>&-
                ok=0
                break
            fi
        done
        base=$((20000 + r * 50 + offset))
        if [ $ok = 1 ] && port_free "$base" && port_free $((base + 1)) &&
            port_free $((base + 3333)) && port_free $((base + 3545)); then
            TB_BASE_PORT=$base
            return 0
        fi
        for fd in "${fds[@]}"; do exec {fd}>&-; done
    done
    return 1
}

# Sourced by the shell integration tests: a free base port for a cluster of their own.
#
# pick_base_port OFFSET prints 20000 + OFFSET + 50k for a k taken from our pid, moving on while
# any of its ports (bus, announcements = +1, clients = +3333, metrics = +3545) is taken. Each
# test uses its own OFFSET (cluster_test 0, demo_test 10, play_test 25): modulo 50 their ports
# are then disjoint, so two tests running at once never pick the same one.

port_free() { [ -z "$(ss -Htan exclude time-wait "( sport = :$1 )" 2>/dev/null)" ]; }

pick_base_port() {
    local offset=$1 i candidate
    for i in $(seq 0 99); do
        candidate=$((20000 + offset + (($$ + i) % 100) * 50))
        if port_free "$candidate" && port_free $((candidate + 1)) &&
            port_free $((candidate + 3333)) && port_free $((candidate + 3545)); then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

#!/usr/bin/env bash
# Installs every Debian 12 package tablebus needs to build, test and run (docs/operations.md).
# Idempotent: when everything is present it prints nothing and exits 0.
# libmsgpack-cxx-dev conflicts with the C package libmsgpack-dev: only the C++ one is listed.
set -euo pipefail

packages=(
    build-essential cmake pkg-config git ca-certificates
    libzmq3-dev cppzmq-dev libmsgpack-cxx-dev libspdlog-dev libfmt-dev
    libmariadb-dev libhiredis-dev catch2 nlohmann-json3-dev libtomlplusplus-dev
    libcli11-dev libssl-dev
    mariadb-server mariadb-client redis-server redis-tools
    clang-14 libclang-rt-14-dev clang-format-14
    python3-yaml
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
# A service the package starts on install would hold the default ports; tests run private
# instances, so keep the packages from starting theirs (policy-rc.d exit 101 = "not allowed").
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${sudo_cmd[@]}" tee "$policy" >/dev/null
    "${sudo_cmd[@]}" chmod +x "$policy"
    made_policy=1
fi
cleanup() { if [ "$made_policy" -eq 1 ]; then "${sudo_cmd[@]}" rm -f "$policy"; fi; }
trap cleanup EXIT
if ! "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/tb-apt.log 2>&1; then
    "${sudo_cmd[@]}" apt-get update -q >/tmp/tb-apt-update.log 2>&1 || true
    "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/tb-apt.log 2>&1 || {
        echo "install-deps: apt-get failed; see /tmp/tb-apt.log" >&2
        tail -n 20 /tmp/tb-apt.log >&2
        exit 1
    }
fi

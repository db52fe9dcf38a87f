#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it: installs the Debian
# packages the tests need (C rpcgen and libtirpc, the reference
# implementation), starts the real RPC peers on loopback (rpcbind and the
# C rpcgen server, from ../shared/peers), then runs every test of the
# workspace.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v rpcgen >/dev/null 2>&1 || need+=(rpcsvc-proto)
[ -e /usr/include/tirpc/rpc/rpc.h ] || need+=(libtirpc-dev)
[ -e /usr/include/libvirt/libvirt.h ] || need+=(libvirt-dev)
command -v cc >/dev/null 2>&1 || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update
    $sudo apt-get install -y --no-install-recommends "${need[@]}"
fi

# Real peers, loopback only: rpcbind, the C rpcgen server, libvirtd (test
# driver; its install brings virsh), and stock rpc.rstatd (whose replies
# carry bytes rstat.x does not declare). Their scripts need root; they
# install what they need and are idempotent. Peers this script started are
# stopped at the end.
peers=../shared/peers
state=${XDRGEN_PEERS_STATE:-/tmp/xdrgen-peers}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
started=()
for peer in rpcbind c-rpcgen libvirt rpcsvc; do
    # Which daemons of the peer (rpcsvc has five; the tests need rstatd).
    only=""
    case $peer in
        rpcbind) pidfile="$state/rpcbind/rpcbind.pid" ;;
        c-rpcgen) pidfile="$state/c-rpcgen/peertest_server.pid" ;;
        libvirt) pidfile="$state/libvirt/libvirtd.pid" ;;
        rpcsvc) pidfile="$state/rpcsvc/rstatd.pid" only=rstatd ;;
    esac
    if ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
        started=("$peer" "${started[@]}")
    fi
    $sudo "$peers/$peer/start.sh" "$state" $only >/dev/null
done
stop_peers() {
    for peer in "${started[@]}"; do
        only=""
        [ "$peer" = rpcsvc ] && only=rstatd
        $sudo "$peers/$peer/stop.sh" "$state" $only >/dev/null || true
    done
}
trap stop_peers EXIT
export XDRGEN_PEERS_STATE="$state" XDRGEN_REQUIRE_PEERS=1

# Every test that cannot run says so in this log (xdrgen-testenv); with
# XDRGEN_REQUIRE_PEERS=1 a missing requirement fails instead, so under this
# script the summary below should say nothing was skipped.
export XDRGEN_SKIP_LOG="$PWD/target/xdrgen-skipped.log"
mkdir -p target
: > "$XDRGEN_SKIP_LOG"
summary() {
    local n
    n=$(grep -c . "$XDRGEN_SKIP_LOG" 2>/dev/null || true)
    echo "== skipped: ${n:-0}"
    [ "${n:-0}" = 0 ] || cat "$XDRGEN_SKIP_LOG"
}
trap 'summary; stop_peers' EXIT

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Generated code and the runtime codec without std: built on its own so
# workspace feature unification cannot turn std back on.
cargo build --locked -p xdrgen-tests-no-std
cargo test --workspace --locked
# The published crates package (their dependencies on each other resolve
# inside the workspace).
cargo package --locked --no-verify --allow-dirty -q \
    -p xdrgen-runtime -p xdrgen-build -p xdrgen-macros -p xdrgen-cli -p xdrgen-protocols
# The examples of the build-script and macro front doors run too.
cargo run --locked -q -p example-build-script >/dev/null
cargo run --locked -q -p example-macro >/dev/null

#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it: installs the Debian
# packages the tests need (C rpcgen and libtirpc, the reference
# implementation; tcpdump and tshark for the capture tests; libnfs and
# nfs-common's stock NFS clients; OpenSSH, netcat and socat for the libvirt
# URI transports; sasl2-bin and cyrus's mechanisms for SASL), starts the real RPC peers on loopback
# (from ../shared/peers), runs every test of the workspace, then builds
# the fuzz targets and runs each briefly.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v rpcgen >/dev/null 2>&1 || need+=(rpcsvc-proto)
[ -e /usr/include/tirpc/rpc/rpc.h ] || need+=(libtirpc-dev)
[ -e /usr/include/libvirt/libvirt.h ] || need+=(libvirt-dev)
command -v cc >/dev/null 2>&1 || need+=(gcc)
command -v curl >/dev/null 2>&1 || need+=(curl ca-certificates)
command -v xz >/dev/null 2>&1 || need+=(xz-utils)
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v tcpdump >/dev/null 2>&1 || need+=(tcpdump)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
# libvirt's own Wireshark dissector, the reference for libvirt captures.
dpkg -s libvirt-wireshark >/dev/null 2>&1 || need+=(libvirt-wireshark)
command -v nfs-cp >/dev/null 2>&1 || need+=(libnfs-utils)
command -v showmount >/dev/null 2>&1 || need+=(nfs-common)
# libvirt URIs: +ssh through a real sshd the test starts (netcat on the
# far side, as libvirt's ssh transport uses), +ext through a socat script.
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v ssh >/dev/null 2>&1 || need+=(openssh-client)
command -v nc >/dev/null 2>&1 || need+=(netcat-openbsd)
command -v socat >/dev/null 2>&1 || need+=(socat)
# SASL: saslpasswd2 makes the users of the libvirtd the SASL test starts;
# cyrus's mechanism plugins (SCRAM, PLAIN) come with libsasl2-modules.
command -v saslpasswd2 >/dev/null 2>&1 || need+=(sasl2-bin)
dpkg -s libsasl2-modules >/dev/null 2>&1 || need+=(libsasl2-modules)
if [ ${#need[@]} -gt 0 ]; then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    $sudo apt-get update
    $sudo env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y --no-install-recommends "${need[@]}"
fi

# Real peers, loopback only: rpcbind, the C rpcgen server, libvirtd (test
# driver; its install brings virsh), and stock rpc.rstatd (whose replies
# carry bytes rstat.x does not declare), and nfs-ganesha (NFSv3, MOUNT,
# NLM and its rpc.statd). Their scripts need root; they
# install what they need and are idempotent. Peers this script started are
# stopped at the end.
peers=../shared/peers
state=${XDRGEN_PEERS_STATE:-/tmp/xdrgen-peers}
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
started=()
# Each entry is a peer, or a peer and the one daemon of it the tests need
# (rpcsvc has five: rstatd for its undeclared reply bytes, statd for
# ganesha's NLM, which is refused without it). statd is its own entry so
# it runs even when ganesha is already up from an earlier run.
for spec in rpcbind c-rpcgen libvirt rpcsvc:rstatd rpcsvc:statd ganesha; do
    peer=${spec%%:*}
    only=${spec#"$peer"}
    only=${only#:}
    case $spec in
        rpcbind) pidfile="$state/rpcbind/rpcbind.pid" ;;
        c-rpcgen) pidfile="$state/c-rpcgen/peertest_server.pid" ;;
        libvirt) pidfile="$state/libvirt/libvirtd.pid" ;;
        rpcsvc:*) pidfile="$state/rpcsvc/$only.pid" ;;
        ganesha) pidfile="$state/ganesha/ganesha.pid" ;;
    esac
    if ! { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }; then
        started=("$spec" "${started[@]}")
    fi
    # ganesha with NLM v4.
    $sudo env GANESHA_NLM=1 "$peers/$peer/start.sh" "$state" $only >/dev/null
done
stop_peers() {
    for spec in "${started[@]}"; do
        peer=${spec%%:*}
        only=${spec#"$peer"}
        $sudo "$peers/$peer/stop.sh" "$state" ${only#:} >/dev/null || true
    done
}
trap stop_peers EXIT
export XDRGEN_PEERS_STATE="$state" XDRGEN_REQUIRE_PEERS=1
# A kernel without an nfs file system (and no modules to load one, as in a
# minimal VM kernel) cannot run the kernel-client test: say so, and the
# test reports it instead of failing.
if [ ! -e /proc/modules ] && ! grep -qw nfs /proc/filesystems; then
    echo "== this kernel has no NFS client: the kernel-client test will say NOT RUN"
    export XDRGEN_NO_KERNEL_NFS=1
fi

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

# A one-shot build: incremental caches and line tables would only add to
# the disk used (CI ran out of it). A failing test still names its file
# and line; only a backtrace's frames lose theirs.
export CARGO_INCREMENTAL=0 CARGO_PROFILE_DEV_DEBUG=false

cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
# Generated code and the runtime codec without std: built on its own so
# workspace feature unification cannot turn std back on.
cargo build --locked -p xdrgen-tests-no-std
cargo test --workspace --locked
# The nested builds of the lone-clone and README tests are caches for
# reruns of those tests only; the steps below need the disk more.
rm -rf target/lone-clone/repo/target target/readme
# The published crates package (their dependencies on each other resolve
# inside the workspace).
cargo package --locked --no-verify --allow-dirty -q \
    -p xdrgen-runtime -p xdrgen-build -p xdrgen-macros -p xdrgen-cli -p xdrgen-protocols \
    -p xdrgen-libvirt
# The examples of the build-script and macro front doors run too.
cargo run --locked -q -p example-build-script >/dev/null
cargo run --locked -q -p example-macro >/dev/null
# Every fuzz target builds and runs briefly from its seeds (the campaign's
# figures are in fuzz/README.md).
bash scripts/fuzz-smoke.sh

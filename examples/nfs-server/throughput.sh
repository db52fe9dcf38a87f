#!/usr/bin/env bash
# Throughput of a 16 MiB copy with libnfs's nfs-cp, both ways, against
# nfs-ganesha (the ganesha peer) and against this example server, in the
# same run, on loopback. Each copy is checked byte for byte (sha256).
#
#   examples/nfs-server/throughput.sh [RUNS]     (default 5; needs root)
#
# Needs: the ganesha peer with FSAL_VFS (../shared/peers/ganesha/start.sh
# STATE; STATE from $XDRGEN_PEERS_STATE, default /tmp/xdrgen-peers) and
# Debian's libnfs-utils. libnfs finds servers only through rpcbind, so our
# server runs with --take-over: it holds the NFS v3 and MOUNT v3 mappings
# while it runs and gives them back to ganesha when it stops.
set -euo pipefail
shopt -s inherit_errexit
cd "$(dirname "$0")/../.."
runs=${1:-5}
state=${XDRGEN_PEERS_STATE:-/tmp/xdrgen-peers}
conf="$state/ganesha/ganesha.conf"
[ -f "$conf" ] || { echo "ganesha peer not started ($conf missing)" >&2; exit 1; }
ganesha_dir=$(sed -n 's/^ *Path = "\(.*\)";/\1/p' "$conf")
grep -q 'Name = VFS;' "$conf" || { echo "ganesha runs FSAL_MEM: no file data to copy" >&2; exit 1; }
command -v nfs-cp >/dev/null || { echo "nfs-cp missing (apt-get install libnfs-utils)" >&2; exit 1; }

cargo build --release -q -p example-nfs-server
server_bin=target/release/example-nfs-server

work=$(mktemp -d)
ours_dir="$work/export"
mkdir -p "$ours_dir"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
    rm -f "$ganesha_dir"/xdrgen-throughput-$$-*.bin
    rm -rf "$work"
}
trap cleanup EXIT

head -c $((16 << 20)) /dev/urandom > "$work/source.bin"
want=$(sha256sum < "$work/source.bin" | cut -d' ' -f1)

now() { date +%s.%N; }
# MiB/s of one nfs-cp FROM TO, after which FILE must hash to $want.
copy() {
    local from=$1 to=$2 check=$3 t0 t1
    rm -f "$work/download.bin"
    t0=$(now)
    nfs-cp "$from" "$to" >/dev/null || { echo "nfs-cp $from $to failed" >&2; exit 1; }
    t1=$(now)
    [ "$(sha256sum < "$check" | cut -d' ' -f1)" = "$want" ] || { echo "copy $from -> $to differs" >&2; exit 1; }
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", 16 / (b - a) }'
}
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

measure() { # NAME DIR: upload and download RUNS times each
    local name=$1 dir=$2 up="" down="" i file
    for i in $(seq "$runs"); do
        # A new name each run: libnfs creates GUARDED, so an existing file
        # is NFS3ERR_EXIST, and ganesha's cache outlives a removal on disk.
        file=xdrgen-throughput-$$-$i.bin
        up="$up $(copy "$work/source.bin" "nfs://127.0.0.1/export/$file" "$dir/$file")"
        down="$down $(copy "nfs://127.0.0.1/export/$file" "$work/download.bin" "$work/download.bin")"
    done
    last_up=$(echo "$up" | median)
    last_down=$(echo "$down" | median)
    printf '%-28s %10s %10s   runs: up%s | down%s\n' "$name" "$last_up" "$last_down" "$up" "$down"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }

printf '%-28s %10s %10s\n' "16 MiB nfs-cp (MiB/s)" "upload" "download"
measure "libnfs -> nfs-ganesha 4.3" "$ganesha_dir"
ganesha_up=$last_up ganesha_down=$last_down

"$server_bin" "$ours_dir" --take-over > "$work/ports" 2> "$work/server.log" &
server_pid=$!
for _ in $(seq 100); do [ -s "$work/ports" ] && break; sleep 0.1; done
[ -s "$work/ports" ] || { cat "$work/server.log" >&2; exit 1; }
measure "libnfs -> example-nfs-server" "$ours_dir"
printf '%-28s %10s %10s   (median MiB/s, ours / ganesha)\n' "example-nfs-server/ganesha" \
    "$(ratio "$last_up" "$ganesha_up")" "$(ratio "$last_down" "$ganesha_down")"
kill -TERM "$server_pid"
wait "$server_pid"
server_pid=""
rpcinfo -p 127.0.0.1 | awk '$1 == 100003 && $2 == 3 && $4 != 2049 { bad = 1 } END { exit bad }' \
    || { echo "NFS v3 was not given back to ganesha" >&2; exit 1; }

#!/usr/bin/env bash
# Instructions per operation (callgrind Ir) for every (workload, impl, op):
# the stable measure on a noisy host.
#
#   bash bench/callgrind.sh                  # the whole table (markdown)
#   bash bench/callgrind.sh small list       # only these workloads
#   bash bench/callgrind.sh --profile WORKLOAD IMPL OP
#                                            # per-function breakdown of one
#
# Each case runs `ops WORKLOAD IMPL OP N` under callgrind for two N and
# reports (Ir(N2) - Ir(N1)) / (N2 - N1), so start-up, building the values
# and the pre-timing verification cancel out. N = 100/1100 for small and
# 2/12 for the others, as in BASELINE.md. The binary is built with the
# `bench` profile (release + debug info), the one `cargo bench` uses.
# Valgrind counts each iteration of `rep movsb` as one instruction, so the
# bulk rows show how memcpy is implemented, not what it costs.
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v valgrind >/dev/null; then
    echo "SKIPPED: valgrind is not installed (apt-get install valgrind)"
    exit 0
fi

bin=$(cargo build -p xdrgen-bench --profile bench --bin ops --message-format=json-render-diagnostics |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "ops":
        print(m["executable"])
')
if [ -z "$bin" ]; then
    echo "callgrind.sh: no ops binary was built" >&2
    exit 1
fi
if "$bin" small hand encode 1 | grep -q SKIPPED; then
    "$bin" small hand encode 1
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Total Ir of one run (or, with TOGGLE set, only inside that function).
ir() {
    local out="$tmp/cg.out" toggle=()
    [ -z "${TOGGLE:-}" ] || toggle=(--toggle-collect="$TOGGLE")
    valgrind --tool=callgrind --callgrind-out-file="$out" "${toggle[@]}" "$bin" "$@" >/dev/null 2>"$tmp/vg.log" || {
        cat "$tmp/vg.log" >&2
        return 1
    }
    awk '/^(summary|totals):/ { print $2; exit }' "$out"
}

# Ir per op of one case: (Ir(N2) - Ir(N1)) / (N2 - N1).
per_op() {
    local w=$1 i=$2 o=$3 n1=2 n2=12 a b
    [ "$w" != small ] || { n1=100; n2=1100; }
    a=$(ir "$w" "$i" "$o" "$n1")
    b=$(ir "$w" "$i" "$o" "$n2")
    echo $(( (b - a) / (n2 - n1) ))
}

if [ "${1:-}" = "--profile" ]; then
    [ $# -eq 4 ] || { echo "usage: $0 --profile WORKLOAD IMPL OP" >&2; exit 2; }
    w=$2 i=$3 o=$4
    n=12; [ "$w" = small ] && n=1100
    out="$tmp/profile.out"
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*xdrbench_measured' \
        "$bin" "$w" "$i" "$o" "$n" >/dev/null 2>"$tmp/vg.log"
    echo "# $w $i $o: $n ops, only inside the measured loop (divide by $n for per op)"
    callgrind_annotate --inclusive=no --auto=no "$out" | sed -n "/^Ir/,\$p" | head -40
    exit 0
fi

workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(small list linked bulk union)
impls=(generated hand c-tirpc)

# BASELINE.md's rust-hand instruction counts: the targets.
declare -A target=(
    [small/encode]=150 [small/decode]=452
    [list/encode]=147204 [list/decode]=671265
    [linked/encode]=79659 [linked/decode]=583209
    [bulk/encode]=1048623 [bulk/decode]=1048948
    [union/encode]=32681 [union/decode]=111747
)

sep() { echo "$1" | sed ':a;s/\B[0-9]\{3\}\>/,&/;ta'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "n/a"; else printf "%.2fx", a / b }'; }

echo "| workload | op | generated | hand | c-tirpc | generated/hand | c-tirpc/generated | hand excl. UTF-8 check | generated/(hand excl. UTF-8) | BASELINE rust-hand |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
for w in "${workloads[@]}"; do
    for o in encode decode; do
        declare -A per=()
        for i in "${impls[@]}"; do
            per[$i]=$(per_op "$w" "$i" "$o")
        done
        # The hand codec decodes strings into `String` (UTF-8 checked, as
        # BASELINE.md's rust-hand does); the generated code keeps bytes
        # (`XdrString`) and checks nothing. Count the check separately.
        utf8=0
        [ "$o" = encode ] || utf8=$(TOGGLE='core::str::converts::from_utf8' per_op "$w" hand "$o")
        bare=$(( per[hand] - utf8 ))
        echo "| $w | $o | $(sep "${per[generated]}") | $(sep "${per[hand]}") | $(sep "${per[c-tirpc]}") | $(ratio "${per[generated]}" "${per[hand]}") | $(ratio "${per[c-tirpc]}" "${per[generated]}") | $(sep "$bare") | $(ratio "${per[generated]}" "$bare") | $(sep "${target[$w/$o]}") |"
        unset per
    done
done

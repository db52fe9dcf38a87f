#!/usr/bin/env bash
# Instructions per operation (callgrind Ir) for every (workload, impl, op):
# the stable measure on a noisy host.
#
#   bash bench/callgrind.sh                  # the whole table (markdown)
#   bash bench/callgrind.sh small list       # only these workloads
#   bash bench/callgrind.sh --cargo-profile bench-lto
#                                            # built with codegen-units = 1
#                                            # and thin LTO (Cargo.toml)
#   bash bench/callgrind.sh --max-ratio 1.00 # also exit 1 when generated
#                                            # code costs more than that
#                                            # times the hand-written code
#   bash bench/callgrind.sh --profile WORKLOAD IMPL OP
#                                            # per-function breakdown of one
#
# Each case runs `ops WORKLOAD IMPL OP N` under callgrind for two N and
# reports (Ir(N2) - Ir(N1)) / (N2 - N1), so start-up, building the values
# and the pre-timing verification cancel out. N = 100/1100 for small and
# 2/12 for the others, as in BASELINE.md. The binary is built with the
# `bench` profile (release + debug info, the one `cargo bench` uses) unless
# --cargo-profile names another, and copied first, so a rebuild in the
# same tree cannot change it halfway through the table.
# Valgrind counts each iteration of `rep movsb` as one instruction, so the
# bulk rows show how memcpy is implemented, not what it costs.
set -euo pipefail

cd "$(dirname "$0")/.."

cargo_profile=bench
max_ratio=
while [ $# -gt 0 ]; do
    case $1 in
        --cargo-profile) cargo_profile=${2:?--cargo-profile needs a profile name}; shift 2 ;;
        --max-ratio) max_ratio=${2:?--max-ratio needs a number}; shift 2 ;;
        *) break ;;
    esac
done

if ! command -v valgrind >/dev/null; then
    echo "SKIPPED: valgrind is not installed (apt-get install valgrind)"
    exit 0
fi

built=$(cargo build -p xdrgen-bench --profile "$cargo_profile" --bin ops --message-format=json-render-diagnostics |
    python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["name"] == "ops":
        print(m["executable"])
')
if [ -z "$built" ]; then
    echo "callgrind.sh: no ops binary was built" >&2
    exit 1
fi
if "$built" small hand encode 1 | grep -q SKIPPED; then
    "$built" small hand encode 1
    exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bin="$tmp/ops"
cp "$built" "$bin"

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
    [ $# -eq 4 ] || { echo "usage: $0 [--cargo-profile NAME] --profile WORKLOAD IMPL OP" >&2; exit 2; }
    w=$2 i=$3 o=$4
    n=12; [ "$w" = small ] && n=1100
    out="$tmp/profile.out"
    valgrind --tool=callgrind --callgrind-out-file="$out" --toggle-collect='*xdrbench_measured' \
        "$bin" "$w" "$i" "$o" "$n" >/dev/null 2>"$tmp/vg.log"
    echo "# $w $i $o ($cargo_profile profile): $n ops, only inside the measured loop (divide by $n for per op)"
    callgrind_annotate --inclusive=no --auto=no "$out" | sed -n "/^Ir/,\$p" | head -40
    exit 0
fi

workloads=("$@")
[ ${#workloads[@]} -gt 0 ] || workloads=(small list linked bulk union)
impls=(generated generated-zero-copy hand c-tirpc)

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
# Whether a / b is over the --max-ratio (compared as the table prints it).
over() { [ -n "$max_ratio" ] && awk -v a="$1" -v b="$2" -v m="$max_ratio" 'BEGIN { exit !(b > 0 && sprintf("%.2f", a / b) + 0 > m + 0) }'; }

echo "Built with the \`$cargo_profile\` profile."
echo
echo "| workload | op | generated | zero-copy | hand | hand⁻ᵘᵗᶠ⁸ | c-tirpc | generated/ref | zero-copy/ref | c-tirpc/generated | BASELINE rust-hand |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
failed=()
for w in "${workloads[@]}"; do
    for o in encode decode; do
        declare -A per=()
        for i in "${impls[@]}"; do
            per[$i]=$(per_op "$w" "$i" "$o")
        done
        # The hand codec decodes strings into `String` (UTF-8 checked, as
        # BASELINE.md's rust-hand does); the generated code keeps bytes
        # (`XdrString`) and checks nothing. The reference (ref) for decode
        # is the hand codec without its UTF-8 check, counted separately.
        ref=${per[hand]} bare=
        if [ "$o" = decode ]; then
            utf8=$(TOGGLE='core::str::converts::from_utf8' per_op "$w" hand "$o")
            # Only bulk has no strings: zero elsewhere means the check was
            # inlined into its caller and cannot be told apart.
            if [ "$utf8" -eq 0 ] && [ "$w" != bulk ]; then
                echo "callgrind.sh: $w: no instructions in from_utf8 (inlined?); hand⁻ᵘᵗᶠ⁸ includes the check" >&2
            fi
            ref=$(( per[hand] - utf8 ))
            bare=$(sep "$ref")
        fi
        for i in generated generated-zero-copy; do
            if over "${per[$i]}" "$ref"; then
                failed+=("$w $o $i: $(ratio "${per[$i]}" "$ref") of the hand-written code")
            fi
        done
        echo "| $w | $o | $(sep "${per[generated]}") | $(sep "${per[generated-zero-copy]}") | $(sep "${per[hand]}") | $bare | $(sep "${per[c-tirpc]}") | $(ratio "${per[generated]}" "$ref") | $(ratio "${per[generated-zero-copy]}" "$ref") | $(ratio "${per[c-tirpc]}" "${per[generated]}") | $(sep "${target[$w/$o]}") |"
        unset per
    done
done
if [ ${#failed[@]} -gt 0 ]; then
    echo "callgrind.sh: over --max-ratio $max_ratio:" >&2
    printf '  %s\n' "${failed[@]}" >&2
    exit 1
fi

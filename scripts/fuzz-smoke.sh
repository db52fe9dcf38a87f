#!/bin/sh
# Builds every cargo-fuzz target in fuzz/ and runs each briefly from its
# seeds (fuzz/seeds/<target>/), failing on any crash, OOM or timeout.
# CI's check that the targets build and run; the campaign is in
# fuzz/README.md. Installs cargo-fuzz when missing. Runs on a stable
# toolchain (RUSTC_BOOTSTRAP=1 for the sanitizer flags).
#   scripts/fuzz-smoke.sh            # 5 s per target
#   FUZZ_SMOKE_SECONDS=30 scripts/fuzz-smoke.sh
set -eu

cd "$(dirname "$0")/../fuzz"
seconds=${FUZZ_SMOKE_SECONDS:-5}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked --version 0.13.2
fi

cargo fuzz build
# The targets run straight from the build: `cargo fuzz run` would check
# the build again for each one.
bin=target/$(rustc -vV | sed -n 's/^host: //p')/release
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
for target in $(cargo fuzz list); do
    max_len=4096
    [ "$target" = parse ] && max_len=8192
    mkdir -p "$work/$target" "$work/artifacts-$target"
    echo "fuzz-smoke: $target (${seconds}s)"
    # The scratch corpus comes first: libFuzzer adds new inputs there, so
    # the seed directory stays as committed.
    if ! "$bin/$target" "$work/$target" "seeds/$target" \
        -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
        -max_len="$max_len" -artifact_prefix="$work/artifacts-$target/" \
        -print_final_stats=1 >"$work/$target.log" 2>&1; then
        tail -n 60 "$work/$target.log" >&2
        mkdir -p "artifacts/$target"
        cp "$work/artifacts-$target"/* "artifacts/$target/" 2>/dev/null || true
        echo "fuzz-smoke: $target failed; inputs that failed are in fuzz/artifacts/$target/" >&2
        exit 1
    fi
    grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb)' "$work/$target.log" || true
done
echo "fuzz-smoke: every target ran for ${seconds}s without a finding"

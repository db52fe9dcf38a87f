#!/usr/bin/env python3
"""Prints the medians of the last `cargo bench -p xdrgen-bench` run as a
markdown table (from target/criterion/<workload>_<op>/<impl>/new/estimates.json).

    python3 bench/criterion_table.py [TARGET_DIR]
"""

import json
import os
import sys

WORKLOADS = ["small", "list", "linked", "bulk", "union"]
OPS = ["encode", "decode"]
IMPLS = ["generated", "hand", "c-tirpc"]
# BASELINE.md's targets for generated code (its rust-hand medians), in ns.
TARGET_NS = {
    ("small", "encode"): 8.2, ("small", "decode"): 27,
    ("list", "encode"): 7_600, ("list", "decode"): 39_000,
    ("linked", "encode"): 4_100, ("linked", "decode"): 34_000,
    ("bulk", "encode"): 22_500, ("bulk", "decode"): 22_500,
    ("union", "encode"): 1_700, ("union", "decode"): 6_700,
}


def fmt(ns):
    if ns is None:
        return "n/a"
    if ns < 1_000:
        return f"{ns:.1f} ns"
    if ns < 1_000_000:
        return f"{ns / 1_000:.2f} µs"
    return f"{ns / 1_000_000:.2f} ms"


def ratio(a, b):
    return "n/a" if a is None or b is None or b == 0 else f"{a / b:.2f}x"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    target = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(
        "CARGO_TARGET_DIR", os.path.join(here, "..", "target"))
    root = os.path.join(target, "criterion")
    print("| workload | op | generated | hand | c-tirpc | generated/hand "
          "| c-tirpc/generated | BASELINE target |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    for w in WORKLOADS:
        for op in OPS:
            med = {}
            for imp in IMPLS:
                path = os.path.join(root, f"{w}_{op}", imp, "new", "estimates.json")
                try:
                    with open(path, encoding="utf-8") as f:
                        med[imp] = json.load(f)["median"]["point_estimate"]
                except OSError:
                    med[imp] = None
            print(f"| {w} | {op} | {fmt(med['generated'])} | {fmt(med['hand'])} "
                  f"| {fmt(med['c-tirpc'])} | {ratio(med['generated'], med['hand'])} "
                  f"| {ratio(med['c-tirpc'], med['generated'])} "
                  f"| {fmt(TARGET_NS[(w, op)])} |")


if __name__ == "__main__":
    main()

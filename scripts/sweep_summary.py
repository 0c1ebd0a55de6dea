#!/usr/bin/env python3
"""The sweep's table (scripts/transformer_sweep.sh): per run, its training steps, BLEU per
test bucket and over the whole test set, and exact match past the trained range.
Usage: sweep_summary.py OUT_DIR NAME..."""
import csv
import json
import sys


def steps_of(run_dir):
    with open(f"{run_dir}/log.csv") as f:
        rows = [r for r in csv.reader(f) if r and not r[0].startswith("#") and r[0] != "step"]
    return int(rows[-1][0]) if rows else 0


def main():
    out, names = sys.argv[1], sys.argv[2:]
    runs = {n: json.load(open(f"{out}/{n}/eval.json")) for n in names}
    buckets = [f"{b['lo']}-{b['hi']}" for b in runs[names[0]]["buckets"]]
    print(f"{'setting':14} {'steps':>6} " + " ".join(f"{b:>6}" for b in buckets) + f" {'BLEU':>6} {'exact':>6}")
    for n in names:
        r = runs[n]
        cells = " ".join(f"{b['bleu']:6.2f}" for b in r["buckets"])
        print(f"{n:14} {steps_of(f'{out}/{n}'):6d} {cells} {r['bleu']:6.2f} {r['exact']:6.1f}")
    print("BLEU per source-length bucket (test set, greedy); trained on sources of at most 30 tokens.")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Two builds of xgrad side by side: the same bench worker commands (bench/xgrad_worker.cpp) sent
in turn to an old and a new worker, each step timed in its own process, medians compared.

A refactoring must not slow the library: run this with the previous main's worker and this one's.
Usage: compare_builds.py --old OLD/xgrad_bench_worker --new NEW/xgrad_bench_worker [--steps 20]
       [--threads 1 2] [--models rnn bahdanau transformer] [--phases train decode]
Swap --old and --new once to see whether the order of the two in each round matters.
Prints one row per model, thread count and phase: the medians and new/old.
"""
import argparse
import statistics

from bench_worker import Worker


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--old", required=True)
    ap.add_argument("--new", required=True)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--models", nargs="+", default=["rnn", "bahdanau", "transformer"])
    ap.add_argument("--phases", nargs="+", default=["train", "decode"])
    args = ap.parse_args()
    print(f"{'model':12} {'threads':>7} {'phase':7} {'old ms':>9} {'new ms':>9} {'new/old':>8}")
    for model in args.models:
        for threads in args.threads:
            workers = {"old": Worker(args.old, threads), "new": Worker(args.new, threads)}
            for w in workers.values():
                w.ask(f"build {model} {threads}")
            for phase in args.phases:
                for w in workers.values():  # warm-up
                    for _ in range(3):
                        w.ask(phase)
                samples = {k: [] for k in workers}
                for _ in range(args.steps):  # one step of each in turn
                    for k, w in workers.items():
                        samples[k].append(float(w.ask(phase)))
                old, new = (statistics.median(samples[k]) for k in ("old", "new"))
                print(f"{model:12} {threads:>7} {phase:7} {old:9.2f} {new:9.2f} {new / old:8.3f}", flush=True)
            for w in workers.values():
                w.close()


if __name__ == "__main__":
    main()

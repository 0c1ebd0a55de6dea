#!/usr/bin/env python3
"""The transformer's position encodings side by side: one bench worker (bench/xgrad_worker.cpp)
per variant, the same model sizes and batch as `make bench` (64 sentences of 30 tokens), driven
one step each in turn; medians of --steps training steps and greedy decodes, and each variant's
ratio to the sinusoidal transformer of the same run. Prints the 2-thread sgemm gain first: a run
in which it is under 1.5x had a busy machine and is rerun, not reported.
Usage: positions.py --worker build/examples/xgrad_bench_worker [--steps 20] [--threads 1 2]
"""
import argparse
import statistics

from bench_worker import Worker

# decoder-only: its default 4 layers (fewer parameters than the 2+2 encoder-decoder) and 5
# (slightly more); the parameter counts are printed.
VARIANTS = ["transformer", "transformer-learned", "transformer-rotary", "transformer-alibi", "transformer-t5",
            "transformer-nope", "decoder-only", "decoder-only:5"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", required=True)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--phases", nargs="+", default=["train", "decode"])
    args = ap.parse_args()
    probe = Worker(args.worker, 2)
    rate = {t: statistics.median(float(probe.ask(f"sgemm {t}")) for _ in range(5)) for t in (1, 2)}
    probe.close()
    print(f"sgemm: 2 threads {rate[2] / rate[1]:.2f}x the 1-thread rate"
          + ("  -- under 1.5x: the machine was busy; rerun" if rate[2] / rate[1] < 1.5 else ""))
    print(f"{'model':22} {'threads':>7} {'phase':7} {'ms':>9} {'vs sinusoidal':>14} {'parameters':>11}")
    for threads in args.threads:
        workers = {v: Worker(args.worker, threads) for v in VARIANTS}
        params = {}
        for name, w in workers.items():
            w.ask(f"build {name} {threads}")
            params[name] = int(w.ask("params"))
        for phase in args.phases:
            for w in workers.values():  # warm-up
                for _ in range(3):
                    w.ask(phase)
            samples = {v: [] for v in VARIANTS}
            for _ in range(args.steps):  # one step of each in turn
                for name, w in workers.items():
                    samples[name].append(float(w.ask(phase)))
            base = statistics.median(samples["transformer"])
            for name in VARIANTS:
                ms = statistics.median(samples[name])
                print(f"{name:22} {threads:>7} {phase:7} {ms:9.2f} {ms / base:14.3f} {params[name]:>11}", flush=True)
        for w in workers.values():
            w.close()


if __name__ == "__main__":
    main()

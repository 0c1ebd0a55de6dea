"""`make bench`: xgrad against PyTorch 1.13 on the three translation models, side by side.

For each model and thread count, one xgrad worker and one PyTorch worker are started fresh (so
peak memory is per model), then driven alternately, A B A B: warm-up, then the median of 20
training steps and of 10 greedy decodes of one batch (64 sentences, 30 steps). Writes
results/bench.json and prints a table. Run with /usr/bin/python3 (Debian's torch).
Usage: run_bench.py --worker build/examples/xgrad_bench_worker [--steps 20] [--out results/bench.json]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


class Worker:
    def __init__(self, argv, env):
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=HERE)

    def ask(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        answer = self.p.stdout.readline().strip()
        if not answer or answer.startswith("error"):
            raise RuntimeError(f"worker {self.p.args[0]} answered {answer!r} to {line!r}")
        return answer

    def close(self):
        self.p.stdin.write("quit\n")
        self.p.stdin.flush()
        self.p.wait(timeout=60)


def cpu_flags():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("flags"):
                return set(line.split(":")[1].split())
    return set()


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":")[1].strip()
    return platform.processor()


def transformer_step_flops(b=64, s=30, t=30, d=128, ff=512, v=64, layers=2):
    """Multiply-adds x2 of every matrix product in one forward, x3 for forward plus backward."""
    mm = lambda m, n, k: 2 * m * n * k
    enc = 4 * mm(b * s, d, d) + 2 * mm(s, s, d) * b + 2 * mm(b * s, ff, d)
    dec_self = 4 * mm(b * t, d, d) + 2 * mm(t, t, d) * b
    dec_cross = 2 * mm(b * t, d, d) + 2 * mm(b * s, d, d) + 2 * mm(t, s, d) * b
    dec = dec_self + dec_cross + 2 * mm(b * t, ff, d)
    forward = layers * (enc + dec) + mm(b * t, v, d)
    return 3 * forward


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", required=True)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--out", default="results/bench.json")
    ap.add_argument("--models", default="rnn,bahdanau,transformer")
    args = ap.parse_args()
    env = dict(os.environ)
    env.setdefault("OMP_WAIT_POLICY", "passive")  # PyTorch was 2-3x slower and noisy with spin-waiting
    if "OPENBLAS_CORETYPE" not in env and "avx512f" in cpu_flags():
        env["OPENBLAS_CORETYPE"] = "SkylakeX"  # OpenBLAS 0.3.21 does not recognise this virtual CPU
    rows = []
    sgemm = {}
    for threads in (1, 2):
        for model in args.models.split(","):
            xg = Worker([os.path.abspath(args.worker)], env)
            th = Worker([sys.executable, os.path.join(HERE, "torch_worker.py")], env)
            rss = {"xgrad": float(xg.ask(f"build {model} {threads}").split()[1]),
                   "torch": float(th.ask(f"build {model} {threads}").split()[1])}
            if model == "transformer":
                sgemm[threads] = float(xg.ask(f"sgemm {threads}"))
                xg.ask(f"build {model} {threads}")
            times = {}
            # (row name, xgrad command, torch command); the transformer's decode is also measured
            # against a PyTorch decoder that caches keys and values, as xgrad's does.
            phases = [("train", "train", "train"), ("decode", "decode", "decode")]
            if model == "transformer":
                phases.append(("decode_cached", "decode", "decode_cached"))
            for name, xcmd, tcmd in phases:
                n = args.steps if name == "train" else max(10, args.steps // 2)
                for w, c in ((xg, xcmd), (th, tcmd)):  # warm-up
                    for _ in range(3):
                        w.ask(c)
                samples = {"xgrad": [], "torch": []}
                for _ in range(n):  # alternate so both see the same machine state
                    samples["xgrad"].append(float(xg.ask(xcmd)))
                    samples["torch"].append(float(th.ask(tcmd)))
                times[name] = {k: statistics.median(v) for k, v in samples.items()}
            growth = {"xgrad": float(xg.ask("peak")) - rss["xgrad"], "torch": float(th.ask("peak")) - rss["torch"]}
            xg.close()
            th.close()
            for name, _, _ in phases:
                x, t = times[name]["xgrad"], times[name]["torch"]
                row = {"model": model, "phase": "train" if name == "train" else "decode", "threads": threads,
                       "xgrad_ms": round(x, 2), "torch_ms": round(t, 2), "ratio": round(x / t, 3),
                       "xgrad_rss_mb": round(growth["xgrad"], 1), "torch_rss_mb": round(growth["torch"], 1)}
                if model == "transformer" and name != "train":
                    row["torch_decode"] = "cached keys" if name == "decode_cached" else "whole prefix (nn.Transformer)"
                rows.append(row)
                print(f"{model:<12} {name:<13} {threads} thread(s): xgrad {x:8.1f} ms  torch {t:8.1f} ms  "
                      f"ratio {x / t:5.2f}  memory growth xgrad {growth['xgrad']:6.1f} MB torch {growth['torch']:6.1f} MB",
                      flush=True)
    flops = transformer_step_flops()
    print(f"\nmachine: {cpu_name()}, {os.cpu_count()} cores; PyTorch: 1 torch thread, OpenBLAS threads = column, "
          f"flush denormals, OMP_WAIT_POLICY={env['OMP_WAIT_POLICY']}")
    print(f"{'model':<12} {'phase':<14} {'threads':>7} {'xgrad ms':>9} {'torch ms':>9} {'ratio':>6} {'xgrad MB':>9} {'torch MB':>9}")
    for r in rows:
        phase = r["phase"] + (" (cached)" if r.get("torch_decode") == "cached keys" else "")
        print(f"{r['model']:<12} {phase:<14} {r['threads']:>7} {r['xgrad_ms']:>9.1f} {r['torch_ms']:>9.1f} "
              f"{r['ratio']:>6.2f} {r['xgrad_rss_mb']:>9.1f} {r['torch_rss_mb']:>9.1f}")
    for threads in sorted(sgemm):
        step = next(r for r in rows if r["model"] == "transformer" and r["phase"] == "train" and r["threads"] == threads)
        rate = flops / (step["xgrad_ms"] * 1e6)
        print(f"transformer training step: {flops / 1e9:.2f} GFLOP, xgrad {rate:.1f} GFLOP/s on {threads} thread(s) = "
              f"{100 * rate / sgemm[threads]:.0f}% of this machine's sgemm rate ({sgemm[threads]:.0f} GFLOP/s, 512^3)")
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
        f.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

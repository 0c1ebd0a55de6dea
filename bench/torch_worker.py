"""The PyTorch side of `make bench`: the same line protocol as bench/xgrad_worker.cpp.
Run with Debian's /usr/bin/python3 (the only interpreter that sees python3-torch)."""
import ctypes
import resource
import sys
import time

import torch

from torch_models import SIZES, make_model

torch.set_flush_denormal(True)  # without it the post-LN transformer lost ~30% to denormals
torch.set_num_threads(1)        # PyTorch's best 2-core setting: one torch thread, OpenBLAS on its own threads
openblas = ctypes.CDLL("libopenblas.so.0")


def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def greedy_ms(start, step, src):
    """Milliseconds of a greedy decode of the batch, 30 steps from <bos> (id 2)."""
    t0 = time.perf_counter()
    with torch.inference_mode():  # no version counters or view tracking: 2-3% faster than no_grad on these decodes
        state = start(src)
        prev = torch.full((src.shape[0],), 2, dtype=torch.long)
        for _ in range(30):
            prev = step(state, prev).argmax(-1)
    return (time.perf_counter() - t0) * 1000


def main():
    model = opt = None
    vocab = 64
    for line in sys.stdin:
        cmd = line.split()
        if not cmd:
            continue
        if cmd[0] == "build":  # build MODEL THREADS [SIZE]
            openblas.openblas_set_num_threads(int(cmd[2]))
            size = cmd[3] if len(cmd) > 3 else "toy"
            vocab, batch, length = SIZES[size]["vocab"], SIZES[size]["batch"], SIZES[size]["length"]
            g = torch.Generator().manual_seed(1)
            src = torch.randint(4, vocab, (batch, length), generator=g)
            tgt = torch.randint(4, vocab, (batch, length), generator=g)
            tgt_in = torch.cat([torch.full((batch, 1), 2), tgt[:, :-1]], 1)
            torch.manual_seed(1)
            model = None
            model = make_model(cmd[1], vocab, size)
            opt = torch.optim.Adam(model.parameters(), lr=1e-3)
            out = f"ok {rss_mb():.1f}"
        elif cmd[0] == "train":
            t0 = time.perf_counter()
            opt.zero_grad()
            logits = model(src, tgt_in)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, vocab), tgt.reshape(-1), ignore_index=0)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            out = f"{(time.perf_counter() - t0) * 1000:.3f}"
        elif cmd[0] == "decode":
            out = f"{greedy_ms(model.start, model.step, src):.3f}"
        elif cmd[0] == "decode_cached":  # transformer only: keys and values cached per layer
            out = f"{greedy_ms(model.start_cached, model.step_cached, src):.3f}"
        elif cmd[0] == "peak":
            out = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.1f}"
        elif cmd[0] == "quit":
            break
        else:
            out = f"error unknown command {cmd[0]!r}"
        print(out, flush=True)


if __name__ == "__main__":
    main()

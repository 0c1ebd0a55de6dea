#!/usr/bin/env python3
"""python/xgrad_torch.py: a training directory loaded into PyTorch translates as xgrad does.

  python_interop_test.py XGRAD_TRANSLATE WORK_DIR

Trains an rnn, a bahdanau and a transformer for 150 steps on the toy corpus, translates 40 test
sentences with `xgrad-translate translate` and with the PyTorch models the module builds from the
same directory, and requires the same output for every sentence; a variant without a PyTorch
version is refused by name. Exits 77 (ctest: skipped) when python3-torch is not installed.
"""
import os
import subprocess
import sys

try:
    import torch  # noqa: F401
except ImportError:
    print("SKIP: python3-torch is not installed (scripts/install-deps.sh installs it; it could not)")
    sys.exit(77)
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import xgrad_torch  # noqa: E402

binary, work = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
os.makedirs(work, exist_ok=True)
os.chdir(work)
torch.set_num_threads(1)
env = dict(os.environ, OMP_NUM_THREADS="1")


def run(*args):
    return subprocess.run([binary, *args], check=True, capture_output=True, text=True, env=env).stdout


run("toy", "--out", "toy", "--train-size", "2000", "--valid-size", "20", "--test-per-bucket", "10", "--max-len", "40")
sources = [line.split("\t")[0] for line in open("toy/test.tsv", encoding="utf-8")][:40]
failures = 0
for model in ["rnn", "bahdanau", "transformer"]:
    run("train", "--model", model, "--train", "toy/train.tsv", "--valid", "toy/valid.tsv", "--steps", "150",
        "--valid-every", "150", "--valid-sentences", "5", "--out", model, "--overwrite", "--threads", "1")
    ours = subprocess.run([binary, "translate", "--checkpoint", model], input="\n".join(sources) + "\n", check=True,
                          capture_output=True, text=True, env=env).stdout.splitlines()
    theirs = xgrad_torch.translate(xgrad_torch.load(model), sources)
    same = sum(a == b for a, b in zip(ours, theirs))
    ok = len(ours) == len(theirs) == len(sources) and same == len(sources)
    print(("ok   " if ok else "FAIL ") + f"{model}: PyTorch gives xgrad's translation for {same} of {len(sources)} sentences"
          f" (mean length {sum(len(t.split()) for t in ours) / len(ours):.1f} tokens)")
    if not ok:
        failures += 1
        for a, b, s in zip(ours, theirs, sources):
            if a != b:
                print(f"  source: {s}\n  xgrad:  {a}\n  torch:  {b}")
                break
run("train", "--model", "transformer-alibi", "--train", "toy/train.tsv", "--valid", "toy/valid.tsv", "--steps", "1",
    "--valid-every", "1", "--valid-sentences", "2", "--out", "alibi", "--overwrite", "--threads", "1")
try:
    xgrad_torch.load("alibi")
    print("FAIL transformer-alibi: loaded, but PyTorch's model has no ALiBi")
    failures += 1
except ValueError as e:
    ok = "positions alibi" in str(e)
    print(("ok   " if ok else "FAIL ") + f"transformer-alibi refused: {e}")
    failures += 0 if ok else 1
sys.exit(1 if failures else 0)

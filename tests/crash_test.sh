#!/usr/bin/env bash
# Reliability of xgrad-translate training runs:
#  1. SIGKILL while state.safetensors is being written, at several points of the write: the
#     previous checkpoint still loads and `train --resume` finishes the run.
#  2. A diverging run (learning rate far too high) stops with a message naming the step and the
#     loss; with --anomaly it names the op that first produced NaN/Inf; the last good state stays.
# Usage: crash_test.sh PATH/TO/xgrad-translate WORK_DIR
set -euo pipefail
bin=$1 work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }
"$bin" toy --out toy --train-size 300 --test-per-bucket 2 --max-len 14 > /dev/null
small=(--model rnn --embedding 16 --hidden 32 --train toy/train.tsv --valid toy/valid.tsv --threads 1
       --valid-every 10 --valid-sentences 10 --save-every 10)

for bytes in 4 300 60000; do
  dir=run_$bytes
  # The second write of state.safetensors (step 20) stops after $bytes bytes; the first (step 10) completes.
  XGRAD_TEST_PAUSE_WRITE="$dir/state.safetensors:2:$bytes" "$bin" train "${small[@]}" --out "$dir" --steps 30 \
    > "$dir.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do
    compgen -G "$dir/state.safetensors.tmp.*.paused" > /dev/null && break
    kill -0 "$pid" 2> /dev/null || fail "training exited before reaching the pause point ($bytes bytes): $(cat "$dir.log")"
    sleep 0.2
  done
  compgen -G "$dir/state.safetensors.tmp.*.paused" > /dev/null || fail "no pause after $bytes bytes"
  kill -9 "$pid"
  wait "$pid" 2> /dev/null || true
  "$bin" train "${small[@]}" --out "$dir" --steps 30 --resume > "$dir.resume.log" 2>&1 \
    || fail "resume after a kill at byte $bytes failed: $(cat "$dir.resume.log")"
  grep -q "for 30 steps" "$dir.resume.log" || fail "resume did not finish 30 steps: $(cat "$dir.resume.log")"
  echo "killed mid-write at byte $bytes: previous checkpoint loaded, resume finished"
done

# Divergence: 20 good steps, then a learning rate of 1e30 (finite but exploding loss), then 1e38
# (parameters overflow to inf, so anomaly mode has an op to name).
"$bin" train "${small[@]}" --out div --steps 20 > div.log 2>&1
cp div/state.safetensors good_state.safetensors
if "$bin" train "${small[@]}" --out div --steps 40 --resume --lr 1e30 > div2.log 2>&1; then fail "a learning rate of 1e30 trained"; fi
grep -q "diverged at step" div2.log || fail "no divergence message: $(cat div2.log)"
cmp -s div/state.safetensors good_state.safetensors || fail "the last good state was overwritten"
if "$bin" train "${small[@]}" --out div --steps 40 --resume --lr 1e38 --anomaly > div3.log 2>&1; then fail "anomaly run trained"; fi
grep -q "anomaly: the output of" div3.log || fail "anomaly mode did not name an op: $(cat div3.log)"
echo "divergence: $(grep -o 'diverged at step [0-9]*: loss is [^ ]*' div2.log); anomaly: $(grep -o 'the output of [a-z_]*' div3.log)"
echo "crash_test: all checks passed"

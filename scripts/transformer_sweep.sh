#!/usr/bin/env bash
# A one-setting-at-a-time sweep of the transformer's training settings on the reordering toy
# corpus (toy --order sov), trained on sources of at most 30 tokens and tested on 6-80: each run
# trains for the same time budget (150 s) and is scored by eval by length bucket. The summary
# (OUT/summary.txt) lists BLEU in the trained range (6-30) and beyond it (31-50, 51-80).
# Usage: scripts/transformer_sweep.sh OUT_DIR [BUDGET_SECONDS]
set -euo pipefail
out=${1:?usage: transformer_sweep.sh OUT_DIR [BUDGET_SECONDS]}
budget=${2:-150}
bin=${BUILD_DIR:-build}/examples/xgrad-translate
export OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=20000 OPENBLAS_NUM_THREADS=1
mkdir -p "$out"
"$bin" toy --order sov --max-len 80 --train-max-len 30 --test-per-bucket 100 --out "$out/data"
# name and the options it changes from the defaults (lr 1e-3 peak, warm-up 400, dropout 0.1,
# no label smoothing, 2400 tokens per batch)
configs=(
  "default|"
  "lr2e-3|--lr 2e-3"
  "lr5e-4|--lr 5e-4"
  "warmup1000|--warmup 1000"
  "dropout0|--dropout 0"
  "dropout0.3|--dropout 0.3"
  "smoothing0.1|--label-smoothing 0.1"
  "tokens4800|--max-tokens 4800"
)
for entry in "${configs[@]}"; do
  name=${entry%%|*}
  opts=${entry#*|}
  dir="$out/$name"
  # shellcheck disable=SC2086  # opts is a list of options
  "$bin" train --model transformer --train "$out/data/train.tsv" --valid "$out/data/valid.tsv" --time-budget "$budget" \
    --valid-every 1000 --overwrite --out "$dir" $opts > "$dir.log" 2>&1
  "$bin" eval --checkpoint "$dir" --test "$out/data/test.tsv" --json "$dir/eval.json" > "$dir/eval.txt"
done
python3 "$(dirname "$0")/sweep_summary.py" "$out" "${configs[@]%%|*}" | tee "$out/summary.txt"

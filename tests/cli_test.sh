#!/usr/bin/env bash
# End-to-end run of the xgrad-translate program on a small toy corpus: every subcommand, the
# files they write, that training lowered the loss, and clear errors for bad arguments.
# Usage: cli_test.sh PATH/TO/xgrad-translate WORK_DIR
set -euo pipefail
bin=$1 work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

"$bin" toy --out toy --train-size 400 --test-per-bucket 4 --max-len 20 > toy.log
[ "$(wc -l < toy/train.tsv)" -eq 400 ] || fail "toy wrote $(wc -l < toy/train.tsv) training lines"
[ "$(wc -l < toy/test.align)" -eq "$(wc -l < toy/test.tsv)" ] || fail "toy wrote a test.align of another length than test.tsv"

"$bin" compare --steps 25 --train toy/train.tsv --valid toy/valid.tsv --test toy/test.tsv --test-alignment toy/test.align \
  --valid-every 5 --valid-sentences 20 --out cmp --threads 1 > compare.log
for f in compare.csv compare.json bleu_by_length.svg aer_by_length.svg loss.svg attention_bahdanau.svg attention_transformer.svg \
         rnn/model.safetensors bahdanau/state.safetensors transformer/log.csv; do
  [ -s "cmp/$f" ] || fail "compare did not write $f"
done
grep -q '"models"' cmp/compare.json || fail "compare.json has no models"
grep -q '"bleu_ci"' cmp/compare.json && grep -q '"chrf"' cmp/compare.json || fail "compare.json has no intervals or chrF"
"$bin" compare --steps 5 --seeds 2 --models rnn --train toy/train.tsv --valid toy/valid.tsv --test toy/test.tsv \
  --valid-every 5 --valid-sentences 5 --train-max-len 12 --out cmp_seeds --threads 1 > compare_seeds.log
sed -n 2p cmp_seeds/compare.json | grep -q '"trained_max_len": 12' || fail "compare --train-max-len 12 did not report trained_max_len 12"
grep -q 'seen in training' cmp_seeds/bleu_by_length.svg || fail "compare's BLEU chart does not shade the trained lengths"
grep -q '"hi": 20' cmp_seeds/compare.json || fail "compare's buckets do not reach the longest test sentence (20 tokens)"
"$bin" toy --out toy_split --train-size 100 --test-per-bucket 2 --max-len 40 --train-max-len 15 > /dev/null
awk -F'\t' '{ if (split($1, w, " ") > 15) exit 1 }' toy_split/train.tsv || fail "toy --train-max-len 15 wrote a longer source"
[ "$(wc -l < toy_split/test.tsv)" -eq 8 ] || fail "toy --max-len 40 --test-per-bucket 2 wrote $(wc -l < toy_split/test.tsv) test pairs, not 8"
grep -q '"bleu_runs"' cmp_seeds/compare.json || fail "compare --seeds 2 wrote no bleu_runs"
[ -s cmp_seeds/rnn.seed2/model.safetensors ] || fail "compare --seeds 2 did not train a second run"
grep -q '<polygon' cmp_seeds/bleu_by_length.svg || fail "compare --seeds 2 drew no spread band"
grep -q '"aer_head_mean"' cmp/compare.json || fail "compare.json has no alignment error rates"
for m in rnn bahdanau transformer; do
  first=$(awk -F, 'NR == 2 { print $3 }' "cmp/$m/log.csv")
  last=$(awk -F, 'NR > 1 { v = $3 } END { print v }' "cmp/$m/log.csv")
  awk -v a="$first" -v b="$last" 'BEGIN { exit !(b < a) }' || fail "$m: training loss did not go down ($first -> $last)"
done

"$bin" eval --checkpoint cmp/bahdanau --test toy/test.tsv --beam 2 --hyp hyp.txt --json eval.json > eval.log
[ "$(wc -l < hyp.txt)" -eq "$(wc -l < toy/test.tsv)" ] || fail "eval --hyp wrote a line count different from the test set"
grep -q '"buckets"' eval.json || fail "eval --json has no buckets"
"$bin" eval --checkpoint cmp/transformer --test toy/test.tsv --alignment toy/test.align > align.log
grep -q 'layer1.mean' align.log || fail "eval --alignment printed no transformer head average"

# Every attention variant trains a few steps, and resumes from its own config.
for m in bahdanau-local transformer-window transformer-linear transformer-mqa transformer-rotary transformer-rotary+sinusoidal \
         transformer-learned transformer-alibi transformer-t5 transformer-nope decoder-only decoder-only-rotary \
         decoder-only-t5 decoder-only-nope; do
  "$bin" train --model "$m" --steps 3 --train toy/train.tsv --valid toy/valid.tsv --valid-every 3 --valid-sentences 5 \
    --out "var_$m" --threads 1 > "var_$m.log" || fail "train --model $m failed"
  "$bin" eval --checkpoint "var_$m" --test toy/test.tsv --alignment toy/test.align > "var_$m.eval" || fail "eval of $m failed"
done
grep -q '"attention_kind": "window"' var_transformer-window/config.json || fail "the window variant's config lacks its kind"
# Guided alignment from a TSV corpus and its Pharaoh file (toy writes train.align); without the
# file, and with a file but no --train, it is refused by name.
"$bin" train --model bahdanau --steps 3 --train toy/train.tsv --valid toy/valid.tsv --guided-alignment toy/train.align \
  --guided-alignment-weight 0.5 --valid-every 3 --valid-sentences 5 --out guided --threads 1 > guided.log \
  || fail "train with --guided-alignment failed"
if "$bin" train --model bahdanau --steps 3 --train toy/train.tsv --valid toy/valid.tsv --guided-alignment-weight 0.5 \
     --out guided_missing --threads 1 > guided_missing.log 2>&1; then fail "guided alignment without gold alignments trained"; fi
grep -q 'needs gold alignments' guided_missing.log || fail "guided alignment without gold alignments: unclear error"
if "$bin" train --model bahdanau --steps 3 --guided-alignment toy/train.align --out guided_nofile > guided_nofile.log 2>&1; then
  fail "--guided-alignment without --train was accepted"; fi
grep -q 'gives the alignments of a --train file' guided_nofile.log || fail "--guided-alignment without --train: unclear error"
"$bin" train --model transformer --attention gqa --kv-heads 2 --positions rotary --steps 2 --train toy/train.tsv \
  --valid toy/valid.tsv --valid-every 2 --valid-sentences 5 --out var_options --threads 1 > var_options.log

cut -f1 toy/test.tsv | head -3 | "$bin" translate --checkpoint cmp/transformer --attention att.svg > tr.txt
[ "$(wc -l < tr.txt)" -eq 3 ] || fail "translate printed $(wc -l < tr.txt) lines for 3 inputs"
grep -q '<svg' att.svg || fail "translate --attention wrote no SVG"
grep -q 'report.html' compare.log && grep -q 'id="summary"' cmp/report.html || fail "compare wrote no report.html or did not print its path"
cut -f1 toy/test.tsv | head -1 | "$bin" explain --checkpoint cmp/transformer --out explain.html > explain.log
grep -q '"groups"' explain.html && grep -q 'wrote explain.html' explain.log || fail "explain wrote no transformer page"
"$bin" explain --checkpoint cmp/bahdanau --out explain_b.html --target "le chat ." "the cat ." > /dev/null
grep -q '"given_target":true' explain_b.html && grep -q '"steps"' explain_b.html || fail "explain --target of a Bahdanau model"

cut -f2 toy/test.tsv > ref.txt
"$bin" bleu ref.txt < ref.txt | grep -q '^BLEU = 100.00' || fail "bleu of the references against themselves is not 100"
"$bin" chrf ref.txt --word-order 2 < ref.txt | grep -q '^chrF2++ = 100.00' || fail "chrF++ of the references against themselves is not 100"
"$bin" bleu ref.txt --confidence < hyp.txt | grep -q '95% CI' || fail "bleu --confidence printed no interval"
"$bin" bleu ref.txt --paired ref.txt < hyp.txt > paired.log
grep -q 'paired bootstrap: BLEU difference' paired.log || fail "bleu --paired printed no comparison: $(cat paired.log)"
grep -q '"bleu_ci"' eval.json && grep -q '"chrf"' eval.json || fail "eval --json has no intervals or chrF"
"$bin" score --checkpoint cmp/bahdanau --test toy/test.tsv --per-token > scores.txt 2> scores.log
[ "$(wc -l < scores.txt)" -eq "$(wc -l < toy/test.tsv)" ] || fail "score printed $(wc -l < scores.txt) lines"
grep -q 'perplexity' scores.log || fail "score printed no summary: $(cat scores.log)"
"$bin" translate --checkpoint cmp/bahdanau --beam 3 --nbest 3 < <(cut -f1 toy/test.tsv | head -2) > nbest.txt
[ "$(wc -l < nbest.txt)" -eq 6 ] && grep -q '^1 ||| ' nbest.txt || fail "translate --nbest 3 of 2 lines: $(cat nbest.txt)"

# Bad arguments: a non-zero exit and a message that says what is wrong.
expect_error() {
  local pattern=$1; shift
  if out=$("$@" 2>&1); then fail "accepted: $*"; fi
  echo "$out" | grep -q -- "$pattern" || fail "message for '$*' lacks '$pattern': $out"
}
expect_error "--no-such-option" "$bin" train --model rnn --out x --no-such-option
expect_error "no sentence" "$bin" explain --checkpoint cmp/rnn < /dev/null
expect_error "over the model's limit" "$bin" explain --checkpoint cmp/transformer --max-input-tokens 2 "the cat sees the dog"
expect_error "beam" "$bin" eval --checkpoint cmp/rnn --test toy/test.tsv --beam -1
expect_error "max-batch" "$bin" train --model rnn --out x --max-batch 0
expect_error "gru" "$bin" train --model gru --out x
expect_error "nonexistent.tsv" "$bin" eval --checkpoint cmp/rnn --test nonexistent.tsv
printf 'no tab here\n' > bad.tsv
expect_error "bad.tsv:1" "$bin" eval --checkpoint cmp/rnn --test bad.tsv
expect_error "config.json" "$bin" eval --checkpoint toy --test toy/test.tsv
expect_error "rotary" "$bin" train --model rnn --positions rotary --out x
expect_error "does not apply" "$bin" train --model transformer --attention local --out x
expect_error "divide" "$bin" train --model transformer --attention gqa --kv-heads 3 --out x
printf '0-0 1-x\n' > bad.align
expect_error "bad.align:1" "$bin" eval --checkpoint cmp/transformer --test toy/test.tsv --alignment bad.align
# A pair longer than the token budget is trained in a batch of its own, with a warning.
"$bin" train --model rnn --steps 3 --max-tokens 8 --train toy/train.tsv --valid toy/valid.tsv --valid-every 3 \
  --valid-sentences 5 --out tiny_budget --threads 1 > budget.out 2> budget.err
grep -q "longer than --max-tokens 8" budget.err || fail "no warning for pairs over the token budget: $(cat budget.err)"
[ -s tiny_budget/model.safetensors ] || fail "training with a tiny --max-tokens wrote no model"

# The restart for load-time settings is opt-in and said: once on stderr, output printed once.
untuned() { env -u OMP_WAIT_POLICY -u GOMP_SPINCOUNT -u OPENBLAS_NUM_THREADS -u XGRAD_REEXECUTED "$@"; }
echo "a b c d" > ref.txt
echo "a b c d" | untuned "$bin" bleu ref.txt > restart.out 2> restart.err
[ "$(grep -c 'restarting once' restart.err)" -eq 1 ] || fail "xgrad-translate did not say once that it restarts: $(cat restart.err)"
grep -q 'why: OMP_WAIT_POLICY' restart.err || fail "the restart message gives no reason"
[ "$(grep -c 'BLEU' restart.out)" -eq 1 ] || fail "the restarted program printed its result $(grep -c BLEU restart.out) times"
echo "a b c d" | untuned env OMP_WAIT_POLICY=passive GOMP_SPINCOUNT=20000 OPENBLAS_NUM_THREADS=1 OPENBLAS_CORETYPE=SkylakeX \
  "$bin" bleu ref.txt > tuned.out 2> tuned.err
[ ! -s tuned.err ] || fail "with the settings exported xgrad-translate still restarted: $(cat tuned.err)"
echo "cli_test: all checks passed"

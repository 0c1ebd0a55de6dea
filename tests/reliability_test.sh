#!/usr/bin/env bash
# Reliability of xgrad-translate against a careless or hostile user, round two: each numbered
# block is one root cause of the second reliability review (lost checkpoints, crashes, hangs,
# silent nonsense, unclear errors), its reproducers run as checks. Every failure is reported
# (not only the first), and the script fails if any check did.
# Usage: reliability_test.sh PATH/TO/xgrad-translate WORK_DIR
set -uo pipefail
bin=$1 work=$2
here=$(cd "$(dirname "$0")" && pwd)
edit=(/usr/bin/python3 "$here/reference/edit_safetensors.py")
rm -rf "$work" && mkdir -p "$work" && cd "$work" || exit 1
failures=0 checks=0 item=setup
fail() { echo "FAIL [$item]: $*" >&2; failures=$((failures + 1)); }
check() { checks=$((checks + 1)); }

# expect_error PATTERN CMD...: the command exits non-zero by itself (not killed by a signal, not
# hung for 120 s) and its output contains PATTERN (grep -E).
expect_error() {
  local pattern=$1 out rc
  shift
  check
  out=$(timeout 120 "$@" 2>&1)
  rc=$?
  if [ $rc -eq 0 ]; then fail "accepted: $*"; return; fi
  if [ $rc -eq 124 ]; then fail "hung (stopped after 120 s): $*"; return; fi
  if [ $rc -gt 128 ]; then fail "crashed with signal $((rc - 128)): $*"; return; fi
  echo "$out" | grep -qE -- "$pattern" || fail "message for '$*' lacks '$pattern': $(echo "$out" | tail -n 2)"
}
snapshot() { (cd "$1" && md5sum config.json src.vocab tgt.vocab model.safetensors state.safetensors log.csv 2>&1); }

"$bin" toy --out toy --train-size 300 --test-per-bucket 2 --max-len 14 > /dev/null || { echo "toy failed"; exit 1; }
cut -f1 toy/test.tsv > sources.txt
cut -f2 toy/test.tsv > refs.txt
common=(--threads 1 --valid-sentences 10)
every=(--valid-every 10 --save-every 10)
data=(--train toy/train.tsv --valid toy/valid.tsv "${common[@]}" "${every[@]}")
rnn=(--model rnn --embedding 16)
small=("${rnn[@]}" --hidden 32 "${data[@]}")
"$bin" train "${small[@]}" --out good --steps 20 > good.log 2>&1 || { echo "training failed: $(cat good.log)"; exit 1; }
"$bin" train --model bahdanau --embedding 16 --hidden 32 --attention-size 16 "${data[@]}" --out bahdanau --steps 5 \
  > bahdanau.log 2>&1 || { echo "bahdanau training failed: $(cat bahdanau.log)"; exit 1; }
"$bin" train --model transformer --d-model 32 --heads 2 --ff 64 --encoder-layers 1 --decoder-layers 1 "${data[@]}" \
  --out transformer --steps 5 > transformer.log 2>&1 || { echo "transformer training failed: $(cat transformer.log)"; exit 1; }
resume=("$bin" train "${small[@]}" --steps 25 --resume)

item="1 a fresh run keeps a trained model"
before=$(snapshot good)
expect_error "already holds a training run" "$bin" train "${small[@]}" --out good --steps 5 --lr 1e30
check; [ "$(snapshot good)" = "$before" ] || fail "a refused fresh run changed the trained folder"
cp -r good replaced
check; "$bin" train "${small[@]}" --out replaced --steps 5 --overwrite > replaced.log 2>&1 \
  || fail "--overwrite did not train: $(tail -n 2 replaced.log)"

item="2 the last step's divergence"
cp -r good div_last
cp div_last/state.safetensors div_last.state
expect_error "diverged" "$bin" train "${small[@]}" --out div_last --resume --steps 21 --lr 1e30
check; cmp -s div_last/state.safetensors div_last.state || fail "a diverged last step replaced state.safetensors"
check; "$bin" train "${small[@]}" --out div_last --resume --steps 22 > div_last.log 2>&1 \
  || fail "resume after the refused step failed: $(tail -n 2 div_last.log)"

item="3 one run per folder; 7 log rows flushed as written"
# A run that stops inside its first state save (step 50) and holds the folder meanwhile.
XGRAD_TEST_PAUSE_WRITE="locked/state.safetensors:1:100" "$bin" train "${rnn[@]}" --hidden 32 --train toy/train.tsv \
  --valid toy/valid.tsv "${common[@]}" --out locked --steps 1000000 --log-every 1 --valid-every 1000000 --save-every 50 \
  > locked.log 2>&1 &
pid=$!
for _ in $(seq 1 300); do compgen -G "locked/state.safetensors.tmp.*.paused" > /dev/null && break; sleep 0.1; done
check; compgen -G "locked/state.safetensors.tmp.*.paused" > /dev/null || fail "the run did not reach its first save"
check; [ "$(wc -l < locked/log.csv)" -eq 51 ] || fail "log.csv on disk has $(wc -l < locked/log.csv) lines at step 50, not 51"
expect_error "in use by another training run \(process $pid\)" "$bin" train "${small[@]}" --out locked --steps 5 --overwrite
kill -TERM $pid
wait $pid 2> /dev/null
check; [ "$(wc -l < locked/log.csv)" -eq 51 ] || fail "after SIGTERM log.csv has $(wc -l < locked/log.csv) lines, not 51"

item="4 no crash on absurd sizes"
expect_error "d_model" "$bin" train --model transformer --d-model 4611686018427387904 "${data[@]}" --out huge --steps 1
expect_error "embedding" "$bin" train "${small[@]}" --embedding 4611686018427387904 --out huge --steps 1
expect_error "decoder_layers" "$bin" train --model transformer --decoder-layers 0 "${data[@]}" --out huge --steps 1
for field in embedding hidden; do
  cp -r good "huge_$field"
  sed -i "s/\"$field\": [0-9]*/\"$field\": 4611686018427387904/" "huge_$field/config.json"
  expect_error "$field" "$bin" eval --checkpoint "huge_$field" --test toy/test.tsv
done

item="5 NaN is not hidden"
cp -r good nan_model
"${edit[@]}" nan_model/model.safetensors nan decoder
expect_error "NaN" sh -c "\"$bin\" translate --checkpoint nan_model < sources.txt"
cp -r good nan_state
"${edit[@]}" nan_state/state.safetensors nan decoder
expect_error "NaN" "${resume[@]}" --out nan_state

item="6 train accepts only what its config reader accepts"
for bad in "--ff 0:ff" "--dropout 1:dropout" "--dropout -0.5:dropout" "--dropout nan:dropout" \
           "--encoder-layers -1:encoder_layers" "--heads -2:heads" "--hidden -5:hidden" "--window -1:window"; do
  expect_error "${bad#*:}" "$bin" train --model transformer ${bad%%:*} "${data[@]}" --out bad_config --steps 2
done
check; [ ! -e bad_config/config.json ] || fail "a refused configuration wrote bad_config/config.json"

item="7 write errors are errors"
expect_error "standard output" sh -c "\"$bin\" bleu refs.txt < refs.txt > /dev/full"
expect_error "standard output" sh -c "\"$bin\" translate --checkpoint good < sources.txt > /dev/full"
expect_error "standard output" sh -c "\"$bin\" eval --checkpoint good --test toy/test.tsv > /dev/full"
cp -r good unwritable_log
rm unwritable_log/log.csv && mkdir unwritable_log/log.csv
expect_error "log.csv" "${resume[@]}" --out unwritable_log

item="8 --resume checks what it resumes"
cp -r good swapped
mv swapped/src.vocab swapped/tmp && mv swapped/tgt.vocab swapped/src.vocab && mv swapped/tmp swapped/tgt.vocab
expect_error "vocab" "${resume[@]}" --out swapped
cp -r good reordered
awk 'NR == 6 { held = $0; next } NR == 7 { print; print held; next } { print }' good/tgt.vocab > reordered/tgt.vocab
expect_error "tgt.vocab is not the file" "${resume[@]}" --out reordered
cp -r good grown
echo "zzzextra" >> grown/tgt.vocab
expect_error "vocab" "${resume[@]}" --out grown
expect_error "model is \"rnn\"" "$bin" train --model transformer "${data[@]}" --out good --steps 25 --resume
expect_error "hidden is 32" "$bin" train "${rnn[@]}" --hidden 64 "${data[@]}" --out good --steps 25 --resume

item="9 no hangs"
expect_error "finite" "$bin" train "${small[@]}" --out hang --time-budget nan
expect_error "finite" "$bin" compare --budget nan --out hang_cmp
expect_error "max-batch" "$bin" train "${small[@]}" --out hang --max-batch 4611686018427387904 --steps 2
expect_error "steps" "$bin" train "${small[@]}" --out hang --steps 99999999999999999
expect_error "no more distinct sentences" "$bin" toy --out hang_toy --min-len 6 --max-len 6 --train-size 1000000
/usr/bin/python3 -c "print(' '.join(['the cat sees the dog'] * 10000))" > long_line.txt
{ head -n 3 sources.txt; cat long_line.txt; head -n 3 sources.txt; } > with_long.txt
for model in bahdanau transformer; do
  check
  if timeout 120 "$bin" translate --checkpoint $model < with_long.txt > "long_$model.out" 2> "long_$model.err"; then
    [ "$(wc -l < "long_$model.out")" -eq 7 ] || fail "$model: $(wc -l < "long_$model.out") output lines for 7 inputs"
    [ -z "$(sed -n 4p "long_$model.out")" ] || fail "$model: the over-long line was translated"
    grep -q "input line 4: 50000 tokens" "long_$model.err" || fail "$model: no warning naming line 4: $(cat "long_$model.err")"
  else
    fail "$model: translate of a 50,000-word line among 7 failed or hung (exit $?)"
  fi
done

item="10 state metadata is checked"
for kv in step=-5 step=1e3 step=3.7 epoch=-1 epoch=99999999999999999999 batch=-3 rng=garbage "rng=1 2 3" \
          best_bleu=inf best_bleu=nan seconds=-1 world_size=0; do
  key=${kv%%=*}
  rm -rf meta && cp -r good meta
  "${edit[@]}" meta/state.safetensors meta "$key" "${kv#*=}"
  expect_error "'$key'" "${resume[@]}" --out meta
done
for value in nan -5 3.5; do
  rm -rf meta && cp -r good meta
  "${edit[@]}" meta/state.safetensors optim-step "$value"
  expect_error "'optim.step' is" "${resume[@]}" --out meta
done

item="11 errors say what and where"
{ head -n 3 sources.txt; /usr/bin/python3 -c "print(' '.join(['the cat'] * 300))"; } > with_600.txt
check; "$bin" translate --checkpoint transformer < with_600.txt > t600.out 2> t600.err || fail "translate with a 600-token line failed"
grep -q "input line 4: 600 tokens, over the limit of 512" t600.err || fail "no warning naming the transformer's limit: $(cat t600.err)"
{ cat toy/train.tsv; printf '%s\t%s\n' "$(cat long_line.txt)" "le chat"; } > long_train.tsv
check; "$bin" train --model transformer --d-model 32 --heads 2 --ff 64 --encoder-layers 1 --decoder-layers 1 --train long_train.tsv \
  --valid toy/valid.tsv --threads 1 --valid-every 3 --valid-sentences 5 --out long_train --steps 3 > long_train.log 2>&1 \
  || fail "a training corpus with one 50,000-token line failed: $(tail -n 2 long_train.log)"
grep -q "1 of 301 training pairs are longer than the model's 512 positions" long_train.log || fail "no count of the dropped pair"
ASAN_OPTIONS=allocator_may_return_null=1 expect_error "out of memory allocating a float32 tensor of shape" \
  "$bin" train "${rnn[@]}" --hidden 1048576 "${data[@]}" --out oom --steps 1
expect_error "finite" "$bin" train "${small[@]}" --out lr_nan --lr nan
expect_error "No checkpoint was written before it" "$bin" train "${small[@]}" --out fresh_div --steps 30 --lr 1e30
expect_error "unknown subcommand 'frobnicate'" "$bin" frobnicate --out x
{ printf '\xef\xbb\xbf'; cat toy/train.tsv; } > bom_train.tsv
check; "$bin" train "${rnn[@]}" --hidden 32 --train bom_train.tsv --valid toy/valid.tsv "${common[@]}" --out bom --steps 2 > bom.log 2>&1 || fail "a corpus with a BOM: $(tail -n 2 bom.log)"
check; ! grep -q $'\xef\xbb\xbf' bom/src.vocab || fail "the BOM became part of a source word"
cp -r good bom_vocab
{ printf '\xef\xbb\xbf'; cat good/src.vocab; } > bom_vocab/src.vocab
check; "$bin" eval --checkpoint bom_vocab --test toy/test.tsv > bom_vocab.log 2>&1 || fail "a vocabulary with a BOM: $(tail -n 2 bom_vocab.log)"
cp -r good stale
XGRAD_TEST_PAUSE_WRITE="stale/state.safetensors:1:100" "$bin" train "${small[@]}" --out stale --steps 30 --resume > stale.log 2>&1 &
pid=$!
for _ in $(seq 1 300); do compgen -G "stale/state.safetensors.tmp.*.paused" > /dev/null && break; sleep 0.1; done
{ kill -9 $pid && wait $pid; } 2> /dev/null
check; compgen -G "stale/*.tmp.*" > /dev/null || fail "the kill during a save left no temporary file to clean (test setup)"
"$bin" train "${small[@]}" --out stale --steps 30 --resume > stale2.log 2>&1
check; ! compgen -G "stale/*.tmp.*" > /dev/null || fail "a temporary file of a killed save is still there: $(ls stale)"

echo "reliability_test: $((checks - failures)) passed, $failures failed"
[ "$failures" -eq 0 ]

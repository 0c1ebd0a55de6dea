#!/usr/bin/env bash
# Real-text path end to end: a synthetic corpus with a long-tailed vocabulary, accents,
# typographic quotes, no-break spaces, CRLF line ends and a byte-order mark trains with
# --tokenizer spm; eval prints BLEU on detokenized output; translate of a sentence with words and
# characters never seen returns text with no <unk> and no ▁; the vocabulary, the SentencePiece
# model and the checkpoint stay in step across --resume (a swapped model is refused).
# Usage: subword_test.sh PATH/TO/xgrad-translate WORK_DIR
set -euo pipefail
bin=$1 work=$2
rm -rf "$work" && mkdir -p "$work" && cd "$work"
fail() { echo "FAIL: $*" >&2; exit 1; }

/usr/bin/python3 - <<'PY'
import random
random.seed(3)
stems = ["maison", "café", "élève", "garçon", "cœur", "déjà", "naïve", "fiancée", "hôtel", "forêt", "tâche", "noël"]
words = [s + suffix for s in stems for suffix in ["", "s", "ment", "ette", "eur", "ière", "isme", "ité"]]
def sentence(n):
    # Zipf-like: a few words everywhere, most rare
    return [words[min(len(words) - 1, int(1 / random.uniform(0.01, 1)) - 1)] for _ in range(n)]
def english(ws): return " ".join("the-" + w for w in ws)
def french(ws): return " ".join(reversed(ws))
def write(path, n, bom):
    with open(path, "w", encoding="utf-8", newline="") as f:
        if bom: f.write("\ufeff")
        for i in range(n):
            ws = sentence(random.randint(2, 8))
            src, tgt = english(ws), french(ws)
            if i % 4 == 0: src, tgt = "“" + src + "”", "«\u00a0" + tgt + "\u00a0»"   # quotes, no-break spaces
            if i % 5 == 0: src, tgt = src + " ?", tgt + "\u202f?"                        # narrow no-break space
            f.write(src + "\t" + tgt + "\r\n")                                            # CRLF
write("train.tsv", 600, True)
write("valid.tsv", 40, False)
write("test.tsv", 40, True)
PY

common=(--model transformer --tokenizer spm --d-model 32 --heads 2 --ff 64 --encoder-layers 1
        --decoder-layers 1 --train train.tsv --valid valid.tsv --valid-every 20 --valid-sentences 10 --threads 1)
"$bin" train "${common[@]}" --vocab-size 320 --steps 40 --save-every 20 --out run > train.log
[ -s run/spm.model ] || fail "train --tokenizer spm wrote no run/spm.model"
grep -q '"tokenizer": "spm"' run/config.json || fail "config.json does not record the tokenizer"
pieces=$(wc -l < run/src.vocab)
[ "$pieces" -eq 323 ] || fail "src.vocab has $pieces entries, not 4 specials + 319 pieces"
cmp -s run/src.vocab run/tgt.vocab || fail "a shared model's two vocabularies differ"

"$bin" eval --checkpoint run --test test.tsv --hyp hyp.txt > eval.log
grep -q "BLEU" eval.log || fail "eval printed no BLEU: $(cat eval.log)"
/usr/bin/python3 -c 'import sys; open(sys.argv[1], "rb").read().decode("utf-8")' hyp.txt || fail "hypotheses are not UTF-8"
! grep -qP '[\x00-\x08\x0b-\x1f]' hyp.txt || fail "hypotheses contain control characters"
[ "$(wc -l < hyp.txt)" -eq 40 ] || fail "eval wrote $(wc -l < hyp.txt) hypotheses for 40 test pairs"
! grep -q $'\xe2\x96\x81' hyp.txt || fail "hypotheses contain ▁: $(grep -m1 $'\xe2\x96\x81' hyp.txt)"
! grep -q '<unk>\|⁇' hyp.txt || fail "hypotheses contain an unknown marker"

printf 'the-Zürich the-☃ the-wörterbuch “never seen”\n' | "$bin" translate --checkpoint run > unseen.txt
[ "$(wc -l < unseen.txt)" -eq 1 ] || fail "translate wrote $(wc -l < unseen.txt) lines for 1"
! grep -q $'\xe2\x96\x81' unseen.txt || fail "translate output contains ▁: $(cat unseen.txt)"
! grep -q '<unk>\|⁇' unseen.txt || fail "translate output contains an unknown marker: $(cat unseen.txt)"

# --max-len on a corpus file: longer pairs are left out and counted; Unicode spaces reported.
"$bin" train "${common[@]}" --vocab-size 320 --steps 2 --max-len 4 --out short > short.log 2> short.err
grep -q "pairs have more than 4 tokens on a side (--max-len) and were left out" short.err ||
  fail "no count of the pairs over --max-len: $(cat short.err)"
grep -q "lines had Unicode spaces" short.log || fail "the normalised spaces were not reported: $(head -3 short.log)"

# Resume: continues with the same model and vocabulary; a model swapped underneath is refused.
"$bin" train "${common[@]}" --vocab-size 320 --steps 60 --save-every 20 --out run --resume > resume.log
grep -q "step 60\|60 steps\|steps 60" resume.log run/log.csv || tail -1 run/log.csv | grep -q '^60,' ||
  fail "the resumed run did not reach step 60: $(tail -2 run/log.csv)"
cp run/spm.model spm.saved
"$bin" train "${common[@]}" --steps 20 --out other --vocab-size 300 > /dev/null
cp other/spm.model run/spm.model
if "$bin" train "${common[@]}" --vocab-size 320 --steps 80 --out run --resume > swapped.log 2>&1; then
  fail "train --resume accepted a swapped SentencePiece model"
fi
grep -q "spm.model" swapped.log || fail "the refusal does not name spm.model: $(cat swapped.log)"
if "$bin" eval --checkpoint run --test test.tsv > swapped_eval.log 2>&1; then
  fail "eval accepted a SentencePiece model whose pieces are not the vocabulary"
fi
grep -q "src.vocab is not the vocabulary of" swapped_eval.log || fail "eval's refusal: $(cat swapped_eval.log)"
cp spm.saved run/spm.model
"$bin" eval --checkpoint run --test test.tsv > /dev/null || fail "eval failed with the model restored"
# compare with subwords: every model learns its SentencePiece model; the report is written.
"$bin" compare --steps 4 --models rnn transformer --tokenizer spm --vocab-size 320 --tie-embeddings all \
  --train train.tsv --valid valid.tsv --test test.tsv --valid-every 4 --valid-sentences 5 --threads 1 --out cmp > compare.log
for f in report.html compare.json rnn/spm.model transformer/spm.model; do
  [ -s "cmp/$f" ] || fail "compare --tokenizer spm did not write $f"
done
grep -q '"tie_embeddings": "all"' cmp/transformer/config.json || fail "compare did not tie the transformer's embeddings"
grep -q '"tie_embeddings": "none"' cmp/rnn/config.json || fail "compare tied the RNN's embeddings"
echo "subword_test: all checks passed"

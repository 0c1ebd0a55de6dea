#!/usr/bin/env bash
# Real text: English-French message catalogues from this machine (scripts/gettext_corpus.py), a
# transformer trained on SentencePiece subwords and the same transformer on whitespace words, each
# for the same time budget, then both scored on the same 2,000 test pairs (BLEU on detokenized
# output, chrF, 95% bootstrap intervals). Writes OUT/{corpus,spm,word}/ and OUT/summary.txt.
# Usage: scripts/real_text.sh [OUT] [SECONDS_PER_MODEL] [THREADS]
set -euo pipefail
out=${1:-results/real_text} budget=${2:-600} threads=${3:-2}
bin=${XGRAD_TRANSLATE:-build/examples/xgrad-translate}
mkdir -p "$out"
/usr/bin/python3 scripts/gettext_corpus.py "$out/corpus" | tee "$out/summary.txt"
common=(--model transformer --train "$out/corpus/train.tsv" --valid "$out/corpus/valid.tsv" --time-budget "$budget"
        --valid-every 1000 --valid-sentences 200 --threads "$threads" --overwrite)
echo "== spm: SentencePiece unigram, 8,000 pieces shared by both languages, all embeddings tied" | tee -a "$out/summary.txt"
"$bin" train "${common[@]}" --tokenizer spm --vocab-size 8000 --tie-embeddings all --out "$out/spm" | tail -3 | tee -a "$out/summary.txt"
echo "== word: whitespace words (the toy task's tokenizer), vocabularies from the training corpus" | tee -a "$out/summary.txt"
"$bin" train "${common[@]}" --out "$out/word" | tail -3 | tee -a "$out/summary.txt"
for run in spm word; do
  echo "== $run: test" | tee -a "$out/summary.txt"
  "$bin" eval --checkpoint "$out/$run" --test "$out/corpus/test.tsv" --hyp "$out/$run/test.hyp" --json "$out/$run/test.json" |
    head -1 | tee -a "$out/summary.txt"
  echo "vocabularies: $(wc -l < "$out/$run/src.vocab") source, $(wc -l < "$out/$run/tgt.vocab") target entries" |
    tee -a "$out/summary.txt"
done
/usr/bin/python3 - "$out" <<'PY' | tee -a "$out/summary.txt"
import sys
out = sys.argv[1]
src = [l.rstrip("\n").split("\t")[0] for l in open(f"{out}/corpus/test.tsv", encoding="utf-8")]
spm = [l.rstrip("\n") for l in open(f"{out}/spm/test.hyp", encoding="utf-8")]
word = [l.rstrip("\n") for l in open(f"{out}/word/test.hyp", encoding="utf-8")]
unk_word = sum("<unk>" in h for h in word)
unk_spm = sum("<unk>" in h or "\u2047" in h for h in spm)  # U+2047 is SentencePiece's rendering of <unk>
print(f"test translations containing an unknown-word marker: word model {unk_word} of {len(word)}, spm model {unk_spm}")
for i in (0, 1, 2, 3, 4):
    print(f"  source: {src[i]}\n  spm:    {spm[i]}\n  word:   {word[i]}")
PY

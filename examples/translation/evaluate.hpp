#pragma once
// Translating a test set and scoring it: corpus BLEU, chrF and exact match, overall and per
// source-length bucket of 10 tokens (1-10, 11-20, ...) up to the longest test sentence.
#include <string>
#include <vector>

#include "bleu.hpp"
#include <xgrad/data/corpus.hpp>
#include <xgrad/data/vocab.hpp>
#include "search.hpp"
#include "text_codec.hpp"

namespace xg::translation {

// Scores with their 95% bootstrap intervals (significance.hpp; 1000 resamples, seed 12345).
struct BucketScore {
  int64_t lo = 0, hi = 0;  // source lengths lo..hi
  int64_t n = 0;
  double bleu = 0, exact = 0, chrf = 0;
  double bleu_lo = 0, bleu_hi = 0, chrf_lo = 0, chrf_hi = 0;
  std::vector<double> bleu_runs;  // compare --seeds: each run's BLEU (bleu is then their mean)
};

struct EvalResult {
  double bleu = 0, exact = 0, chrf = 0;
  double bleu_lo = 0, bleu_hi = 0, chrf_lo = 0, chrf_hi = 0;
  std::vector<double> bleu_runs;
  std::vector<BucketScore> buckets;
  std::vector<std::string> hypotheses;  // in test order
  std::vector<std::size_t> skipped;     // test lines (0-based) over the length limit: scored as empty
  std::string to_json() const;
};

// The bucket a source of `length` tokens falls into: 0 for 1-10, 1 for 11-20, ... (no last
// open-ended bucket: the buckets follow the data).
int bucket_of(int64_t length);
// How many buckets hold sources of up to `longest` tokens: bucket_of(longest) + 1.
int bucket_count(int64_t longest);
// The longest source in tokens (whitespace-split), 0 for none.
int64_t longest_source(const std::vector<data::SentencePair>& pairs);

// Translates `pairs` (batched by length, results back in input order) and scores them.
// Hypotheses are detokenized text (pieces joined for subword models); BLEU tokenizes it with
// 13a, as sacreBLEU does, against codec.reference_text of each target.
EvalResult evaluate(Seq2Seq& model, const TextCodec& codec, const std::vector<data::SentencePair>& pairs, const SearchOptions& search,
                    int64_t batch_size = 64, int64_t bootstrap_samples = 1000);

// Forced decoding (marian-scorer, fairseq --score-reference): the log-probability the model gives
// each pair's target, <eos> included, per sentence and per token, in input order. Pairs a model
// cannot read (over its positions) get skipped = true.
struct SentenceLogProb {
  double logprob = 0;
  std::vector<double> tokens;  // one per target token, then <eos>
  bool skipped = false;
};
std::vector<SentenceLogProb> score_references(Seq2Seq& model, const TextCodec& codec,
                                              const std::vector<data::SentencePair>& pairs, int64_t batch_size = 64);

// Hypotheses only (the `translate` command and evaluate use it).
std::vector<Hypothesis> translate_sentences(Seq2Seq& model, const TextCodec& codec,
                                            const std::vector<std::string>& sources, const SearchOptions& search,
                                            int64_t batch_size = 64);

}  // namespace xg::translation

#pragma once
// Greedy and beam search over a Seq2Seq's step function, batched over sentences.
#include <vector>

#include "models.hpp"

namespace xg::translation {

struct Hypothesis {
  std::vector<int64_t> tokens;                // without <bos> and <eos>
  double score = 0;                           // sum of log-probabilities (including <eos>)
  std::vector<std::vector<double>> attention; // per output token, weights over the source (if the model has them)
  bool skipped = false;                       // the source was over the length limit: not translated
  double normalized_score = 0;                // score / (tokens + 1)^length_penalty: what beam search ranks by
  std::vector<Hypothesis> alternatives;       // SearchOptions::nbest > 1: the next best, in order
};

struct SearchOptions {
  int64_t beam = 1;
  // Beam search ranks finished hypotheses by score / length^alpha, the length in tokens with <eos>
  // (the plain power form, as Marian's --normalize; not GNMT's ((5 + length) / 6)^alpha). It
  // stops a sentence only when no live beam can still beat the result (search.cpp).
  double length_penalty = 1.0;
  int64_t nbest = 1;            // hypotheses to return (at most the beam size)
  double max_len_a = 1.5;       // a sentence stops after a * source length + b tokens
  int64_t max_len_b = 10;
  bool keep_attention = false;
  // Longer sources are not translated (Hypothesis::skipped): one 50,000-word line would otherwise
  // run for hours. A transformer's own limit is its max_positions.
  int64_t max_source_tokens = 1024;
  // Never emit <unk>: set for subword models, whose pieces spell every text (a model that
  // never saw <unk> as a target could still rank it first early in training).
  bool forbid_unknown = false;
};

// One hypothesis per batch row, in batch order. beam == 1 is greedy search (identical results).
std::vector<Hypothesis> translate_batch(Seq2Seq& model, const data::Batch& batch, const SearchOptions& options);

}  // namespace xg::translation

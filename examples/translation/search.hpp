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
};

struct SearchOptions {
  int64_t beam = 1;
  double length_penalty = 1.0;  // beam: rank finished hypotheses by score / length^alpha
  double max_len_a = 1.5;       // a sentence stops after a * source length + b tokens
  int64_t max_len_b = 10;
  bool keep_attention = false;
  // Longer sources are not translated (Hypothesis::skipped): one 50,000-word line would otherwise
  // run for hours. A transformer's own limit is its max_positions.
  int64_t max_source_tokens = 1024;
};

// One hypothesis per batch row, in batch order. beam == 1 is greedy search (identical results).
std::vector<Hypothesis> translate_batch(Seq2Seq& model, const data::Batch& batch, const SearchOptions& options);

}  // namespace xg::translation

#pragma once
/// \file
/// The toy translation task: an English-like source and a French-like target, generated from a
/// seed with no files. Grammar:
///   sentence = clause (CONJ clause)* "."        clause = NP VERB NP [PREP NP]
///   NP = DET ADJ{0..2} NOUN
/// The target translates word by word, but the determiner agrees with the noun's gender (which
/// comes after the adjectives in the source, so the decoder must look ahead) and adjectives follow
/// their noun and agree with it: "the small old cat" -> "le chat petit vieux".
#include <cstdint>
#include <string>
#include <vector>

#include <xgrad/core/random.hpp>
#include <xgrad/data/corpus.hpp>

namespace xg::data {

/// Settings of the toy English-to-French corpus generator.
struct ToyConfig {
  uint64_t seed = 1;  ///< the generator's seed
  int64_t train_size = 60000;  ///< training pairs
  int64_t valid_size = 500;  ///< validation pairs
  int64_t test_per_bucket = 200;  ///< test sentences per length bucket 1-10, 11-20, ..., 41-50
  int64_t min_len = 3;            ///< source tokens, including the final period
  int64_t max_len = 50;  ///< longest source, in tokens
  /// Train short, test long: training and validation sources of at most this many tokens, the
  /// test split still up to max_len (0: max_len for all three).
  int64_t train_max_len = 0;
  /// Word order of the target: "svo" (the grammar's own: word for word but for adjectives, which
  /// follow their noun) or "sov" (attention has to reorder: verb-final clauses, postpositions,
  /// and plural noun phrases marked by a word of their own after the adjectives). Source lengths
  /// are drawn the same way in both; "svo" corpora are those of the releases before "sov" existed.
  std::string order = "svo";
};

/// A generated pair with its gold word alignment.
struct ToyPair {
  SentencePair pair;  ///< source and target text
  /// Gold word alignment: alignment[t] is the source position that target token t translates.
  std::vector<int64_t> alignment;
};

/// The three splits of a generated corpus.
struct ToyCorpus {
  std::vector<ToyPair> train;  ///< training pairs
  std::vector<ToyPair> valid;  ///< validation pairs, disjoint from train
  std::vector<ToyPair> test;   ///< test pairs, stratified by length, disjoint from both
};

/// The shortest sentence the grammar allows: DET NOUN VERB DET NOUN "." (6 tokens). Requested
/// lengths below it are raised to it.
constexpr int64_t kToyMinLength = 6;

/// One pair whose source has exactly `length` tokens (kToyMinLength <= length), in `order` (as ToyConfig::order).
ToyPair generate_toy_pair(Generator& gen, int64_t length, const std::string& order = "svo");

/// Lengths are drawn uniformly from [max(min_len, 6), max_len] (train and valid: up to
/// train_max_len when set). Splits are disjoint by source sentence; the test split has
/// test_per_bucket sentences in each 10-token bucket that intersects the length range.
ToyCorpus generate_toy_corpus(const ToyConfig& config);

/// The sentence pairs of a split, without their alignments.
std::vector<SentencePair> pairs_of(const std::vector<ToyPair>& split);

}  // namespace xg::data

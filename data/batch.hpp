#pragma once
/// \file
/// Examples as id sequences, padded batches, and length-bucketed batching by token budget.
#include <cstdint>
#include <vector>

#include <xgrad/core/random.hpp>
#include <xgrad/core/tensor.hpp>
#include <xgrad/data/corpus.hpp>
#include <xgrad/data/sampler.hpp>
#include <xgrad/data/tokenizer.hpp>
#include <xgrad/data/vocab.hpp>

namespace xg::data {

/// A sentence pair as ids.
struct Example {
  std::vector<int64_t> src;  ///< source ids, without `<bos>`/`<eos>`
  std::vector<int64_t> tgt;  ///< target ids, without `<bos>`/`<eos>`
  /// Gold word alignment (guided alignment training): alignment[t] is the source position target
  /// token t translates; empty when unknown. (Its initializer keeps two-member aggregate
  /// initialisation {src, tgt} free of -Wmissing-field-initializers.)
  std::vector<int64_t> alignment = {};
};

/// Tokenizes and encodes sentence pairs (unknown words become `<unk>`).
std::vector<Example> encode_pairs(const std::vector<SentencePair>& pairs, const Vocabulary& src_vocab,
                                  const Vocabulary& tgt_vocab, const Tokenizer& tokenizer);

/// Padded sentence pairs, row-major (B, S) and (B, T) ids, ready for a model.
struct Batch {
  int64_t size = 0;     ///< B, sentences
  int64_t src_len = 0;  ///< S, the longest source
  int64_t tgt_len = 0;  ///< T, the longest target + 1
  std::vector<int64_t> src;       ///< (B, S) source ids, `<pad>`-padded
  std::vector<int64_t> tgt_in;    ///< (B, T) `<bos>` + target, the decoder input
  std::vector<int64_t> tgt_out;   ///< (B, T) target + `<eos>`, the labels
  std::vector<int64_t> src_lengths;  ///< (B) source lengths
  std::vector<int64_t> tgt_lengths;  ///< (B) target lengths, counting the `<eos>`
  std::vector<std::size_t> indices;               ///< which examples, in batch order
  /// (B, T) the source position each label translates, -1 for `<eos>`, padding and unaligned
  /// rows; empty when no example of the batch has a gold alignment.
  std::vector<int64_t> alignment;
  int64_t target_tokens() const;                  ///< non-pad labels
  Tensor src_padding_mask(DType dtype = DType::Float32) const;  ///< (B, S): 1 at padding
  Tensor tgt_padding_mask(DType dtype = DType::Float32) const;  ///< (B, T): 1 at padding
};

/// The examples at `indices` as a Batch: sources padded with `<pad>`, decoder inputs `<bos>` + target,
/// labels target + `<eos>`.
Batch collate(const std::vector<Example>& examples, const std::vector<std::size_t>& indices);
/// The same from the batch's examples themselves (`indices`: where they came from).
Batch collate_items(const std::vector<Example>& items, const std::vector<std::size_t>& indices);

/// Rows [from, to) of a batch as a batch of their own, padded only to their own longest source and
/// target (decoding splits a batch into parts, one per thread).
Batch slice_rows(const Batch& batch, int64_t from, int64_t to);

/// An example's length for batching: max(S, T+1), the longer of its source and its decoder rows.
std::vector<int64_t> batching_lengths(const std::vector<Example>& examples);

/// bucket_by_length (data/sampler.hpp) over batching_lengths: B * max(S, T+1) of a batch stays
/// within options.max_tokens. Every example appears in exactly one batch.
std::vector<std::vector<std::size_t>> make_batches(const std::vector<Example>& examples,
                                                   const BatchingOptions& options, uint64_t seed,
                                                   int64_t epoch);

}  // namespace xg::data

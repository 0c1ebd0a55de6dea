#pragma once
/// \file
/// Batch samplers: which dataset items form each batch of an epoch. A sampler is a pure function
/// of (seed, epoch), so a run resumed at (epoch, batch) sees the batches it would have seen.
#include <cstddef>
#include <cstdint>
#include <vector>

namespace xg::data {

/// The batches of an epoch, each a list of dataset indices.
using IndexBatches = std::vector<std::vector<std::size_t>>;

/// Decides the batches of every epoch.
class BatchSampler {
 public:
  virtual ~BatchSampler() = default;
  virtual IndexBatches epoch(int64_t epoch) const = 0;  ///< the batches of epoch `epoch` (0-based)
};

/// Items 0..n-1 in order, batch_size at a time (the last batch shorter unless drop_last).
class SequentialSampler : public BatchSampler {
 public:
  /// Batches of `batch_size` over n items (Error if batch_size is 0).
  SequentialSampler(std::size_t n, std::size_t batch_size, bool drop_last = false);
  IndexBatches epoch(int64_t epoch) const override;

 private:
  std::size_t n_, batch_size_;
  bool drop_last_;
};

/// A new permutation every epoch, drawn from (seed, epoch) with xgrad's own generator (the same
/// on every platform), then cut like SequentialSampler.
class ShuffledSampler : public BatchSampler {
 public:
  /// Batches of `batch_size` over a permutation of n items drawn from (seed, epoch).
  ShuffledSampler(std::size_t n, std::size_t batch_size, uint64_t seed, bool drop_last = false);
  IndexBatches epoch(int64_t epoch) const override;

 private:
  std::size_t n_, batch_size_;
  uint64_t seed_;
  bool drop_last_;
};

/// Budget and order of length-bucketed batches.
struct BatchingOptions {
  int64_t max_tokens = 2048;  ///< B * (longest length in the batch) stays within this
  int64_t max_batch = 128;    ///< and B within this
  bool shuffle = true;  ///< shuffle items and batches (false: items sorted by length in order)
};

/// Items of similar length together, for sequences: shuffles (seeded by seed and epoch), sorts
/// by length within windows of 100 batches' worth of items, cuts batches within the token budget
/// and shuffles the batch order. Every item is in exactly one batch; an item longer than
/// max_tokens gets a batch of its own.
IndexBatches bucket_by_length(const std::vector<int64_t>& lengths, const BatchingOptions& options, uint64_t seed,
                              int64_t epoch);

/// bucket_by_length as a BatchSampler over fixed item lengths.
class LengthBucketSampler : public BatchSampler {
 public:
  /// lengths[i] is item i's length; the options are checked here.
  LengthBucketSampler(std::vector<int64_t> lengths, BatchingOptions options, uint64_t seed);
  IndexBatches epoch(int64_t epoch) const override;

 private:
  std::vector<int64_t> lengths_;
  BatchingOptions options_;
  uint64_t seed_;
};

}  // namespace xg::data

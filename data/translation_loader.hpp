#pragma once
/// \file
/// DataLoader: the translation trainer's loader, a Loader (data/loader.hpp) of Examples batched
/// by length (LengthBucketSampler over max(S, T+1)) and collated into padded Batches with
/// `<bos>`/`<eos>`.
#include <memory>

#include <xgrad/data/batch.hpp>
#include <xgrad/data/loader.hpp>

namespace xg::data {

/// The translation trainer's loader: length-bucketed Batches of Examples, prefetched, resumable.
class DataLoader {
 public:
  /// `examples` must outlive the loader. Starts at (epoch, batch) = position, for resuming.
  DataLoader(const std::vector<Example>& examples, BatchingOptions options, uint64_t seed,
             int64_t start_epoch = 0, int64_t start_batch = 0, std::size_t queue_capacity = 4);

  Batch next() { return loader_->next(); }  ///< the next batch (epochs follow one another)
  int64_t epoch() const { return loader_->epoch(); }  ///< epoch of the next batch
  int64_t batch_in_epoch() const { return loader_->batch_in_epoch(); }  ///< index of the next batch in that epoch

 private:
  VectorDataset<Example> dataset_;
  LengthBucketSampler sampler_;
  std::unique_ptr<Loader<Example, Batch>> loader_;  ///< last: its thread reads the two above
};

}  // namespace xg::data

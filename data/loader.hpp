#pragma once
/// \file
/// Loader: batches of a dataset, chosen by a batch sampler and made by a collate function on a
/// background thread, `prefetch` batches ahead (torch.utils.data.DataLoader with one worker).
/// Epochs follow one another without end; epoch() and batch_in_epoch() say where the next batch
/// comes from, and a loader constructed at that position continues the same sequence of batches
/// (samplers are functions of seed and epoch): that is how a training run resumes.
/// Destroying the loader mid-epoch neither hangs nor leaks; an exception in get() or the collate
/// function is rethrown by next().
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

#include <xgrad/data/collate.hpp>
#include <xgrad/data/dataset.hpp>
#include <xgrad/data/sampler.hpp>

namespace xg::data {

template <class Item, class BatchT = Item>
/// Batches of a Dataset<Item> as BatchT, made on a background thread (see the file description).
class Loader {
 public:
  /// items in batch order, and their dataset indices
  using Collate = std::function<BatchT(std::vector<Item> items, const std::vector<std::size_t>& indices)>;

  /// `dataset` and `sampler` must outlive the loader. Without a collate function, a loader of
  /// tensor rows (Item = BatchT = std::vector<Tensor>) stacks them (stack_items).
  Loader(const Dataset<Item>& dataset, const BatchSampler& sampler, Collate collate = nullptr,
         int64_t start_epoch = 0, int64_t start_batch = 0, std::size_t prefetch = 4)
      : dataset_(dataset), sampler_(sampler), collate_(std::move(collate)), capacity_(std::max<std::size_t>(prefetch, 1)),
        consumer_epoch_(start_epoch), consumer_batch_(start_batch) {
    if (!collate_) {
      if constexpr (std::is_same_v<Item, std::vector<Tensor>> && std::is_same_v<BatchT, std::vector<Tensor>>)
        collate_ = [](std::vector<Item> items, const std::vector<std::size_t>&) { return stack_items(items); };
      else
        throw Error("Loader: a collate function is needed for items that are not tensor rows");
    }
    const std::size_t planned = checked_plan(start_epoch).size();
    if (start_batch < 0 || start_batch > static_cast<int64_t>(planned))
      throw Error("Loader: start batch " + std::to_string(start_batch) + " outside the " + std::to_string(planned) +
                  " batches of epoch " + std::to_string(start_epoch));
    worker_ = std::thread([this, start_epoch, start_batch] { run(start_epoch, start_batch); });
  }
  ~Loader() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    not_full_.notify_all();
    not_empty_.notify_all();
    if (worker_.joinable()) worker_.join();
  }
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;

  /// The next batch; after an epoch's last batch the next epoch starts.
  BatchT next() {
    std::unique_lock<std::mutex> lock(mutex_);
    not_empty_.wait(lock, [&] { return !queue_.empty() || error_; });
    if (queue_.empty()) std::rethrow_exception(error_);
    Entry e = std::move(queue_.front());
    queue_.pop_front();
    not_full_.notify_one();
    consumer_epoch_ = e.epoch;
    consumer_batch_ = e.index + 1;
    if (consumer_batch_ >= e.epoch_size) consumer_epoch_ += 1, consumer_batch_ = 0;
    return std::move(e.batch);
  }
  /// Where the batch that next() returns comes from: resume a run from here.
  int64_t epoch() const { return consumer_epoch_; }
  int64_t batch_in_epoch() const { return consumer_batch_; }  ///< index of the next batch in that epoch

 private:
  struct Entry {
    BatchT batch;
    int64_t epoch, index, epoch_size;
  };

  IndexBatches checked_plan(int64_t epoch) const {
    IndexBatches plan = sampler_.epoch(epoch);
    if (plan.empty()) throw Error("Loader: the sampler gave no batches for epoch " + std::to_string(epoch));
    for (const auto& b : plan)
      for (std::size_t i : b)
        if (i >= dataset_.size())
          throw IndexError("Loader: the sampler asked for item " + std::to_string(i) + " of a dataset of " +
                           std::to_string(dataset_.size()));
    return plan;
  }

  void run(int64_t epoch, int64_t first) {
    try {
      for (;; ++epoch, first = 0) {
        const IndexBatches plan = checked_plan(epoch);
        for (std::size_t b = static_cast<std::size_t>(first); b < plan.size(); ++b) {
          std::vector<Item> items;
          items.reserve(plan[b].size());
          for (std::size_t i : plan[b]) items.push_back(dataset_.get(i));
          BatchT batch = collate_(std::move(items), plan[b]);
          std::unique_lock<std::mutex> lock(mutex_);
          not_full_.wait(lock, [&] { return stop_ || queue_.size() < capacity_; });
          if (stop_) return;
          queue_.push_back({std::move(batch), epoch, static_cast<int64_t>(b), static_cast<int64_t>(plan.size())});
          not_empty_.notify_one();
        }
      }
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::current_exception();
      not_empty_.notify_all();
    }
  }

  const Dataset<Item>& dataset_;
  const BatchSampler& sampler_;
  Collate collate_;
  std::size_t capacity_;
  int64_t consumer_epoch_, consumer_batch_;

  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Entry> queue_;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread worker_;
};

/// Batches of tensor rows: {X (B, ...), Y (B, ...)} from a TensorDataset.
using TensorLoader = Loader<std::vector<Tensor>>;

}  // namespace xg::data

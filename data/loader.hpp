#pragma once
// DataLoader: collates the batches of an epoch on a background thread into a bounded queue.
// Stopping early (destroying the loader mid-epoch) or an exception on either side neither hangs
// nor leaks: the destructor wakes and joins the worker, and a worker exception is rethrown by next().
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <thread>

#include "data/batch.hpp"

namespace xg::data {

class DataLoader {
 public:
  // `examples` must outlive the loader. Starts at (epoch, batch) = position, for resuming.
  DataLoader(const std::vector<Example>& examples, BatchingOptions options, uint64_t seed,
             int64_t start_epoch = 0, int64_t start_batch = 0, std::size_t queue_capacity = 4);
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  // The next batch; a new epoch starts automatically after the last batch of the previous one.
  Batch next();
  // Position of the next batch next() will return: resume from here.
  int64_t epoch() const { return consumer_epoch_; }
  int64_t batch_in_epoch() const { return consumer_batch_; }

 private:
  struct Item {
    Batch batch;
    int64_t epoch, index, epoch_size;
  };
  void run(int64_t epoch, int64_t batch);

  const std::vector<Example>& examples_;
  BatchingOptions options_;
  uint64_t seed_;
  std::size_t capacity_;
  int64_t consumer_epoch_, consumer_batch_;

  std::mutex mutex_;
  std::condition_variable not_full_, not_empty_;
  std::deque<Item> queue_;
  bool stop_ = false;
  std::exception_ptr error_;
  std::thread worker_;
};

}  // namespace xg::data

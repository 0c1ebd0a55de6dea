#include "data/loader.hpp"

#include <fmt/format.h>

namespace xg::data {

DataLoader::DataLoader(const std::vector<Example>& examples, BatchingOptions options, uint64_t seed,
                       int64_t start_epoch, int64_t start_batch, std::size_t capacity)
    : examples_(examples), options_(options), seed_(seed), capacity_(std::max<std::size_t>(capacity, 1)),
      consumer_epoch_(start_epoch), consumer_batch_(start_batch) {
  if (examples.empty()) throw Error("DataLoader: no examples");
  const std::size_t planned = make_batches(examples_, options_, seed_, start_epoch).size();
  if (start_batch < 0 || start_batch > static_cast<int64_t>(planned))
    throw Error(fmt::format("DataLoader: start batch {} outside the {} batches of epoch {}", start_batch, planned,
                            start_epoch));
  worker_ = std::thread([this, start_epoch, start_batch] { run(start_epoch, start_batch); });
}

DataLoader::~DataLoader() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  not_full_.notify_all();
  not_empty_.notify_all();
  if (worker_.joinable()) worker_.join();
}

void DataLoader::run(int64_t epoch, int64_t first) {
  try {
    for (;; ++epoch, first = 0) {
      const auto plan = make_batches(examples_, options_, seed_, epoch);
      for (std::size_t i = static_cast<std::size_t>(first); i < plan.size(); ++i) {
        Batch b = collate(examples_, plan[i]);
        std::unique_lock<std::mutex> lock(mutex_);
        not_full_.wait(lock, [&] { return stop_ || queue_.size() < capacity_; });
        if (stop_) return;
        queue_.push_back({std::move(b), epoch, static_cast<int64_t>(i), static_cast<int64_t>(plan.size())});
        not_empty_.notify_one();
      }
    }
  } catch (...) {
    std::lock_guard<std::mutex> lock(mutex_);
    error_ = std::current_exception();
    not_empty_.notify_all();
  }
}

Batch DataLoader::next() {
  std::unique_lock<std::mutex> lock(mutex_);
  not_empty_.wait(lock, [&] { return !queue_.empty() || error_; });
  if (queue_.empty()) std::rethrow_exception(error_);
  Item item = std::move(queue_.front());
  queue_.pop_front();
  not_full_.notify_one();
  consumer_epoch_ = item.epoch;
  consumer_batch_ = item.index + 1;
  if (consumer_batch_ >= item.epoch_size) consumer_epoch_ += 1, consumer_batch_ = 0;
  return std::move(item.batch);
}

}  // namespace xg::data

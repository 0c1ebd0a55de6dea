#include <xgrad/data/sampler.hpp>

#include <algorithm>
#include <climits>
#include <fmt/format.h>
#include <numeric>

#include <xgrad/core/errors.hpp>
#include <xgrad/core/random.hpp>

namespace xg::data {

namespace {
// Fisher-Yates with xgrad's generator: identical on every platform.
template <class V>
void shuffle(V& v, Generator& gen) {
  for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.below(i)]);
}
Generator epoch_generator(uint64_t seed, int64_t epoch) {
  return Generator(seed * 1000003ULL + static_cast<uint64_t>(epoch));
}
IndexBatches cut(const std::vector<std::size_t>& order, std::size_t batch_size, bool drop_last) {
  IndexBatches out;
  for (std::size_t s = 0; s < order.size(); s += batch_size) {
    const std::size_t e = std::min(order.size(), s + batch_size);
    if (drop_last && e - s < batch_size) break;
    out.emplace_back(order.begin() + static_cast<std::ptrdiff_t>(s), order.begin() + static_cast<std::ptrdiff_t>(e));
  }
  return out;
}
void check_batch_size(const char* sampler, std::size_t batch_size) {
  if (batch_size == 0) throw Error(fmt::format("{}: batch_size must be positive", sampler));
}
}  // namespace

SequentialSampler::SequentialSampler(std::size_t n, std::size_t batch_size, bool drop_last)
    : n_(n), batch_size_(batch_size), drop_last_(drop_last) {
  check_batch_size("SequentialSampler", batch_size);
}

IndexBatches SequentialSampler::epoch(int64_t) const {
  std::vector<std::size_t> order(n_);
  std::iota(order.begin(), order.end(), std::size_t{0});
  return cut(order, batch_size_, drop_last_);
}

ShuffledSampler::ShuffledSampler(std::size_t n, std::size_t batch_size, uint64_t seed, bool drop_last)
    : n_(n), batch_size_(batch_size), seed_(seed), drop_last_(drop_last) {
  check_batch_size("ShuffledSampler", batch_size);
}

IndexBatches ShuffledSampler::epoch(int64_t epoch) const {
  std::vector<std::size_t> order(n_);
  std::iota(order.begin(), order.end(), std::size_t{0});
  Generator gen = epoch_generator(seed_, epoch);
  shuffle(order, gen);
  return cut(order, batch_size_, drop_last_);
}

IndexBatches bucket_by_length(const std::vector<int64_t>& lengths, const BatchingOptions& options, uint64_t seed,
                              int64_t epoch) {
  if (options.max_tokens <= 0 || options.max_batch <= 0)
    throw Error(fmt::format("bucket_by_length: max_tokens {} and max_batch {} must be positive", options.max_tokens,
                            options.max_batch));
  std::vector<std::size_t> order(lengths.size());
  std::iota(order.begin(), order.end(), 0);
  Generator gen = epoch_generator(seed, epoch);
  if (options.shuffle) shuffle(order, gen);
  // Sorted by length within windows of 100 batches; saturating, so that a huge max_batch means
  // "one window" rather than a product that wraps to 0 (an endless loop).
  const std::size_t window = static_cast<std::size_t>(std::min<int64_t>(options.max_batch, INT64_MAX / 100)) * 100;
  for (std::size_t s = 0; s < order.size(); s += std::min(window, order.size() - s)) {
    const auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + window));
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(s), end,
                     [&](std::size_t a, std::size_t b) { return lengths[a] < lengths[b]; });
  }
  IndexBatches batches;
  std::vector<std::size_t> current;
  int64_t longest = 0;
  for (std::size_t i : order) {
    const int64_t l = lengths[i];
    const int64_t grown = std::max(longest, l) * static_cast<int64_t>(current.size() + 1);
    if (!current.empty() && (grown > options.max_tokens || static_cast<int64_t>(current.size()) >= options.max_batch)) {
      batches.push_back(std::move(current));
      current.clear();
      longest = 0;
    }
    current.push_back(i);
    longest = std::max(longest, l);
  }
  if (!current.empty()) batches.push_back(std::move(current));
  if (options.shuffle) shuffle(batches, gen);
  return batches;
}

LengthBucketSampler::LengthBucketSampler(std::vector<int64_t> lengths, BatchingOptions options, uint64_t seed)
    : lengths_(std::move(lengths)), options_(options), seed_(seed) {
  bucket_by_length({}, options_, seed_, 0);  // checks the options now rather than on the loader's thread
}

IndexBatches LengthBucketSampler::epoch(int64_t epoch) const { return bucket_by_length(lengths_, options_, seed_, epoch); }

}  // namespace xg::data

#include <xgrad/data/translation_loader.hpp>

namespace xg::data {

namespace {
const std::vector<Example>& non_empty(const std::vector<Example>& examples) {
  if (examples.empty()) throw Error("DataLoader: no examples");
  return examples;
}
}  // namespace

DataLoader::DataLoader(const std::vector<Example>& examples, BatchingOptions options, uint64_t seed,
                       int64_t start_epoch, int64_t start_batch, std::size_t capacity)
    : dataset_(non_empty(examples)), sampler_(batching_lengths(examples), options, seed) {
  loader_ = std::make_unique<Loader<Example, Batch>>(
      dataset_, sampler_,
      [](std::vector<Example> items, const std::vector<std::size_t>& indices) { return collate_items(items, indices); },
      start_epoch, start_batch, capacity);
}

}  // namespace xg::data

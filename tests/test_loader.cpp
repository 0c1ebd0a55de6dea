// The general data pipeline: TensorDataset, batch samplers, collate functions and the Loader
// (background prefetch, epochs, resume, errors), and a small model trained through it.
#include <atomic>
#include <set>

#include "helpers.hpp"

using namespace xg;
using namespace xg::data;
using Catch::Matchers::Contains;

namespace {
// 10 rows: x (10, 2) with x[i] = (i, -i), y (10) int64 labels i % 3
TensorDataset ten_rows() {
  std::vector<double> x;
  std::vector<int64_t> y;
  for (int i = 0; i < 10; ++i) x.push_back(i), x.push_back(-i), y.push_back(i % 3);
  return TensorDataset({Tensor::from_vector(x, {10, 2}), Tensor::from_ints(y, {10})});
}
std::vector<std::size_t> flat(const IndexBatches& b) {
  std::vector<std::size_t> out;
  for (const auto& v : b) out.insert(out.end(), v.begin(), v.end());
  return out;
}
}  // namespace

TEST_CASE("TensorDataset: rows of every tensor, int64 too, mismatched rows named", "[loader]") {
  const TensorDataset ds = ten_rows();
  CHECK(ds.size() == 10);
  const auto item = ds.get(7);
  REQUIRE(item.size() == 2);
  CHECK(item[0].to_vector() == std::vector<double>{7, -7});
  CHECK(item[1].dtype() == DType::Int64);
  CHECK(item[1].to_ints() == std::vector<int64_t>{1});
  CHECK(item[1].dim() == 0);
  CHECK_THROWS_WITH(ds.get(10), Contains("item 10 of 10"));
  CHECK_THROWS_WITH(TensorDataset({zeros({4, 2}), zeros({5})}), Contains("tensor 1 has 5 rows ([5]), tensor 0 has 4 ([4, 2])"));
  CHECK_THROWS_WITH(TensorDataset({scalar(1.0)}), Contains("no first axis"));
  // a dataset is data: rows of a tensor that requires grad carry no graph
  Tensor w = xgtest::leaf(xgtest::seq({3, 2}));
  CHECK_FALSE(TensorDataset({w}).get(0)[0].requires_grad());
}

TEST_CASE("batch samplers: sequential, shuffled per epoch, by length", "[loader]") {
  const IndexBatches seq = SequentialSampler(7, 3).epoch(0);
  CHECK(seq == IndexBatches{{0, 1, 2}, {3, 4, 5}, {6}});
  CHECK(SequentialSampler(7, 3, true).epoch(5) == IndexBatches{{0, 1, 2}, {3, 4, 5}});
  CHECK_THROWS_WITH(SequentialSampler(7, 0), Contains("batch_size must be positive"));

  const ShuffledSampler shuffled(100, 8, 42);
  const auto e0 = shuffled.epoch(0), e1 = shuffled.epoch(1);
  CHECK(e0 == ShuffledSampler(100, 8, 42).epoch(0));  // a function of (seed, epoch)
  CHECK(flat(e0) != flat(e1));
  CHECK(flat(e0) != flat(ShuffledSampler(100, 8, 43).epoch(0)));
  for (const auto& epoch : {e0, e1}) {
    auto all = flat(epoch);
    CHECK(std::set<std::size_t>(all.begin(), all.end()).size() == 100);
    CHECK(epoch.size() == 13);
    CHECK(epoch.back().size() == 4);
  }
  CHECK(flat(e0) != flat(SequentialSampler(100, 8).epoch(0)));

  // by length: the translation batching is this sampler over max(S, T+1)
  std::vector<Example> examples;
  Generator gen(3);
  for (int i = 0; i < 300; ++i)
    examples.push_back({std::vector<int64_t>(1 + gen.below(40), 5), std::vector<int64_t>(1 + gen.below(40), 6)});
  BatchingOptions opt;
  opt.max_tokens = 200;
  const LengthBucketSampler by_length(batching_lengths(examples), opt, 11);
  CHECK(by_length.epoch(2) == make_batches(examples, opt, 11, 2));
  for (const auto& b : by_length.epoch(0)) {
    int64_t longest = 0;
    for (auto i : b) longest = std::max(longest, batching_lengths(examples)[i]);
    CHECK(longest * static_cast<int64_t>(b.size()) <= 200);
  }
  // an item longer than the budget gets a batch of its own rather than being dropped
  const auto lone = bucket_by_length({5, 500, 5}, opt, 1, 0);
  CHECK(flat(lone).size() == 3);
  for (const auto& b : lone)
    if (std::find(b.begin(), b.end(), std::size_t{1}) != b.end()) CHECK(b.size() == 1);
}

TEST_CASE("collate: stack_items stacks fields, pad_sequences pads ids", "[loader]") {
  const TensorDataset ds = ten_rows();
  const auto batch = stack_items({ds.get(2), ds.get(5)});
  REQUIRE(batch.size() == 2);
  CHECK(batch[0].shape() == Shape{2, 2});
  CHECK(batch[0].to_vector() == std::vector<double>{2, -2, 5, -5});
  CHECK(batch[1].dtype() == DType::Int64);
  CHECK(batch[1].to_ints() == std::vector<int64_t>{2, 2});
  CHECK_THROWS_WITH(stack_items({{zeros({2})}, {zeros({3})}}), Contains("field 0 of item 1 is float32 [3], of item 0 float32 [2]"));
  const PaddedSequences p = pad_sequences({{4, 5, 6}, {7}, {}}, 0);
  CHECK(p.ids.shape() == Shape{3, 3});
  CHECK(p.ids.to_ints() == std::vector<int64_t>{4, 5, 6, 7, 0, 0, 0, 0, 0});
  CHECK(p.lengths.to_ints() == std::vector<int64_t>{3, 1, 0});
}

TEST_CASE("Loader: every row once per epoch, epochs in a row, resume at (epoch, batch)", "[loader]") {
  const TensorDataset ds = ten_rows();
  const ShuffledSampler sampler(ds.size(), 4, 9);
  std::vector<std::vector<double>> uninterrupted;
  {
    TensorLoader loader(ds, sampler);
    for (int epoch = 0; epoch < 2; ++epoch) {
      std::multiset<double> seen;
      CHECK(loader.epoch() == epoch);
      while (loader.epoch() == epoch) {
        const auto b = loader.next();
        REQUIRE(b.size() == 2);
        CHECK(b[0].shape()[1] == 2);
        CHECK(b[0].shape()[0] == b[1].shape()[0]);
        const auto x = b[0].to_vector();
        const auto y = b[1].to_ints();
        for (std::size_t r = 0; r < y.size(); ++r) {
          seen.insert(x[2 * r]);
          CHECK(y[r] == static_cast<int64_t>(x[2 * r]) % 3);  // rows stay together
        }
        uninterrupted.push_back(x);
      }
      CHECK(seen == std::multiset<double>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
    }
  }
  REQUIRE(uninterrupted.size() == 6);  // 3 batches (4, 4, 2) per epoch
  // stop after 4 batches (epoch 1, batch 1), resume from there: the same batches follow
  TensorLoader resumed(ds, sampler, nullptr, 1, 1);
  for (std::size_t i = 4; i < 6; ++i) CHECK(resumed.next()[0].to_vector() == uninterrupted[i]);
  CHECK(resumed.epoch() == 2);
  CHECK_THROWS_WITH(TensorLoader(ds, sampler, nullptr, 0, 4), Contains("start batch 4 outside the 3 batches of epoch 0"));
}

TEST_CASE("Loader: errors reach next(), an abandoned loader neither hangs nor leaks", "[loader][reliability]") {
  const TensorDataset ds = ten_rows();
  const SequentialSampler sampler(ds.size(), 3);
  std::atomic<int> calls{0};
  TensorLoader failing(ds, sampler, [&](std::vector<std::vector<Tensor>> items, const std::vector<std::size_t>& idx) {
    if (++calls == 2) throw FormatError("collate failed on batch starting at item " + std::to_string(idx[0]));
    return stack_items(items);
  });
  CHECK(failing.next()[0].shape() == Shape{3, 2});
  CHECK_THROWS_WITH(failing.next(), Contains("collate failed on batch starting at item 3"));

  const SequentialSampler too_far(11, 4);  // asks for item 10 of 10
  CHECK_THROWS_WITH(TensorLoader(ds, too_far), Contains("item 10 of a dataset of 10"));
  const SequentialSampler nothing(0, 4);
  CHECK_THROWS_WITH(TensorLoader(ds, nothing), Contains("no batches for epoch 0"));
  VectorDataset<int> ints_ds(std::vector<int>{1, 2, 3});
  CHECK_THROWS_WITH((Loader<int>(ints_ds, sampler)), Contains("a collate function is needed"));

  for (int i = 0; i < 50; ++i) {
    TensorLoader loader(ds, sampler, nullptr, 0, 0, 1);
    if (i % 2) loader.next();
  }
}

TEST_CASE("a classifier trained through TensorLoader with int64 labels learns", "[loader]") {
  // two-class points: label 1 where x0 + x1 > 0
  Generator gen(5);
  std::vector<double> x;
  std::vector<int64_t> y;
  for (int i = 0; i < 256; ++i) {
    const double a = gen.uniform(-1, 1), b = gen.uniform(-1, 1);
    x.push_back(a), x.push_back(b), y.push_back(a + b > 0 ? 1 : 0);
  }
  const TensorDataset ds({Tensor::from_vector(x, {256, 2}), Tensor::from_ints(y, {256})});
  const ShuffledSampler sampler(ds.size(), 32, 1);
  TensorLoader loader(ds, sampler);
  nn::Linear model(2, 2);
  optim::SGD opt(optim::single_group(model.parameters(), 0.5));
  double first = 0, last = 0;
  for (int step = 0; step < 64; ++step) {
    const auto b = loader.next();
    const Tensor loss = cross_entropy(model.forward(b[0]), b[1]);
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item();
    last = loss.item();
  }
  INFO("first loss " << first << ", last " << last);
  CHECK(last < 0.5 * first);
  const auto all = stack_items({ds.get(0), ds.get(1), ds.get(2), ds.get(3)});
  const Tensor predicted = argmax(model.forward(all[0]), 1);
  CHECK(sum(eq(predicted, all[1])).item() >= 3);
}

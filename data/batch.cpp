#include "data/batch.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <numeric>

namespace xg::data {

std::vector<Example> encode_pairs(const std::vector<SentencePair>& pairs, const Vocabulary& src_vocab,
                                  const Vocabulary& tgt_vocab, const Tokenizer& tokenizer) {
  std::vector<Example> out;
  out.reserve(pairs.size());
  for (const auto& p : pairs)
    out.push_back({src_vocab.encode(tokenizer.tokenize(p.source)), tgt_vocab.encode(tokenizer.tokenize(p.target))});
  return out;
}

int64_t Batch::target_tokens() const {
  int64_t n = 0;
  for (auto l : tgt_lengths) n += l;
  return n;
}

static Tensor padding_mask(const std::vector<int64_t>& ids, int64_t rows, int64_t cols, DType dtype) {
  std::vector<double> m(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) m[i] = ids[i] == Vocabulary::kPad ? 1.0 : 0.0;
  return Tensor::from_vector(m, {rows, cols}, dtype);
}

Tensor Batch::src_padding_mask(DType dtype) const { return padding_mask(src, size, src_len, dtype); }
Tensor Batch::tgt_padding_mask(DType dtype) const { return padding_mask(tgt_out, size, tgt_len, dtype); }

Batch collate(const std::vector<Example>& examples, const std::vector<std::size_t>& indices) {
  Batch b;
  b.size = static_cast<int64_t>(indices.size());
  b.indices = indices;
  for (auto i : indices) {
    if (i >= examples.size()) throw IndexError(fmt::format("collate: example {} of {}", i, examples.size()));
    b.src_len = std::max<int64_t>(b.src_len, static_cast<int64_t>(examples[i].src.size()));
    b.tgt_len = std::max<int64_t>(b.tgt_len, static_cast<int64_t>(examples[i].tgt.size()) + 1);
  }
  b.src.assign(static_cast<std::size_t>(b.size * b.src_len), Vocabulary::kPad);
  b.tgt_in.assign(static_cast<std::size_t>(b.size * b.tgt_len), Vocabulary::kPad);
  b.tgt_out.assign(static_cast<std::size_t>(b.size * b.tgt_len), Vocabulary::kPad);
  for (int64_t r = 0; r < b.size; ++r) {
    const Example& e = examples[indices[static_cast<std::size_t>(r)]];
    std::copy(e.src.begin(), e.src.end(), b.src.begin() + r * b.src_len);
    b.tgt_in[static_cast<std::size_t>(r * b.tgt_len)] = Vocabulary::kBos;
    std::copy(e.tgt.begin(), e.tgt.end(), b.tgt_in.begin() + r * b.tgt_len + 1);
    std::copy(e.tgt.begin(), e.tgt.end(), b.tgt_out.begin() + r * b.tgt_len);
    b.tgt_out[static_cast<std::size_t>(r * b.tgt_len) + e.tgt.size()] = Vocabulary::kEos;
    b.src_lengths.push_back(static_cast<int64_t>(e.src.size()));
    b.tgt_lengths.push_back(static_cast<int64_t>(e.tgt.size()) + 1);
  }
  return b;
}

Batch slice_rows(const Batch& b, int64_t from, int64_t to) {
  if (from < 0 || to > b.size || from >= to)
    throw IndexError(fmt::format("slice_rows: rows [{}, {}) of a batch of {}", from, to, b.size));
  const auto rows = static_cast<std::size_t>(b.size);
  if (b.src.size() != rows * static_cast<std::size_t>(b.src_len) || b.src_lengths.size() != rows ||
      b.tgt_in.size() != rows * static_cast<std::size_t>(b.tgt_len) || b.tgt_out.size() != b.tgt_in.size() ||
      b.tgt_lengths.size() != rows)
    throw ShapeError(fmt::format("slice_rows: a batch of {} rows with {} source ids ({} long), {} source lengths, "
                                 "{} target ids ({} long) and {} target lengths",
                                 b.size, b.src.size(), b.src_len, b.src_lengths.size(), b.tgt_in.size(), b.tgt_len,
                                 b.tgt_lengths.size()));
  Batch p;
  p.size = to - from;
  for (int64_t r = from; r < to; ++r) {
    p.src_len = std::max(p.src_len, b.src_lengths[static_cast<std::size_t>(r)]);
    p.tgt_len = std::max(p.tgt_len, b.tgt_lengths[static_cast<std::size_t>(r)]);
  }
  if (p.src_len > b.src_len || p.tgt_len > b.tgt_len)
    throw ShapeError(fmt::format("slice_rows: rows [{}, {}) have a source of {} or a target of {} tokens, longer than "
                                 "the batch's {} and {}", from, to, p.src_len, p.tgt_len, b.src_len, b.tgt_len));
  for (int64_t r = from; r < to; ++r) {
    p.src.insert(p.src.end(), b.src.begin() + r * b.src_len, b.src.begin() + r * b.src_len + p.src_len);
    p.tgt_in.insert(p.tgt_in.end(), b.tgt_in.begin() + r * b.tgt_len, b.tgt_in.begin() + r * b.tgt_len + p.tgt_len);
    p.tgt_out.insert(p.tgt_out.end(), b.tgt_out.begin() + r * b.tgt_len, b.tgt_out.begin() + r * b.tgt_len + p.tgt_len);
    p.src_lengths.push_back(b.src_lengths[static_cast<std::size_t>(r)]);
    p.tgt_lengths.push_back(b.tgt_lengths[static_cast<std::size_t>(r)]);
    if (!b.indices.empty()) p.indices.push_back(b.indices.at(static_cast<std::size_t>(r)));
  }
  return p;
}

std::vector<std::vector<std::size_t>> make_batches(const std::vector<Example>& examples,
                                                   const BatchingOptions& options, uint64_t seed, int64_t epoch) {
  if (options.max_tokens <= 0 || options.max_batch <= 0)
    throw Error(fmt::format("make_batches: max_tokens {} and max_batch {} must be positive", options.max_tokens,
                            options.max_batch));
  std::vector<std::size_t> order(examples.size());
  std::iota(order.begin(), order.end(), 0);
  Generator gen(seed * 1000003ULL + static_cast<uint64_t>(epoch));
  auto shuffle = [&](auto& v) {  // Fisher-Yates with our generator: identical on every platform
    for (std::size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[gen.below(i)]);
  };
  if (options.shuffle) shuffle(order);
  auto len = [&](std::size_t i) {
    return std::max<int64_t>(static_cast<int64_t>(examples[i].src.size()), static_cast<int64_t>(examples[i].tgt.size()) + 1);
  };
  // Sentences are sorted by length within windows of 100 batches; saturating, so that a huge
  // max_batch means "one window" rather than a product that wraps to 0 (an endless loop).
  const std::size_t window = static_cast<std::size_t>(std::min<int64_t>(options.max_batch, INT64_MAX / 100)) * 100;
  for (std::size_t s = 0; s < order.size(); s += std::min(window, order.size() - s)) {
    const auto end = order.begin() + static_cast<std::ptrdiff_t>(std::min(order.size(), s + window));
    std::stable_sort(order.begin() + static_cast<std::ptrdiff_t>(s), end,
                     [&](std::size_t a, std::size_t b) { return len(a) < len(b); });
  }
  std::vector<std::vector<std::size_t>> batches;
  std::vector<std::size_t> current;
  int64_t longest = 0;
  for (std::size_t i : order) {
    const int64_t l = len(i);
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
  if (options.shuffle) shuffle(batches);
  return batches;
}

}  // namespace xg::data

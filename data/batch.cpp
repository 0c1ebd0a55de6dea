#include <xgrad/data/batch.hpp>

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
  std::vector<Example> items;
  items.reserve(indices.size());
  for (auto i : indices) {
    if (i >= examples.size()) throw IndexError(fmt::format("collate: example {} of {}", i, examples.size()));
    items.push_back(examples[i]);
  }
  return collate_items(items, indices);
}

Batch collate_items(const std::vector<Example>& items, const std::vector<std::size_t>& indices) {
  if (items.size() != indices.size())
    throw ShapeError(fmt::format("collate_items: {} examples with {} indices", items.size(), indices.size()));
  Batch b;
  b.size = static_cast<int64_t>(items.size());
  b.indices = indices;
  for (const Example& e : items) {
    b.src_len = std::max<int64_t>(b.src_len, static_cast<int64_t>(e.src.size()));
    b.tgt_len = std::max<int64_t>(b.tgt_len, static_cast<int64_t>(e.tgt.size()) + 1);
  }
  b.src.assign(static_cast<std::size_t>(b.size * b.src_len), Vocabulary::kPad);
  b.tgt_in.assign(static_cast<std::size_t>(b.size * b.tgt_len), Vocabulary::kPad);
  b.tgt_out.assign(static_cast<std::size_t>(b.size * b.tgt_len), Vocabulary::kPad);
  const bool aligned = std::any_of(items.begin(), items.end(), [](const Example& e) { return !e.alignment.empty(); });
  if (aligned) b.alignment.assign(static_cast<std::size_t>(b.size * b.tgt_len), -1);
  for (int64_t r = 0; r < b.size; ++r) {
    const Example& e = items[static_cast<std::size_t>(r)];
    if (!e.alignment.empty()) {
      if (e.alignment.size() != e.tgt.size())
        throw ShapeError(fmt::format("collate: example {} has {} target tokens and an alignment of {}",
                                     indices[static_cast<std::size_t>(r)], e.tgt.size(), e.alignment.size()));
      for (std::size_t t = 0; t < e.alignment.size(); ++t) {
        if (e.alignment[t] < 0 || e.alignment[t] >= static_cast<int64_t>(e.src.size()))
          throw IndexError(fmt::format("collate: example {} aligns target token {} to source position {} of {}",
                                       indices[static_cast<std::size_t>(r)], t, e.alignment[t], e.src.size()));
        b.alignment[static_cast<std::size_t>(r * b.tgt_len) + t] = e.alignment[t];
      }
    }
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
      b.tgt_lengths.size() != rows || (!b.alignment.empty() && b.alignment.size() != b.tgt_in.size()))
    throw ShapeError(fmt::format("slice_rows: a batch of {} rows with {} source ids ({} long), {} source lengths, "
                                 "{} target ids ({} long), {} target lengths and {} alignment entries",
                                 b.size, b.src.size(), b.src_len, b.src_lengths.size(), b.tgt_in.size(), b.tgt_len,
                                 b.tgt_lengths.size(), b.alignment.size()));
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
    if (!b.alignment.empty())
      p.alignment.insert(p.alignment.end(), b.alignment.begin() + r * b.tgt_len, b.alignment.begin() + r * b.tgt_len + p.tgt_len);
  }
  return p;
}

std::vector<int64_t> batching_lengths(const std::vector<Example>& examples) {
  std::vector<int64_t> lengths;
  lengths.reserve(examples.size());
  for (const Example& e : examples)
    lengths.push_back(std::max<int64_t>(static_cast<int64_t>(e.src.size()), static_cast<int64_t>(e.tgt.size()) + 1));
  return lengths;
}

std::vector<std::vector<std::size_t>> make_batches(const std::vector<Example>& examples,
                                                   const BatchingOptions& options, uint64_t seed, int64_t epoch) {
  return bucket_by_length(batching_lengths(examples), options, seed, epoch);
}

}  // namespace xg::data

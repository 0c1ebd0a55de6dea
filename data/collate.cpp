#include <xgrad/data/collate.hpp>

#include <algorithm>
#include <fmt/format.h>

#include <xgrad/core/shape_ops.hpp>

namespace xg::data {

std::vector<Tensor> stack_items(const std::vector<std::vector<Tensor>>& items) {
  if (items.empty()) throw Error("stack_items: no items");
  const std::size_t fields = items[0].size();
  std::vector<Tensor> out;
  for (std::size_t f = 0; f < fields; ++f) {
    std::vector<Tensor> column;
    column.reserve(items.size());
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (items[i].size() != fields)
        throw ShapeError(fmt::format("stack_items: item {} has {} fields, item 0 has {}", i, items[i].size(), fields));
      const Tensor& t = items[i][f];
      const Tensor& first = items[0][f];
      if (t.shape() != first.shape() || t.dtype() != first.dtype())
        throw ShapeError(fmt::format("stack_items: field {} of item {} is {} {}, of item 0 {} {}", f, i,
                                     dtype_name(t.dtype()), shape_str(t.shape()), dtype_name(first.dtype()),
                                     shape_str(first.shape())));
      column.push_back(t);
    }
    out.push_back(stack(column, 0));
  }
  return out;
}

PaddedSequences pad_sequences(const std::vector<std::vector<int64_t>>& sequences, int64_t pad) {
  const auto rows = static_cast<int64_t>(sequences.size());
  int64_t longest = 0;
  for (const auto& s : sequences) longest = std::max<int64_t>(longest, static_cast<int64_t>(s.size()));
  std::vector<int64_t> ids(static_cast<std::size_t>(rows * longest), pad), lengths;
  for (int64_t r = 0; r < rows; ++r) {
    const auto& s = sequences[static_cast<std::size_t>(r)];
    std::copy(s.begin(), s.end(), ids.begin() + r * longest);
    lengths.push_back(static_cast<int64_t>(s.size()));
  }
  return {Tensor::from_ints(ids, {rows, longest}), Tensor::from_ints(lengths, {rows})};
}

}  // namespace xg::data

#include <xgrad/data/dataset.hpp>

#include <fmt/format.h>

#include <xgrad/core/shape_ops.hpp>

namespace xg::data {

TensorDataset::TensorDataset(std::vector<Tensor> tensors) {
  if (tensors.empty()) throw Error("TensorDataset: no tensors");
  for (std::size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    if (!t.defined() || t.dim() < 1)
      throw ShapeError(fmt::format("TensorDataset: tensor {} has no first axis to index (shape {})", i,
                                   t.defined() ? shape_str(t.shape()) : "undefined"));
    if (t.shape()[0] != tensors[0].shape()[0])
      throw ShapeError(fmt::format("TensorDataset: tensor {} has {} rows ({}), tensor 0 has {} ({})", i,
                                   t.shape()[0], shape_str(t.shape()), tensors[0].shape()[0],
                                   shape_str(tensors[0].shape())));
    tensors_.push_back(t.detach());
  }
  rows_ = static_cast<std::size_t>(tensors_[0].shape()[0]);
}

std::vector<Tensor> TensorDataset::get(std::size_t index) const {
  if (index >= rows_) throw IndexError(fmt::format("TensorDataset: item {} of {}", index, rows_));
  std::vector<Tensor> row;
  row.reserve(tensors_.size());
  for (const Tensor& t : tensors_) row.push_back(select(t, 0, static_cast<int64_t>(index)));
  return row;
}

}  // namespace xg::data

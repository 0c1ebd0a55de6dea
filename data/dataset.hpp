#pragma once
/// \file
/// Datasets: a size and random access to items. The loader (data/loader.hpp) reads items on its
/// background thread, so get() must be safe to call from another thread (read-only access is).
#include <cstddef>
#include <vector>

#include <xgrad/core/tensor.hpp>

namespace xg::data {

template <class Item>
/// A dataset of `Item`s (torch.utils.data.Dataset with random access).
class Dataset {
 public:
  using item_type = Item;  ///< the type get() returns
  virtual ~Dataset() = default;
  virtual std::size_t size() const = 0;  ///< number of items
  virtual Item get(std::size_t index) const = 0;  ///< item `index` (0 <= index < size())
};

/// Tensors that share their first axis (N, ...): item i is the i-th row of each, in order, as in
/// torch.utils.data.TensorDataset. Rows of int64 and bool tensors (ids, labels, masks) too.
class TensorDataset : public Dataset<std::vector<Tensor>> {
 public:
  /// The tensors are detached (a dataset is data, not part of a graph); all need the same N.
  explicit TensorDataset(std::vector<Tensor> tensors);
  std::size_t size() const override { return rows_; }  ///< N
  std::vector<Tensor> get(std::size_t index) const override;  ///< {t[index] for t in tensors}
  const std::vector<Tensor>& tensors() const { return tensors_; }  ///< the detached tensors

 private:
  std::vector<Tensor> tensors_;
  std::size_t rows_ = 0;
};

/// A dataset over a vector the caller keeps alive (items are copied out by get()).
template <class Item>
class VectorDataset : public Dataset<Item> {
 public:
  explicit VectorDataset(const std::vector<Item>& items) : items_(items) {}  ///< refers to `items` (not copied)
  std::size_t size() const override { return items_.size(); }  ///< items.size()
  Item get(std::size_t index) const override { return items_.at(index); }  ///< a copy of items[index]

 private:
  const std::vector<Item>& items_;
};

}  // namespace xg::data

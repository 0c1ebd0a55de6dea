#pragma once
// Indexing ops. Indices are plain int64 vectors (xgrad tensors hold floating point only); masks
// are tensors whose non-zero elements mean "true".
#include "core/tensor.hpp"

namespace xg {

// Rows (or slices along `axis`) picked by `indices`, in that order; repeats allowed.
Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& indices);
// torch.gather: out[..., j, ...] = x[..., index[..., j, ...], ...] along `axis`; `index_shape`
// has x's rank and matches x on every other axis.
Tensor gather(const Tensor& x, int64_t axis, const std::vector<int64_t>& index,
              const Shape& index_shape);
// Lookup of `ids` (of shape `ids_shape`) in `weight` (V, D): result ids_shape + [D]. The row
// `padding_idx` (if >= 0) receives no gradient. The backward adds only the rows that were used.
Tensor embedding(const Tensor& weight, const std::vector<int64_t>& ids, const Shape& ids_shape,
                 int64_t padding_idx = -1);
// x where mask is 0, value where it is not; mask broadcasts to x's shape.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
// a where cond is non-zero, b elsewhere; all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

}  // namespace xg

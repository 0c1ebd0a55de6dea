#pragma once
/// \file
/// Indexing ops. Indices are int64 tensors (or plain int64 vectors with a separate shape); masks
/// are bool tensors, or tensors of any dtype whose non-zero elements mean "true". x may be of any
/// dtype (an int64 targets tensor through masked_fill, say); gradients flow to floating-point x.
#include <xgrad/core/tensor.hpp>

namespace xg {

/// Rows (or slices along `axis`) picked by `indices`, in that order; repeats allowed.
///@{
Tensor index_select(const Tensor& x, int64_t axis, const Tensor& indices);  ///< indices: int64 (N)
Tensor index_select(const Tensor& x, int64_t axis, const std::vector<int64_t>& indices);
///@}
/// torch.gather: out[..., j, ...] = x[..., index[..., j, ...], ...] along `axis`; `index_shape`
/// has x's rank and matches x on every other axis.
///@{
Tensor gather(const Tensor& x, int64_t axis, const Tensor& index);  ///< index: int64
Tensor gather(const Tensor& x, int64_t axis, const std::vector<int64_t>& index,
              const Shape& index_shape);
///@}
/// Lookup of `ids` (of shape `ids_shape`) in `weight` (V, D): result ids_shape + [D]. The row
/// `padding_idx` (if >= 0) receives no gradient. The backward adds only the rows that were used.
///@{
Tensor embedding(const Tensor& weight, const Tensor& ids, int64_t padding_idx = -1);  ///< ids: int64
Tensor embedding(const Tensor& weight, const std::vector<int64_t>& ids, const Shape& ids_shape,
                 int64_t padding_idx = -1);
///@}
/// x where mask is 0, value where it is not; mask broadcasts to x's shape. For an int64 x the
/// value must be an integer (targets.masked_fill(eq(targets, pad), -100) in torch's terms).
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
/// a where cond is non-zero, b elsewhere; all three broadcast together.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);

}  // namespace xg

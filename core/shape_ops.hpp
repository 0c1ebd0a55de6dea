#pragma once
/// \file
/// Shape ops. reshape shares storage; the others copy (xgrad has no strided views: every tensor
/// is contiguous, which keeps every kernel a plain loop).
#include <xgrad/core/tensor.hpp>

namespace xg {

Tensor reshape(const Tensor& x, const Shape& shape);  ///< one dimension may be -1
Tensor flatten(const Tensor& x, int64_t start_axis = 0, int64_t end_axis = -1);  ///< axes start..end merged into one
Tensor unsqueeze(const Tensor& x, int64_t axis);  ///< a new axis of size 1 at `axis`
Tensor squeeze(const Tensor& x, int64_t axis);  ///< the axis must have size 1
Tensor permute(const Tensor& x, const std::vector<int64_t>& order);  ///< axes reordered: result axis d is x's axis order[d]
Tensor transpose(const Tensor& x, int64_t axis0, int64_t axis1);  ///< two axes swapped
/// Elements [start, start+length) along `axis`.
Tensor narrow(const Tensor& x, int64_t axis, int64_t start, int64_t length);
/// Python-style slice [start, end) along `axis`; negative bounds count from the end.
Tensor slice(const Tensor& x, int64_t axis, int64_t start, int64_t end);
/// Index `index` along `axis`, removing the axis.
Tensor select(const Tensor& x, int64_t axis, int64_t index);
Tensor concat(const std::vector<Tensor>& xs, int64_t axis);  ///< joined along an existing axis
Tensor stack(const std::vector<Tensor>& xs, int64_t axis);  ///< joined along a new axis
/// Pieces of the given sizes along `axis` (sizes must add up to the axis length).
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes, int64_t axis);

}  // namespace xg

#pragma once
/// \file
/// Reductions over all elements or along axes (negative axes count from the end).
#include <xgrad/core/tensor.hpp>

namespace xg {

/// Sums of int64 or bool tensors are int64 (counting), as in PyTorch; mean takes floating point only.
/// Sum or mean of all elements (a 0-d result), or over `axes` (kept as size 1 with keepdim).
///@{
Tensor sum(const Tensor& x);  ///< 0-d result
Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim = false);
///@}
/// Maximum; the gradient goes to the first maximal element (as PyTorch's max along an axis).
///@{
Tensor max(const Tensor& x);
Tensor max(const Tensor& x, int64_t axis, bool keepdim = false);
///@}
/// Index of the first maximum along `axis`: an int64 tensor (no gradient) of x's shape without
/// that axis (with it as size 1 if keepdim). `.to_ints()` gives the indices as a vector.
Tensor argmax(const Tensor& x, int64_t axis, bool keepdim = false);

}  // namespace xg

#pragma once
// Reductions over all elements or along axes (negative axes count from the end).
#include "core/tensor.hpp"

namespace xg {

Tensor sum(const Tensor& x);  // 0-d result
Tensor sum(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim = false);
Tensor mean(const Tensor& x);
Tensor mean(const Tensor& x, const std::vector<int64_t>& axes, bool keepdim = false);
// Maximum; the gradient goes to the first maximal element (as PyTorch's max along an axis).
Tensor max(const Tensor& x);
Tensor max(const Tensor& x, int64_t axis, bool keepdim = false);
// Index of the first maximum along `axis` (no gradient), shape without that axis.
std::vector<int64_t> argmax(const Tensor& x, int64_t axis);

}  // namespace xg

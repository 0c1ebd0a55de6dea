#pragma once
/// \file
/// Element-wise comparisons and logic on masks. Results are bool tensors (no gradient). The
/// tensor-tensor forms broadcast and need operands of one dtype; the scalar forms compare each
/// element, as a double, with `value`. Typical use: eq(targets, pad_id) is the padding mask.
#include <xgrad/core/tensor.hpp>

namespace xg {

/// a == b, a != b, a < b, a <= b, a > b, a >= b element by element, broadcasting: a bool tensor. a
/// and b need one dtype.
///@{
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
///@}

/// Each element of a (read as a double) compared with `value`: a bool tensor of a's shape.
///@{
Tensor eq(const Tensor& a, double value);
Tensor ne(const Tensor& a, double value);
Tensor lt(const Tensor& a, double value);
Tensor le(const Tensor& a, double value);
Tensor gt(const Tensor& a, double value);
Tensor ge(const Tensor& a, double value);
///@}

/// Logic on masks of any dtype (non-zero is true); results are bool.
Tensor logical_not(const Tensor& x);
/// a and b, a or b (non-zero is true), broadcasting: a bool tensor; a and b may differ in dtype.
///@{
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
///@}

}  // namespace xg

#pragma once
// Element-wise comparisons and logic on masks. Results are bool tensors (no gradient). The
// tensor-tensor forms broadcast and need operands of one dtype; the scalar forms compare each
// element, as a double, with `value`. Typical use: eq(targets, pad_id) is the padding mask.
#include <xgrad/core/tensor.hpp>

namespace xg {

Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);

Tensor eq(const Tensor& a, double value);
Tensor ne(const Tensor& a, double value);
Tensor lt(const Tensor& a, double value);
Tensor le(const Tensor& a, double value);
Tensor gt(const Tensor& a, double value);
Tensor ge(const Tensor& a, double value);

// Logic on masks of any dtype (non-zero is true); results are bool.
Tensor logical_not(const Tensor& x);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);

}  // namespace xg

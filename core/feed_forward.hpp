#pragma once
#include "core/linear.hpp"
#include "core/tensor.hpp"

namespace xg {

// A transformer's position-wise feed-forward block as one op:
//   y = (relu(x W1ᵀ + b1) ⊙ m) W2ᵀ + b2,   x (..., D), W1 (F, D), W2 (D_out, F),
// with m dropout's multipliers of shape (..., F) (dropout_multipliers; undefined: no dropout).
// The same function as composing linear, relu, mul and linear. Where both layers are packed
// (float32, AVX-512) the ReLU is applied as the first product stores each element, and the
// backward applies ReLU's and dropout's mask as the product g · W2 stores the hidden gradient:
// no passes of their own over the (rows, F) hidden values. Otherwise it composes those ops.
Tensor feed_forward(const Tensor& x, const PackedLinear& first, const PackedLinear& second,
                    const Tensor& multipliers = Tensor());

}  // namespace xg

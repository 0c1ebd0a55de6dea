#pragma once
#include <xgrad/core/tensor.hpp>

namespace xg {

/// A transformer's position-wise feed-forward block as one op:
///   y = (relu(x W1ᵀ + b1) ⊙ m) W2ᵀ + b2,   x (..., D), W1 (F, D), W2 (D_out, F),
/// with m dropout's multipliers of shape (..., F) (dropout_multipliers; undefined: no dropout).
/// The same function as composing linear, relu, mul and linear, without a pass of its own over
/// the (..., F) hidden values for the ReLU or the dropout mask, forward or backward.
Tensor feed_forward(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2, const Tensor& b2,
                    const Tensor& multipliers = Tensor());

}  // namespace xg

#pragma once
#include <xgrad/core/tensor.hpp>

namespace xg {

/// y = x · weightᵀ + bias, with x (..., in), weight (out, in) as PyTorch stores it, bias (out)
/// or undefined. One GEMM with a transposed operand, so no transposed copy of the weight is made.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

}  // namespace xg

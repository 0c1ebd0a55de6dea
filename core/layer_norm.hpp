#pragma once
#include <xgrad/core/tensor.hpp>

namespace xg {

/// Layer normalisation over the last axis: (x - mean) / sqrt(var + eps) * weight + bias, with the
/// biased variance (as PyTorch). weight and bias, of shape (C), may be undefined Tensors.
/// Fused: the forward saves mean and 1/std per row for the backward.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps = 1e-5);

}  // namespace xg

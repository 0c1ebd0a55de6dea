#pragma once
/// \file
/// Rotary position embeddings (Su et al. 2021, RoFormer): the query and key of position m are
/// rotated in d/2 planes by the angles m·θ_i, θ_i = base^(-2i/d), so q_m·k_n depends on the
/// positions only through m - n. Pairs are (x_i, x_{i+d/2}), the "rotate half" layout of GPT-NeoX
/// and LLaMA. No parameters; positions are absolute indices, so a decoder step passes its offset.
#include <xgrad/core/tensor.hpp>

namespace xg::nn {

/// x (..., T, d) with even d; row t is position offset + t.
///   out[..., i]       = x_i cos(pθ_i) - x_{i+d/2} sin(pθ_i)
///   out[..., i + d/2] = x_{i+d/2} cos(pθ_i) + x_i sin(pθ_i)
Tensor apply_rotary(const Tensor& x, int64_t offset = 0, double base = 10000.0);

}  // namespace xg::nn

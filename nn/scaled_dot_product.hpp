#pragma once
/// \file
/// Scaled dot-product attention (Vaswani et al. 2017, 3.2.1) and the causal mask.
/// Masks are tensors whose non-zero entries mean "masked" (excluded), as PyTorch's bool masks.
#include <xgrad/core/tensor.hpp>

namespace xg::nn {

/// An attention layer's result.
struct AttentionOutput {
  Tensor context;  ///< (B, Dv) for one query step; (B, [H,] Tq, Dv) for sequence attention
  Tensor weights;  ///< (B, S) or (B, [H,] Tq, Tk); rows sum to 1 over unmasked keys
};

/// softmax(Q Kᵀ / sqrt(d_k)) V over the last two axes: q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv).
/// attn_mask broadcasts to (..., Tq, Tk) (e.g. a causal (Tq, Tk) mask); key_padding_mask is
/// (B, Tk) and applies to q of shape (B, Tq, d) or (B, H, Tq, d). A fully masked row gives zero
/// weights and a zero context (see xg::softmax). With dropout > 0 the context uses dropped-out
/// weights (as PyTorch); the returned weights are the undropped ones. attn_bias, when given, is
/// added to the scaled scores before the softmax and broadcasts to (..., Tq, Tk), e.g. a per-head
/// (H, Tq, Tk) position bias (nn/position_bias.hpp); it is differentiable (PyTorch's float attn_mask).
AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& attn_mask = Tensor(),
                                             const Tensor& key_padding_mask = Tensor(), double dropout = 0.0,
                                             const Tensor& attn_bias = Tensor());

/// (T, T) mask with 1 above the diagonal: position t may attend to positions <= t.
Tensor causal_mask(int64_t t, DType dtype = DType::Float32);

}  // namespace xg::nn

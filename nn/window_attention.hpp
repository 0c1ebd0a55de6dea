#pragma once
/// \file
/// Sliding-window (band) attention with optional global tokens, as Longformer (Beltagy et al.
/// 2020): each query attends to the keys within `window` positions of itself, plus the first
/// `global_tokens` positions; those global positions attend to every position. For a fixed window
/// the cost and memory are linear in the length: only the visible (query, key) pairs are scored.
#include <xgrad/core/tensor.hpp>

namespace xg::nn {

/// Self-attention over one sequence: q, k (B, H, T, d), v (B, H, T, dv) -> (B, H, T, dv).
/// Query i sees key j when |i - j| <= window (causal: 0 <= i - j <= window), or j < global_tokens,
/// or (not causal) i < global_tokens. key_padding_mask (B, T), non-zero = masked. A query with no
/// visible key gets a zero output.
Tensor sliding_window_attention(const Tensor& q, const Tensor& k, const Tensor& v, int64_t window,
                                int64_t global_tokens = 0, bool causal = false,
                                const Tensor& key_padding_mask = Tensor());

/// The same pattern as a dense (T, T) mask (non-zero = masked), for scaled_dot_product_attention and tests.
Tensor sliding_window_mask(int64_t t, int64_t window, int64_t global_tokens = 0, bool causal = false,
                           DType dtype = DType::Float32);

}  // namespace xg::nn

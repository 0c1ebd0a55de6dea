#pragma once
// Internal: scaled dot-product attention as one op (behind nn::scaled_dot_product_attention and
// MultiHeadAttention): scores, masks, softmax, dropout and the weighted sum
// of values in a single forward, and a hand-written backward. It replaces seven composed ops
// (transpose copy, matmul, scale, two masked_fills, softmax, matmul), whose intermediate
// (..., Tq, Tk) tensors were each written, read and kept for the backward; the heads are
// independent, so both passes run them in parallel (OpenMP) when each head's products are too
// small to split across threads, and one after another, each product split across threads,
// when they are not. Tested against the composed ops (tests/test_nn_layers.cpp).
#include <xgrad/core/tensor.hpp>

namespace xg::nn::detail {

struct FusedAttentionResult {
  Tensor context;  // (..., Tq, dv), in the graph
  Tensor weights;  // (..., Tq, Tk) softmax weights before dropout, in the graph too
};

// q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv) with equal leading axes, whose first is B.
// attn_mask: undefined or (Tq, Tk), nonzero = hidden. key_padding: undefined or (B, Tk),
// nonzero = padding. A fully hidden row gives zero weights and a zero context. keep: undefined
// or (..., Tq, Tk) dropout multipliers (0 or 1/(1-p)) applied to the weights. bias: undefined or
// (M, Tq, Tk), M the product of the leading axes after B (the heads), added to the scaled scores
// before the softmax (position biases: ALiBi, T5's relative buckets); it has a gradient.
FusedAttentionResult fused_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& attn_mask,
                                     const Tensor& key_padding, const Tensor& keep, const Tensor& bias = Tensor());

// The same with the heads side by side in the last axis, as the q/k/v projections produce them:
// q (B, Tq, heads·d), k (B, Tk, heads·d), v (B, Tk, heads·dv); head h of a position is columns
// [h·d, (h+1)·d). The context comes back as (B, Tq, heads·dv), ready for the output projection,
// the weights as (B, heads, Tq, Tk); the masks, keep and bias (heads, Tq, Tk) as above. Multi-head attention reads its
// projections in place instead of permuting them into (B, heads, T, d) and the context back (eight
// copies per attention layer in a training step, forward and backward).
FusedAttentionResult fused_attention_heads_last(const Tensor& q, const Tensor& k, const Tensor& v, int64_t heads,
                                                const Tensor& attn_mask, const Tensor& key_padding,
                                                const Tensor& keep, const Tensor& bias = Tensor());

// One query per head against the first `length` positions of key/value buffers with room to
// grow: an incremental decoder's self-attention cache (KeyValues), read in place instead of
// copied out each step. q (B, H, 1, d); k_buffer (B, H_kv, C, d) and v_buffer (B, H_kv, C, dv)
// with length <= C and H a multiple of H_kv (grouped heads share key/value heads); key_padding
// undefined or (B, length), nonzero = padding; bias undefined or (H, 1, length), added to the
// scaled scores. The query sees all `length` keys (it is the last position). Outside autograd
// only: it records no backward, and throws if an input needs one.
FusedAttentionResult cached_query_attention(const Tensor& q, const Tensor& k_buffer, const Tensor& v_buffer,
                                            int64_t length, const Tensor& key_padding, const Tensor& bias = Tensor());

}  // namespace xg::nn::detail

#pragma once
/// \file
/// Exact attention that never holds the (Tq, Tk) score matrix: keys are visited in tiles with an
/// online softmax (a running maximum and sum per query row, Milakov & Gimelshein 2018; the tiling
/// of FlashAttention, Dao et al. 2022). The forward keeps only the output and one log-sum-exp per
/// row; the backward recomputes each tile's scores from them. Memory is O(T·d) instead of O(T²).
#include <xgrad/core/tensor.hpp>

namespace xg::nn {

/// Key length from which MultiHeadAttention computes attention this way by itself (when it needs no
/// weights and no attention dropout). Measured on one core for one sequence, d_model 128, 4 heads
/// (make bench-scaling, results/attention_scaling.json): at 1024 keys scaled_dot_product_attention takes 37 ms
/// and grows memory by 26 MiB, this one 134 ms and 8 MiB; at 8192 keys 3.2 s and 1.3 GB against
/// 8.7 s and 50 MiB. The switch trades time for memory: per sequence, and a batch multiplies it.
constexpr int64_t kMemoryEfficientFromLength = 1024;

/// softmax(q kᵀ / sqrt(d)) v for q (B, H, Tq, d), k (B, H, Tk, d), v (B, H, Tk, dv) -> (B, H, Tq, dv).
/// key_padding_mask (B, Tk), non-zero = masked. causal: query i sees keys j <= i + (Tk - Tq), so a
/// suffix of queries (incremental decoding) lines up with the end of the keys. A query with no
/// visible key gets a zero output, as xg::softmax gives a fully masked row zero weights.
Tensor memory_efficient_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& key_padding_mask = Tensor(), bool causal = false);

}  // namespace xg::nn

#pragma once
// Exact attention that never holds the (Tq, Tk) score matrix: keys are visited in tiles with an
// online softmax (a running maximum and sum per query row, Milakov & Gimelshein 2018; the tiling
// of FlashAttention, Dao et al. 2022). The forward keeps only the output and one log-sum-exp per
// row; the backward recomputes each tile's scores from them. Memory is O(T·d) instead of O(T²).
#include "core/tensor.hpp"

namespace xg::nn {

// Key length from which MultiHeadAttention switches to this kernel by itself (when it needs no
// weights and no attention dropout). Measured on one core for one sequence, d_model 128, 4 heads
// (bench/attention_scaling.cpp): at 1024 keys the plain kernel is 2.3x faster (56 vs 128 ms) but
// grows memory by 104 MiB against 9, which is 6.6 GiB for a batch of 64; from 4096 keys this
// kernel is also the faster one (1.97 vs 2.44 s), the plain one's score matrices no longer fit.
constexpr int64_t kMemoryEfficientFromLength = 1024;

// softmax(q kᵀ / sqrt(d)) v for q (B, H, Tq, d), k (B, H, Tk, d), v (B, H, Tk, dv) -> (B, H, Tq, dv).
// key_padding_mask (B, Tk), non-zero = masked. causal: query i sees keys j <= i + (Tk - Tq), so a
// suffix of queries (incremental decoding) lines up with the end of the keys. A query with no
// visible key gets a zero output, as xg::softmax gives a fully masked row zero weights.
Tensor memory_efficient_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                  const Tensor& key_padding_mask = Tensor(), bool causal = false);

}  // namespace xg::nn

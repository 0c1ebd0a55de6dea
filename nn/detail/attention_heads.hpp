#pragma once
// Internal: one attention head's forward and backward in float32 registers (AVX-512), for the
// small heads of the translation models (30 keys of 32 dimensions: each of the six products of a
// head is ~57 KFLOP, and OpenBLAS's small-matrix kernels reached ~30 GFLOP/s on them in a training
// step, call overhead and score passes included). Scores, softmax and the weighted sum of a query
// row stay in registers; nn/fused_attention.cpp falls back to its BLAS path where these do not fit.
//
// A head's (T, width) matrix is given by its first element and row stride (in floats), so the
// projections' (B, T, heads·width) outputs are read and written in place.
#include <cstdint>

namespace xg::nn::detail::attention_heads {

struct HeadSizes {
  int64_t Tq, Tk, d, dv;  // queries, keys, query/key width, value width
  float scale;            // multiplies the scores (1/√d)
};

// Keys rounded up to whole 16-float vectors: the width of a head's transposed keys and score rows.
inline int64_t padded_keys(int64_t Tk) { return (Tk + 15) / 16 * 16; }

// Whether this CPU runs the kernels (AVX-512 F/CD/DQ/BW) and the head fits them: 1-128 keys,
// widths of 1-64.
bool fits(const HeadSizes& n);
// Floats of scratch one head needs (per thread; reused head after head).
int64_t scratch_floats(const HeadSizes& n);

// Bytes a hidden-key array must be readable past its end: rows are read 16 flags at a time.
constexpr int64_t kHiddenPadding = 16;

// p (Tq, Tk) = softmax(scale · q kᵀ + bias) with hidden keys at 0 and a row with every key hidden
// all 0 (hidden: (Tq, Tk) of 0/1 followed by kHiddenPadding readable bytes, or null; bias: (Tq, Tk)
// added to the scaled scores, or null); out (Tq, dv) = (p ⊙ keep) v (keep: (Tq, Tk) dropout
// multipliers, or null).
void forward(const HeadSizes& n, const float* q, int64_t ldq, const float* k, int64_t ldk, const float* v,
             int64_t ldv, const char* hidden, const float* bias, const float* keep, float* p, float* out, int64_t ldo,
             float* scratch);

// From g = dL/d out (Tq, dv) and forward()'s p: dq (Tq, d), dk (Tk, d), dv (Tk, dv), overwritten;
// and, when dbias is not null, the gradient of the scores before scaling, (Tq, Tk): the bias's.
void backward(const HeadSizes& n, const float* p, const float* keep, const float* g, int64_t ldg, const float* q,
              int64_t ldq, const float* k, int64_t ldk, const float* v, int64_t ldv, float* dq, float* dk, float* dv,
              float* dbias, float* scratch);

}  // namespace xg::nn::detail::attention_heads

// Compiled with -mavx512f -mavx512cd -mavx512dq -mavx512bw -mfma (CMakeLists.txt); called only
// when attention_heads::fits() says the CPU has them.
// GCC 12's avx512fintrin.h trips -Wuninitialized/-Wmaybe-uninitialized inside xsimd's exp (see
// core/detail/vecmath_avx512.cpp); GCC only, clang knows no -Wmaybe-uninitialized.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <limits>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include <xgrad/nn/detail/attention_heads.hpp>

namespace xg::nn::detail::attention_heads {

namespace {
constexpr int64_t kLanes = 16;
using Batch = xsimd::batch<float, xsimd::avx512bw>;

__mmask16 lanes(int64_t count) {  // the low `count` of 16 lanes, count clamped to [0, 16]
  return count >= kLanes ? __mmask16(0xFFFF) : count <= 0 ? __mmask16(0) : __mmask16((1u << count) - 1u);
}

// Transposes 16 rows of 16 floats in registers: r[c] becomes column c (Intel's unpack/shuffle
// pattern: pairs of rows interleaved, then 4x4 blocks within each 128-bit lane, then lanes).
inline void transpose16(__m512 (&r)[16]) {
  __m512 t[16];
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {  // r[4i + k], lane L: column 4L + k of rows 4i..4i+3
    r[4 * i] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 1] = _mm512_shuffle_ps(t[4 * i], t[4 * i + 2], _MM_SHUFFLE(3, 2, 3, 2));
    r[4 * i + 2] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(1, 0, 1, 0));
    r[4 * i + 3] = _mm512_shuffle_ps(t[4 * i + 1], t[4 * i + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    t[k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0x88);  // lanes 0, 2 of each
    t[4 + k] = _mm512_shuffle_f32x4(r[k], r[4 + k], 0xdd);  // lanes 1, 3
    t[8 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0x88);
    t[12 + k] = _mm512_shuffle_f32x4(r[8 + k], r[12 + k], 0xdd);
  }
#pragma GCC unroll 4
  for (int k = 0; k < 4; ++k) {
    r[k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0x88);
    r[4 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0x88);
    r[8 + k] = _mm512_shuffle_f32x4(t[k], t[8 + k], 0xdd);
    r[12 + k] = _mm512_shuffle_f32x4(t[4 + k], t[12 + k], 0xdd);
  }
}

// src (rows, cols) with row stride ld -> dst (cols, padded_keys(rows)), zero past `rows`: a
// head's keys (or values) with the key index along the vector lanes, 16x16 blocks at a time.
void transpose_into(const float* src, int64_t ld, int64_t rows, int64_t cols, float* dst) {
  const int64_t w = padded_keys(rows);
  for (int64_t r0 = 0; r0 < rows; r0 += kLanes)
    for (int64_t c0 = 0; c0 < cols; c0 += kLanes) {
      const __mmask16 in_row = lanes(cols - c0);
      __m512 block[16];
#pragma GCC unroll 16
      for (int i = 0; i < 16; ++i)
        block[i] = r0 + i < rows ? _mm512_maskz_loadu_ps(in_row, src + (r0 + i) * ld + c0) : _mm512_setzero_ps();
      transpose16(block);
      const int64_t n = std::min<int64_t>(kLanes, cols - c0);
      for (int64_t c = 0; c < n; ++c) _mm512_storeu_ps(dst + (c0 + c) * w + r0, block[c]);
    }
}

// s (NJ vectors over the keys) = Σ_c x[c] · t[c, :], t (depth, 16·NJ): one query row against
// every key (scores), or one output-gradient row against every value (dP).
template <int NJ>
inline void row_times_transposed(const float* x, int64_t depth, const float* t, __m512 (&s)[NJ]) {
#pragma GCC unroll 8
  for (int v = 0; v < NJ; ++v) s[v] = _mm512_setzero_ps();
  for (int64_t c = 0; c < depth; ++c) {
    const __m512 xc = _mm512_set1_ps(x[c]);
    const float* row = t + c * NJ * kLanes;
#pragma GCC unroll 8
    for (int v = 0; v < NJ; ++v) s[v] = _mm512_fmadd_ps(xc, _mm512_loadu_ps(row + v * kLanes), s[v]);
  }
}

// Rows of p (Tq, Tk) = softmax(scale · q kᵀ + bias), hidden keys 0, and with dropout multipliers
// pd (Tq, 16·NJ) = p ⊙ keep. kt: the keys transposed, (d, 16·NJ).
template <int NJ>
void softmax_rows(const HeadSizes& n, const float* q, int64_t ldq, const float* kt, const char* hidden,
                  const float* bias, const float* keep, float* p, float* pd) {
  const int64_t w = NJ * kLanes;
  const float ninf = -std::numeric_limits<float>::infinity();
  for (int64_t i = 0; i < n.Tq; ++i) {
    __m512 s[NJ];
    row_times_transposed<NJ>(q + i * ldq, n.d, kt, s);
    __mmask16 valid[NJ];
#pragma GCC unroll 8
    for (int v = 0; v < NJ; ++v) valid[v] = lanes(n.Tk - v * kLanes);
    if (hidden) {  // readable 16 bytes past the row (attention_heads.hpp)
      const char* h = hidden + i * n.Tk;
#pragma GCC unroll 8
      for (int v = 0; v < NJ; ++v) {
        const __m128i flags = _mm_loadu_si128(reinterpret_cast<const __m128i*>(h + v * kLanes));
        valid[v] = __mmask16(valid[v] & _mm_movemask_epi8(_mm_cmpeq_epi8(flags, _mm_setzero_si128())));
      }
    }
    __m512 top = _mm512_set1_ps(ninf);
#pragma GCC unroll 8
    for (int v = 0; v < NJ; ++v) {
      s[v] = _mm512_mul_ps(s[v], _mm512_set1_ps(n.scale));
      if (bias) s[v] = _mm512_add_ps(s[v], _mm512_maskz_loadu_ps(lanes(n.Tk - v * kLanes), bias + i * n.Tk + v * kLanes));
      top = _mm512_mask_max_ps(top, valid[v], top, s[v]);
    }
    const float m = _mm512_reduce_max_ps(top);
    float* p_row = p + i * n.Tk;
    if (m == ninf) {  // every key hidden: zero weights, as the composed masked softmax gives
      std::fill(p_row, p_row + n.Tk, 0.0f);
      if (keep) std::fill(pd + i * w, pd + (i + 1) * w, 0.0f);
      continue;
    }
    __m512 total = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int v = 0; v < NJ; ++v) {
      const __m512 e = xsimd::exp(Batch(_mm512_sub_ps(s[v], _mm512_set1_ps(m))));
      s[v] = _mm512_maskz_mov_ps(valid[v], e);
      total = _mm512_add_ps(total, s[v]);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(total));
#pragma GCC unroll 8
    for (int v = 0; v < NJ; ++v) {
      s[v] = _mm512_mul_ps(s[v], inv);
      const __mmask16 in_row = lanes(n.Tk - v * kLanes);
      _mm512_mask_storeu_ps(p_row + v * kLanes, in_row, s[v]);
      if (keep)
        _mm512_storeu_ps(pd + i * w + v * kLanes,
                         _mm512_mul_ps(s[v], _mm512_maskz_loadu_ps(in_row, keep + i * n.Tk + v * kLanes)));
    }
  }
}

// Rows of dS (Tq, 16·NJ) = p ⊙ (dP − rowsum(p ⊙ dP)) · scale with dP = (g vᵀ) ⊙ keep, and with
// dropout multipliers pd (Tq, 16·NJ) = p ⊙ keep. vt: the values transposed, (dv, 16·NJ).
// dbias (Tq, Tk), when not null: dS before the scale.
template <int NJ>
void score_gradient_rows(const HeadSizes& n, const float* p, const float* keep, const float* g, int64_t ldg,
                         const float* vt, float* ds, float* pd, float* dbias) {
  const int64_t w = NJ * kLanes;
  for (int64_t i = 0; i < n.Tq; ++i) {
    __m512 dp[NJ], pv[NJ];
    row_times_transposed<NJ>(g + i * ldg, n.dv, vt, dp);
    __m512 dot = _mm512_setzero_ps();
#pragma GCC unroll 8
    for (int v = 0; v < NJ; ++v) {
      const __mmask16 in_row = lanes(n.Tk - v * kLanes);
      pv[v] = _mm512_maskz_loadu_ps(in_row, p + i * n.Tk + v * kLanes);  // 0 past Tk
      if (keep) {
        const __m512 kp = _mm512_maskz_loadu_ps(in_row, keep + i * n.Tk + v * kLanes);
        dp[v] = _mm512_mul_ps(dp[v], kp);
        _mm512_storeu_ps(pd + i * w + v * kLanes, _mm512_mul_ps(pv[v], kp));
      }
      dot = _mm512_fmadd_ps(pv[v], dp[v], dot);
    }
    const __m512 rowsum = _mm512_set1_ps(_mm512_reduce_add_ps(dot)), scale = _mm512_set1_ps(n.scale);
#pragma GCC unroll 8
    for (int v = 0; v < NJ; ++v) {
      const __m512 unscaled = _mm512_mul_ps(pv[v], _mm512_sub_ps(dp[v], rowsum));
      if (dbias) _mm512_mask_storeu_ps(dbias + i * n.Tk + v * kLanes, lanes(n.Tk - v * kLanes), unscaled);
      _mm512_storeu_ps(ds + i * w + v * kLanes, _mm512_mul_ps(unscaled, scale));
    }
  }
}

// R output rows of `width` (NC vectors) at a time: out[a] = Σ_t coef[a·sa + t·st] · rows[t·ldr].
// With sa = ld, st = 1 that is coef · rows (p v, dS k); with sa = 1, st = ld it is coefᵀ · rows
// (dSᵀ q, pᵀ g).
template <int R, int NC>
inline void weighted_block(int64_t terms, const float* coef, int64_t sa, int64_t st, const float* rows, int64_t ldr,
                           float* out, int64_t ldo, const __mmask16 (&m)[NC]) {
  __m512 acc[R][NC];
#pragma GCC unroll 8
  for (int a = 0; a < R; ++a)
#pragma GCC unroll 8
    for (int u = 0; u < NC; ++u) acc[a][u] = _mm512_setzero_ps();
  for (int64_t t = 0; t < terms; ++t) {
    __m512 row[NC];
#pragma GCC unroll 8
    for (int u = 0; u < NC; ++u) row[u] = _mm512_maskz_loadu_ps(m[u], rows + t * ldr + u * kLanes);
#pragma GCC unroll 8
    for (int a = 0; a < R; ++a) {
      const __m512 x = _mm512_set1_ps(coef[a * sa + t * st]);
#pragma GCC unroll 8
      for (int u = 0; u < NC; ++u) acc[a][u] = _mm512_fmadd_ps(x, row[u], acc[a][u]);
    }
  }
#pragma GCC unroll 8
  for (int a = 0; a < R; ++a)
#pragma GCC unroll 8
    for (int u = 0; u < NC; ++u) _mm512_mask_storeu_ps(out + a * ldo + u * kLanes, m[u], acc[a][u]);
}

template <int NC>
void weighted(int64_t outputs, int64_t terms, const float* coef, int64_t sa, int64_t st, const float* rows,
              int64_t ldr, float* out, int64_t ldo, int64_t width) {
  __mmask16 m[NC];
#pragma GCC unroll 8
  for (int u = 0; u < NC; ++u) m[u] = lanes(width - u * kLanes);
  int64_t a = 0;
  for (; a + 4 <= outputs; a += 4) weighted_block<4, NC>(terms, coef + a * sa, sa, st, rows, ldr, out + a * ldo, ldo, m);
  for (; a < outputs; ++a) weighted_block<1, NC>(terms, coef + a * sa, sa, st, rows, ldr, out + a * ldo, ldo, m);
}

void weighted_sum(int64_t outputs, int64_t terms, const float* coef, int64_t sa, int64_t st, const float* rows,
                  int64_t ldr, float* out, int64_t ldo, int64_t width) {
  switch ((width + kLanes - 1) / kLanes) {
    case 1: return weighted<1>(outputs, terms, coef, sa, st, rows, ldr, out, ldo, width);
    case 2: return weighted<2>(outputs, terms, coef, sa, st, rows, ldr, out, ldo, width);
    case 3: return weighted<3>(outputs, terms, coef, sa, st, rows, ldr, out, ldo, width);
    default: return weighted<4>(outputs, terms, coef, sa, st, rows, ldr, out, ldo, width);
  }
}

// Calls f(std::integral_constant<int, NJ>) for the key vectors 16·NJ ≥ Tk needs (fits(): NJ ≤ 8).
template <class F>
void with_key_vectors(int64_t Tk, F&& f) {
  switch (padded_keys(Tk) / kLanes) {
    case 1: return f(std::integral_constant<int, 1>());
    case 2: return f(std::integral_constant<int, 2>());
    case 3: return f(std::integral_constant<int, 3>());
    case 4: return f(std::integral_constant<int, 4>());
    case 5: return f(std::integral_constant<int, 5>());
    case 6: return f(std::integral_constant<int, 6>());
    case 7: return f(std::integral_constant<int, 7>());
    default: return f(std::integral_constant<int, 8>());
  }
}
}  // namespace

void forward(const HeadSizes& n, const float* q, int64_t ldq, const float* k, int64_t ldk, const float* v,
             int64_t ldv, const char* hidden, const float* bias, const float* keep, float* p, float* out, int64_t ldo,
             float* scratch) {
  const int64_t w = padded_keys(n.Tk);
  float* kt = scratch;                          // (d, w)
  float* pd = scratch + std::max(n.d, n.dv) * w;  // (Tq, w)
  transpose_into(k, ldk, n.Tk, n.d, kt);
  with_key_vectors(n.Tk, [&](auto nj) { softmax_rows<decltype(nj)::value>(n, q, ldq, kt, hidden, bias, keep, p, pd); });
  // out = (p ⊙ keep) v
  if (keep)
    weighted_sum(n.Tq, n.Tk, pd, w, 1, v, ldv, out, ldo, n.dv);
  else
    weighted_sum(n.Tq, n.Tk, p, n.Tk, 1, v, ldv, out, ldo, n.dv);
}

void backward(const HeadSizes& n, const float* p, const float* keep, const float* g, int64_t ldg, const float* q,
              int64_t ldq, const float* k, int64_t ldk, const float* v, int64_t ldv, float* dq, float* dk, float* dv,
              float* dbias, float* scratch) {
  const int64_t w = padded_keys(n.Tk);
  float* vt = scratch;                                    // (dv, w)
  float* ds = scratch + std::max(n.d, n.dv) * w;          // (Tq, w)
  float* pd = ds + n.Tq * w;                              // (Tq, w)
  transpose_into(v, ldv, n.Tk, n.dv, vt);
  with_key_vectors(n.Tk, [&](auto nj) { score_gradient_rows<decltype(nj)::value>(n, p, keep, g, ldg, vt, ds, pd, dbias); });
  weighted_sum(n.Tq, n.Tk, ds, w, 1, k, ldk, dq, ldq, n.d);  // dq = dS k
  weighted_sum(n.Tk, n.Tq, ds, 1, w, q, ldq, dk, ldk, n.d);  // dk = dSᵀ q
  if (keep)                                                  // dv = (p ⊙ keep)ᵀ g
    weighted_sum(n.Tk, n.Tq, pd, 1, w, g, ldg, dv, ldv, n.dv);
  else
    weighted_sum(n.Tk, n.Tq, p, 1, n.Tk, g, ldg, dv, ldv, n.dv);
}

}  // namespace xg::nn::detail::attention_heads
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

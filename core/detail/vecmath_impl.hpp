#pragma once
// Internal: the kernels behind vecmath.hpp, instantiated once per instruction set.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <xsimd/xsimd.hpp>

#include <xgrad/core/detail/vecmath_isa.hpp>

namespace xg::vecmath::impl {

// a·b + c rounded once. xsimd 8.1 has no AVX-512 fma and writes it as a·b + c, which GCC fuses
// or not depending on the code around it (dot and dot_and_axpy summed the same products
// differently); the AVX-512 build calls the instruction itself.
template <class T, class Arch>
inline xsimd::batch<T, Arch> madd(const xsimd::batch<T, Arch>& a, const xsimd::batch<T, Arch>& b,
                                  const xsimd::batch<T, Arch>& c) {
#ifdef __AVX512F__
  if constexpr (std::is_same_v<Arch, xsimd::avx512bw>) {
    if constexpr (std::is_same_v<T, float>) return _mm512_fmadd_ps(a, b, c);
    else return _mm512_fmadd_pd(a, b, c);
  }
#endif
  return xsimd::fma(a, b, c);
}

// Runs body(offset, count) over [0, n): whole batches, then once for the last n % width entries.
// Bodies read and write through load_part and store_part, which use zero-padded copies for that
// last batch, so every entry goes through the same SIMD code wherever it sits in the array.
template <class T, class Arch, class Body>
void over_batches(int64_t n, Body&& body) {
  constexpr int64_t w = static_cast<int64_t>(xsimd::batch<T, Arch>::size);
  int64_t i = 0;
  for (; i + w <= n; i += w) body(i, w);
  if (i < n) body(i, n - i);
}

// A batch of `count` entries from p (zeros past count), and its store back. AVX-512 masks the
// lanes past count (a copy through the stack took as long as the exp of a 30-wide attention row).
template <class T, class Arch>
xsimd::batch<T, Arch> load_part(const T* p, int64_t count) {
  using B = xsimd::batch<T, Arch>;
  if (count == static_cast<int64_t>(B::size)) return B::load_unaligned(p);
#ifdef __AVX512F__
  if constexpr (std::is_same_v<Arch, xsimd::avx512bw>) {
    if constexpr (std::is_same_v<T, float>) return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << count) - 1u), p);
    else return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << count) - 1u), p);
  }
#endif
  alignas(64) T tmp[B::size] = {};
  std::copy(p, p + count, tmp);
  return B::load_aligned(tmp);
}
template <class T, class Arch>
void store_part(xsimd::batch<T, Arch> b, T* p, int64_t count) {
  using B = xsimd::batch<T, Arch>;
  if (count == static_cast<int64_t>(B::size)) return b.store_unaligned(p);
#ifdef __AVX512F__
  if constexpr (std::is_same_v<Arch, xsimd::avx512bw>) {
    if constexpr (std::is_same_v<T, float>) return _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << count) - 1u), b);
    else return _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << count) - 1u), b);
  }
#endif
  alignas(64) T tmp[B::size];
  b.store_aligned(tmp);
  std::copy(tmp, tmp + count, p);
}

// y = op(x) batch by batch (x and y may be the same array).
template <class T, class Arch, class Op>
inline void apply(const T* x, T* y, int64_t n, Op op) {
  over_batches<T, Arch>(n, [&](int64_t i, int64_t c) {
    store_part<T, Arch>(op(load_part<T, Arch>(x + i, c)), y + i, c);
  });
}

// tanh of a float32 batch: Eigen's published 13/6-degree rational approximant (odd numerator,
// even denominator in x), with x clamped where it would pass ±1. One division, against xsimd's
// exp, division and a second polynomial evaluated for every lane. Measured with AVX-512 on 24,576
// floats: 0.40x xsimd's time; largest error over [-12, 12] 4.6 ulp (xsimd's 1.3), |tanh| < 1.
// The clamps below (x86 min/max return their second operand when either is NaN) would turn a
// NaN into a finite value, and a model with NaN weights would translate "normally" and train on
// with a finite loss: NaN lanes are put back at the end.
template <class B>
B keep_nan(B input, B result) {
  return xsimd::select(xsimd::isnan(input), input, result);
}

template <class Arch>
xsimd::batch<float, Arch> tanh_batch(xsimd::batch<float, Arch> input) {
  using B = xsimd::batch<float, Arch>;
  const B bound(7.90531110763549805f);
  const B x = xsimd::min(xsimd::max(input, -bound), bound);
  const B x2 = x * x;
  B p = madd(x2, B(-2.76076847742355e-16f), B(2.00018790482477e-13f));
  p = madd(x2, p, B(-8.60467152213735e-11f));
  p = madd(x2, p, B(5.12229709037114e-08f));
  p = madd(x2, p, B(1.48572235717979e-05f));
  p = madd(x2, p, B(6.37261928875436e-04f));
  p = madd(x2, p, B(4.89352455891786e-03f));
  B q = madd(x2, B(1.19825839466702e-06f), B(1.18534705686654e-04f));
  q = madd(x2, q, B(2.26843463243900e-03f));
  q = madd(x2, q, B(4.89352518554385e-03f));
  return keep_nan(input, x * p / q);
}
// float64 keeps xsimd's kernel: gradient checks run in float64 and want its accuracy.
template <class Arch>
xsimd::batch<double, Arch> tanh_batch(xsimd::batch<double, Arch> x) {
  return xsimd::tanh(x);
}

template <class T, class Arch>
xsimd::batch<T, Arch> sigmoid_batch(xsimd::batch<T, Arch> x) {
  using B = xsimd::batch<T, Arch>;
  return keep_nan(x, B(T(1)) / (B(T(1)) + xsimd::exp(xsimd::min(-x, B(T(80))))));
}

template <class T, class Arch>
void tanh(const T* x, T* y, int64_t n) {
  apply<T, Arch>(x, y, n, [](auto b) { return tanh_batch(b); });
}
template <class T, class Arch>
void exp(const T* x, T* y, int64_t n) {
  apply<T, Arch>(x, y, n, [](auto b) { return xsimd::exp(b); });
}
// 1 / (1 + e^-x), with e^-x clamped so it never overflows to inf (sigmoid(-100) = 3.7e-44 anyway).
template <class T, class Arch>
void sigmoid(const T* x, T* y, int64_t n) {
  apply<T, Arch>(x, y, n, [](auto b) { return sigmoid_batch<T, Arch>(b); });
}

// Σ a·b with one partial sum per SIMD lane: a single running sum waits 4 cycles per element.
// The last n % width entries go through the same fused multiply-adds from a zero-padded batch
// (a scalar tail's a·b + total is contracted into an FMA or not at the compiler's choice, which
// differed between dot and dot_and_axpy).
template <class T, class Arch>
T dot(const T* a, const T* b, int64_t n) {
  using B = xsimd::batch<T, Arch>;
  B acc(T(0));
  over_batches<T, Arch>(n, [&](int64_t i, int64_t c) {
    acc = madd(load_part<T, Arch>(a + i, c), load_part<T, Arch>(b + i, c), acc);
  });
  return xsimd::hadd(acc);
}

// y += a·x over n entries.
template <class T, class Arch>
void axpy(T a, const T* x, T* y, int64_t n) {
  using B = xsimd::batch<T, Arch>;
  over_batches<T, Arch>(n, [&](int64_t i, int64_t c) {
    store_part<T, Arch>(madd(B(a), load_part<T, Arch>(x + i, c), load_part<T, Arch>(y + i, c)), y + i, c);
  });
}

// out[j] += Σ_r g[r·cols + j] (a bias gradient: the column sums of a (rows, cols) gradient), each
// column summed in row order, as a loop over rows would (additions only: the same value on every
// instruction set).
// Four batches of columns at a time stay in registers over all rows (a row-by-row loop waited on
// out[j]'s store and load for every row: 1.6% of a transformer training step).
template <class T, class Arch>
void add_column_sums(const T* g, int64_t rows, int64_t cols, T* out) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t w = static_cast<int64_t>(B::size);
  int64_t j = 0;
  for (; j + 4 * w <= cols; j += 4 * w) {
    B s0 = B::load_unaligned(out + j), s1 = B::load_unaligned(out + j + w);
    B s2 = B::load_unaligned(out + j + 2 * w), s3 = B::load_unaligned(out + j + 3 * w);
    for (int64_t r = 0; r < rows; ++r) {
      const T* gr = g + r * cols + j;
      s0 += B::load_unaligned(gr), s1 += B::load_unaligned(gr + w);
      s2 += B::load_unaligned(gr + 2 * w), s3 += B::load_unaligned(gr + 3 * w);
    }
    s0.store_unaligned(out + j), s1.store_unaligned(out + j + w);
    s2.store_unaligned(out + j + 2 * w), s3.store_unaligned(out + j + 3 * w);
  }
  over_batches<T, Arch>(cols - j, [&](int64_t i, int64_t c) {
    B s = load_part<T, Arch>(out + j + i, c);
    for (int64_t r = 0; r < rows; ++r) s += load_part<T, Arch>(g + r * cols + j + i, c);
    store_part<T, Arch>(s, out + j + i, c);
  });
}

// Σ over j < n of a row term: whole blocks of 16 in 16 lanes of T (lane k sums the terms at
// j ≡ k mod 16, in order), the lanes then added pairwise in double, then the last n % 16 terms
// in double. vector(j) gives the batch of terms at j, scalar(j) one term.
template <class T, class Arch, class Vector, class Scalar>
__attribute__((always_inline)) inline double sum16(int64_t n, Vector vector, Scalar scalar) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t w = static_cast<int64_t>(B::size), parts = 16 / w;
  static_assert(16 % w == 0, "a batch holds at most 16 lanes");
  B acc[parts];
  for (auto& a : acc) a = B(T(0));
  int64_t j = 0;
  for (; j + 16 <= n; j += 16)
    for (int64_t p = 0; p < parts; ++p) acc[p] += vector(j + p * w);
  alignas(64) T lanes[16];
  for (int64_t p = 0; p < parts; ++p) acc[p].store_aligned(lanes + p * w);
  // The lanes added pairwise (a chain of 16 dependent additions was most of a 128-wide row's time).
  double d[16];
  for (int k = 0; k < 16; ++k) d[k] = static_cast<double>(lanes[k]);
  for (int step = 1; step < 16; step *= 2)
    for (int k = 0; k < 16; k += 2 * step) d[k] += d[k + step];
  double total = d[0];
  for (; j < n; ++j) total += static_cast<double>(scalar(j));
  return total;
}

// layer_norm over `rows` rows of c: y = w·(x − mean)·rstd + b, mean and 1/sqrt(var + eps) saved
// per row (computed as sum16 sums). w and b hold c entries (ones and zeros when absent).
template <class T, class Arch>
void layer_norm_rows(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t c, double eps, double* mean,
                     double* rstd) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t width = static_cast<int64_t>(B::size);
  const double inv_c = 1.0 / static_cast<double>(c);  // divisions were a tenth of a 128-wide row's time
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * c;
    T* yr = y + r * c;
    const double m = sum16<T, Arch>(c, [&](int64_t j) { return B::load_unaligned(xr + j); },
                                    [&](int64_t j) { return xr[j]; }) * inv_c;
    const T mt = static_cast<T>(m);
    const double v = sum16<T, Arch>(
                         c,
                         [&](int64_t j) {
                           const B d = B::load_unaligned(xr + j) - B(mt);
                           return d * d;
                         },
                         [&](int64_t j) { return (xr[j] - mt) * (xr[j] - mt); }) *
                     inv_c;
    const double rs = 1.0 / std::sqrt(v + eps);
    mean[r] = m, rstd[r] = rs;
    const T rst = static_cast<T>(rs);
    int64_t j = 0;
    for (; j + width <= c; j += width)
      (B::load_unaligned(w + j) * ((B::load_unaligned(xr + j) - B(mt)) * B(rst)) + B::load_unaligned(b + j))
          .store_unaligned(yr + j);
    for (; j < c; ++j) yr[j] = w[j] * ((xr[j] - mt) * rst) + b[j];
  }
}

// Its input gradient for `rows` rows: dx = rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)), x̂ = (x − mean)·rstd,
// written into dx or added onto it (accumulate).
template <class T, class Arch>
void layer_norm_backward_rows(const T* x, const T* g, const T* w, const double* mean, const double* rstd, T* dx,
                              int64_t rows, int64_t c, bool accumulate) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t width = static_cast<int64_t>(B::size);
  const double inv_c = 1.0 / static_cast<double>(c);
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * c;
    const T* gr = g + r * c;
    T* dr = dx + r * c;
    const T mt = static_cast<T>(mean[r]), rst = static_cast<T>(rstd[r]);
    const auto xhat = [&](int64_t j) { return (B::load_unaligned(xr + j) - B(mt)) * B(rst); };
    const auto dxhat = [&](int64_t j) { return B::load_unaligned(gr + j) * B::load_unaligned(w + j); };
    const double s1 = sum16<T, Arch>(c, dxhat, [&](int64_t j) { return gr[j] * w[j]; });
    const double s2 = sum16<T, Arch>(c, [&](int64_t j) { return dxhat(j) * xhat(j); },
                                     [&](int64_t j) { return gr[j] * w[j] * ((xr[j] - mt) * rst); });
    const T a = static_cast<T>(s1 * inv_c), bm = static_cast<T>(s2 * inv_c);
    int64_t j = 0;
    for (; j + width <= c; j += width) {
      B d = B(rst) * (dxhat(j) - B(a) - xhat(j) * B(bm));
      if (accumulate) d = B::load_unaligned(dr + j) + d;
      d.store_unaligned(dr + j);
    }
    for (; j < c; ++j) {
      const T d = rst * (gr[j] * w[j] - a - ((xr[j] - mt) * rst) * bm);
      dr[j] = accumulate ? dr[j] + d : d;
    }
  }
}

// Its parameter gradients over columns [j0, j1): gw[j] += Σ_r g·x̂, gb[j] += Σ_r g, each in row
// order (either may be null).
template <class T, class Arch>
void layer_norm_param_grads(const T* x, const T* g, const double* mean, const double* rstd, int64_t rows, int64_t c,
                            int64_t j0, int64_t j1, T* gw, T* gb) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t width = static_cast<int64_t>(B::size);
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * c;
    const T* gr = g + r * c;
    const T mt = static_cast<T>(mean[r]), rst = static_cast<T>(rstd[r]);
    int64_t j = j0;
    for (; j + width <= j1; j += width) {
      const B gv = B::load_unaligned(gr + j);
      if (gw) (B::load_unaligned(gw + j) + gv * ((B::load_unaligned(xr + j) - B(mt)) * B(rst))).store_unaligned(gw + j);
      if (gb) (B::load_unaligned(gb + j) + gv).store_unaligned(gb + j);
    }
    for (; j < j1; ++j) {
      if (gw) gw[j] += gr[j] * ((xr[j] - mt) * rst);
      if (gb) gb[j] += gr[j];
    }
  }
}

// One source position of an attention-weighted sum's backward in one pass over the row: returns
// Σ g·v (the weight's gradient; summed as dot sums) and adds w·g into dv (the value's gradient).
template <class T, class Arch>
T dot_and_axpy(const T* g, const T* v, T w, T* dv, int64_t n) {
  using B = xsimd::batch<T, Arch>;
  B acc(T(0));
  over_batches<T, Arch>(n, [&](int64_t i, int64_t c) {
    const B gi = load_part<T, Arch>(g + i, c);
    acc = madd(gi, load_part<T, Arch>(v + i, c), acc);
    store_part<T, Arch>(madd(B(w), gi, load_part<T, Arch>(dv + i, c)), dv + i, c);
  });
  return xsimd::hadd(acc);
}

}  // namespace xg::vecmath::impl

namespace xg::vecmath::impl {

// Every kernel of one instruction set (Arch) for one element type.
template <class T, class Arch>
Kernels<T> table_of(const char* name) {
  Kernels<T> k{};
  k.name = name;
  k.tanh = tanh<T, Arch>;
  k.exp = exp<T, Arch>;
  k.sigmoid = sigmoid<T, Arch>;
  k.dot = dot<T, Arch>;
  k.axpy = axpy<T, Arch>;
  k.dot_and_axpy = dot_and_axpy<T, Arch>;
  k.add_column_sums = add_column_sums<T, Arch>;
  k.layer_norm_rows = layer_norm_rows<T, Arch>;
  k.layer_norm_backward_rows = layer_norm_backward_rows<T, Arch>;
  k.layer_norm_param_grads = layer_norm_param_grads<T, Arch>;
  return k;
}

}  // namespace xg::vecmath::impl

// The tables of one instruction set, in its translation unit.
#define XG_VECMATH_INSTANTIATE(NS, ARCH)                                                 \
  namespace xg::vecmath::NS {                                                          \
  const Kernels<float>& table(float) {                                                 \
    static const Kernels<float> k = impl::table_of<float, ARCH>(#NS);                  \
    return k;                                                                          \
  }                                                                                    \
  const Kernels<double>& table(double) {                                               \
    static const Kernels<double> k = impl::table_of<double, ARCH>(#NS);                \
    return k;                                                                          \
  }                                                                                    \
  }

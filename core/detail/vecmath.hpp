#pragma once
// Internal: vectorised kernels over arrays: transcendental functions, dot products and
// layer_norm's rows (the GRU cell's and additive attention's rows, built from the same pieces,
// are in nn/detail/layer_kernels.hpp). std::tanh and std::exp stay scalar; these
// use xsimd's polynomial kernels, compiled three times (SSE2, AVX2+FMA, AVX-512) and chosen at run
// time from the CPU, so the library still runs on any x86-64. Beside them stands a plain scalar
// reference set (vecmath_reference.cpp), the oracle of the tests and selectable at run time.
// Measured on a 491,520-float array: std::tanh 5.9 ms, SSE2 1.5 ms, AVX2 0.31 ms; on 24,576
// floats AVX-512 took 0.70x the AVX2 time for tanh, 0.72x for sigmoid.
//
// Adding a kernel: a field here, its SIMD template in vecmath_impl.hpp (and its line in
// table_of there), its plain loop in vecmath_reference.cpp.
#include <cstdint>

namespace xg::vecmath {

template <class T>
struct Kernels {
  const char* name;  // "reference", "sse2", "avx2", "avx512"
  void (*tanh)(const T* x, T* y, int64_t n);
  void (*exp)(const T* x, T* y, int64_t n);
  void (*sigmoid)(const T* x, T* y, int64_t n);
  // Σ a·b over n entries (the order of the additions differs from a plain loop's).
  T (*dot)(const T* a, const T* b, int64_t n);
  // y += a·x over n entries.
  void (*axpy)(T a, const T* x, T* y, int64_t n);
  // Σ g·v returned (summed like dot) and dv += w·g, in one pass: one source position of an
  // attention-weighted sum's backward.
  T (*dot_and_axpy)(const T* g, const T* v, T w, T* dv, int64_t n);
  // out[j] += Σ_r g[r·cols + j] for g (rows, cols) row-major: each column summed in row order.
  void (*add_column_sums)(const T* g, int64_t rows, int64_t cols, T* out);
  // layer_norm's row kernels (core/layer_norm.cpp): the forward over `rows` rows of c, saving each
  // row's mean and 1/sqrt(var + eps); the input gradient written or added (accumulate) into dx;
  // the weight and bias gradients over columns [j0, j1), summed in row order (gw or gb may be
  // null). The SIMD sets sum rows in 16 lanes of T, added in double; the reference in double.
  void (*layer_norm_rows)(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t c, double eps,
                          double* mean, double* rstd);
  void (*layer_norm_backward_rows)(const T* x, const T* g, const T* w, const double* mean, const double* rstd,
                                   T* dx, int64_t rows, int64_t c, bool accumulate);
  void (*layer_norm_param_grads)(const T* x, const T* g, const double* mean, const double* rstd, int64_t rows,
                                 int64_t c, int64_t j0, int64_t j1, T* gw, T* gb);
};

enum class Isa { Reference, Sse2, Avx2, Avx512 };
bool cpu_runs(Isa isa);
// The widest SIMD set this CPU runs: AVX-512 (F, CD, DQ, BW), AVX2 with FMA, or SSE2; or the one
// XGRAD_KERNELS names (reference, sse2, avx2, avx512), read once; a set this CPU cannot run or an
// unknown name is an error.
Isa active_isa();
const char* to_string(Isa isa);

// One set's kernels (the CPU must run it).
const Kernels<float>& kernels_for(Isa isa, float);
const Kernels<double>& kernels_for(Isa isa, double);

// The active set's kernels.
template <class T>
const Kernels<T>& best() {
  static const Kernels<T>& chosen = kernels_for(active_isa(), T());
  return chosen;
}

}  // namespace xg::vecmath

// The reference kernels: each the plain loop of its formula, sums in double, no SIMD. They are
// what the SIMD sets are tested against (tests/test_vecmath.cpp), and the whole library runs on
// them with XGRAD_KERNELS=reference (the test suite does, once: ctest's reference_kernels entry).
#include <cmath>

#include <xgrad/core/detail/scalar_math.hpp>
#include <xgrad/core/detail/vecmath_isa.hpp>

namespace xg::vecmath::reference {
namespace {

using vecmath::sigmoid_of;

template <class T>
void tanh(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}
template <class T>
void exp(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
template <class T>
void sigmoid(const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = sigmoid_of(x[i]);
}
template <class T>
T dot(const T* a, const T* b, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) s += static_cast<double>(a[i]) * static_cast<double>(b[i]);
  return static_cast<T>(s);
}
template <class T>
void axpy(T a, const T* x, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += a * x[i];
}
template <class T>
T dot_and_axpy(const T* g, const T* v, T w, T* dv, int64_t n) {
  axpy(w, g, dv, n);
  return dot(g, v, n);
}
template <class T>
void add_column_sums(const T* g, int64_t rows, int64_t cols, T* out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < cols; ++j) out[j] += g[r * cols + j];
}
template <class T>
void layer_norm_rows(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t c, double eps, double* mean,
                     double* rstd) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* xr = x + r * c;
    double m = 0, v = 0;
    for (int64_t j = 0; j < c; ++j) m += xr[j];
    m /= static_cast<double>(c);
    for (int64_t j = 0; j < c; ++j) v += (xr[j] - m) * (xr[j] - m);
    v /= static_cast<double>(c);
    mean[r] = m, rstd[r] = 1.0 / std::sqrt(v + eps);
    for (int64_t j = 0; j < c; ++j) y[r * c + j] = static_cast<T>(w[j] * ((xr[j] - m) * rstd[r]) + b[j]);
  }
}
template <class T>
void layer_norm_backward_rows(const T* x, const T* g, const T* w, const double* mean, const double* rstd, T* dx,
                              int64_t rows, int64_t c, bool accumulate) {
  // dx = rstd·(g·w − mean(g·w) − x̂·mean(g·w·x̂)), x̂ = (x − mean)·rstd
  for (int64_t r = 0; r < rows; ++r) {
    const T *xr = x + r * c, *gr = g + r * c;
    double mean_gw = 0, mean_gw_xhat = 0;
    for (int64_t j = 0; j < c; ++j) {
      mean_gw += static_cast<double>(gr[j]) * w[j];
      mean_gw_xhat += static_cast<double>(gr[j]) * w[j] * ((xr[j] - mean[r]) * rstd[r]);
    }
    mean_gw /= static_cast<double>(c), mean_gw_xhat /= static_cast<double>(c);
    for (int64_t j = 0; j < c; ++j) {
      const double xhat = (xr[j] - mean[r]) * rstd[r];
      const T d = static_cast<T>(rstd[r] * (static_cast<double>(gr[j]) * w[j] - mean_gw - xhat * mean_gw_xhat));
      dx[r * c + j] = accumulate ? dx[r * c + j] + d : d;
    }
  }
}
template <class T>
void layer_norm_param_grads(const T* x, const T* g, const double* mean, const double* rstd, int64_t rows, int64_t c,
                            int64_t j0, int64_t j1, T* gw, T* gb) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = j0; j < j1; ++j) {
      if (gw) gw[j] += static_cast<T>(g[r * c + j] * ((x[r * c + j] - mean[r]) * rstd[r]));
      if (gb) gb[j] += g[r * c + j];
    }
}

template <class T>
Kernels<T> table_of() {
  Kernels<T> k{};
  k.name = "reference";
  k.tanh = tanh<T>;
  k.exp = exp<T>;
  k.sigmoid = sigmoid<T>;
  k.dot = dot<T>;
  k.axpy = axpy<T>;
  k.dot_and_axpy = dot_and_axpy<T>;
  k.add_column_sums = add_column_sums<T>;
  k.layer_norm_rows = layer_norm_rows<T>;
  k.layer_norm_backward_rows = layer_norm_backward_rows<T>;
  k.layer_norm_param_grads = layer_norm_param_grads<T>;
  return k;
}

}  // namespace

const Kernels<float>& table(float) {
  static const Kernels<float> k = table_of<float>();
  return k;
}
const Kernels<double>& table(double) {
  static const Kernels<double> k = table_of<double>();
  return k;
}

}  // namespace xg::vecmath::reference

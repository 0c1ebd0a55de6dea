#pragma once
// Internal: the kernels behind vecmath.hpp, instantiated once per instruction set.
#include <cmath>
#include <cstdint>
#include <xsimd/xsimd.hpp>

namespace xg::vecmath::impl {

template <class T, class Arch, class Op, class Tail>
inline void apply(const T* x, T* y, int64_t n, Op op, Tail tail) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t w = static_cast<int64_t>(B::size);
  int64_t i = 0;
  for (; i + w <= n; i += w) op(B::load_unaligned(x + i)).store_unaligned(y + i);
  for (; i < n; ++i) y[i] = tail(x[i]);
}

template <class T, class Arch>
void tanh(const T* x, T* y, int64_t n) {
  apply<T, Arch>(x, y, n, [](auto b) { return xsimd::tanh(b); }, [](T v) { return std::tanh(v); });
}
template <class T, class Arch>
void exp(const T* x, T* y, int64_t n) {
  apply<T, Arch>(x, y, n, [](auto b) { return xsimd::exp(b); }, [](T v) { return std::exp(v); });
}
// 1 / (1 + e^-x), with e^-x clamped so it never overflows to inf (sigmoid(-100) = 3.7e-44 anyway).
template <class T, class Arch>
void sigmoid(const T* x, T* y, int64_t n) {
  using B = xsimd::batch<T, Arch>;
  apply<T, Arch>(x, y, n,
                 [](B b) { return B(T(1)) / (B(T(1)) + xsimd::exp(xsimd::min(-b, B(T(80))))); },
                 [](T v) { return T(1) / (T(1) + std::exp(std::min(-v, T(80)))); });
}

}  // namespace xg::vecmath::impl

#define XG_VECMATH_INSTANTIATE(NS, ARCH)                                                              \
  namespace xg::vecmath::NS {                                                                       \
  void tanh(const float* x, float* y, int64_t n) { impl::tanh<float, ARCH>(x, y, n); }             \
  void tanh(const double* x, double* y, int64_t n) { impl::tanh<double, ARCH>(x, y, n); }          \
  void exp(const float* x, float* y, int64_t n) { impl::exp<float, ARCH>(x, y, n); }               \
  void exp(const double* x, double* y, int64_t n) { impl::exp<double, ARCH>(x, y, n); }            \
  void sigmoid(const float* x, float* y, int64_t n) { impl::sigmoid<float, ARCH>(x, y, n); }       \
  void sigmoid(const double* x, double* y, int64_t n) { impl::sigmoid<double, ARCH>(x, y, n); }    \
  }

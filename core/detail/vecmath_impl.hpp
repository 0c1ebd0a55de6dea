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

// Σ a·b with one partial sum per SIMD lane: a single running sum waits 4 cycles per element.
template <class T, class Arch>
T dot(const T* a, const T* b, int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t w = static_cast<int64_t>(B::size);
  B acc(T(0));
  int64_t i = 0;
  for (; i + w <= n; i += w) acc = xsimd::fma(B::load_unaligned(a + i), B::load_unaligned(b + i), acc);
  T total = xsimd::hadd(acc);
  for (; i < n; ++i) total += a[i] * b[i];
  return total;
}

// e = tanh(q + k), returning Σ v·e: one Bahdanau score (nn/attention_kernels.cpp).
template <class T, class Arch>
T additive_energy(const T* q, const T* k, const T* v, T* e, int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t w = static_cast<int64_t>(B::size);
  B acc(T(0));
  int64_t i = 0;
  for (; i + w <= n; i += w) {
    const B t = xsimd::tanh(B::load_unaligned(q + i) + B::load_unaligned(k + i));
    t.store_unaligned(e + i);
    acc = xsimd::fma(B::load_unaligned(v + i), t, acc);
  }
  T dot = xsimd::hadd(acc);
  for (; i < n; ++i) dot += v[i] * (e[i] = std::tanh(q[i] + k[i]));
  return dot;
}
// Its backward for one score with gradient g: de = g·v·(1 − e²), added into dq and into dk
// (either may be null).
template <class T, class Arch>
void additive_energy_backward(T g, const T* v, const T* e, T* dq, T* dk, int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t w = static_cast<int64_t>(B::size);
  int64_t i = 0;
  for (; i + w <= n; i += w) {
    const B ev = B::load_unaligned(e + i);
    const B de = B(g) * B::load_unaligned(v + i) * (B(T(1)) - ev * ev);
    if (dq) (B::load_unaligned(dq + i) + de).store_unaligned(dq + i);
    if (dk) (B::load_unaligned(dk + i) + de).store_unaligned(dk + i);
  }
  for (; i < n; ++i) {
    const T de = g * v[i] * (T(1) - e[i] * e[i]);
    if (dq) dq[i] += de;
    if (dk) dk[i] += de;
  }
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
  float dot(const float* a, const float* b, int64_t n) { return impl::dot<float, ARCH>(a, b, n); }  \
  double dot(const double* a, const double* b, int64_t n) { return impl::dot<double, ARCH>(a, b, n); } \
  float additive_energy(const float* q, const float* k, const float* v, float* e, int64_t n) {      \
    return impl::additive_energy<float, ARCH>(q, k, v, e, n);                                       \
  }                                                                                                 \
  double additive_energy(const double* q, const double* k, const double* v, double* e, int64_t n) { \
    return impl::additive_energy<double, ARCH>(q, k, v, e, n);                                      \
  }                                                                                                 \
  void additive_energy_backward(float g, const float* v, const float* e, float* dq, float* dk,      \
                                int64_t n) {                                                        \
    impl::additive_energy_backward<float, ARCH>(g, v, e, dq, dk, n);                                \
  }                                                                                                 \
  void additive_energy_backward(double g, const double* v, const double* e, double* dq, double* dk, \
                                int64_t n) {                                                        \
    impl::additive_energy_backward<double, ARCH>(g, v, e, dq, dk, n);                               \
  }                                                                                                 \
  }

#include "core/detail/vecmath.hpp"

namespace xg::vecmath {

#define XG_DECLARE(NS)                                    \
  namespace NS {                                          \
  void tanh(const float*, float*, int64_t);               \
  void tanh(const double*, double*, int64_t);             \
  void exp(const float*, float*, int64_t);                \
  void exp(const double*, double*, int64_t);              \
  void sigmoid(const float*, float*, int64_t);            \
  void sigmoid(const double*, double*, int64_t);          \
  float dot(const float*, const float*, int64_t);                                                   \
  double dot(const double*, const double*, int64_t);                                                \
  float additive_energy(const float*, const float*, const float*, float*, int64_t);                 \
  double additive_energy(const double*, const double*, const double*, double*, int64_t);            \
  void additive_energy_backward(float, const float*, const float*, float*, float*, int64_t);        \
  void additive_energy_backward(double, const double*, const double*, double*, double*, int64_t);   \
  }
XG_DECLARE(sse2)
XG_DECLARE(avx2)
#undef XG_DECLARE

namespace {
const bool kHaveAvx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
}

#define XG_DISPATCH(NAME, T) \
  void NAME(const T* x, T* y, int64_t n) { kHaveAvx2 ? avx2::NAME(x, y, n) : sse2::NAME(x, y, n); }
XG_DISPATCH(tanh, float)
XG_DISPATCH(tanh, double)
XG_DISPATCH(exp, float)
XG_DISPATCH(exp, double)
XG_DISPATCH(sigmoid, float)
XG_DISPATCH(sigmoid, double)
#undef XG_DISPATCH

float dot(const float* a, const float* b, int64_t n) { return kHaveAvx2 ? avx2::dot(a, b, n) : sse2::dot(a, b, n); }
double dot(const double* a, const double* b, int64_t n) { return kHaveAvx2 ? avx2::dot(a, b, n) : sse2::dot(a, b, n); }

#define XG_DISPATCH_ENERGY(T)                                                                     \
  T additive_energy(const T* q, const T* k, const T* v, T* e, int64_t n) {                        \
    return kHaveAvx2 ? avx2::additive_energy(q, k, v, e, n) : sse2::additive_energy(q, k, v, e, n); \
  }                                                                                               \
  void additive_energy_backward(T g, const T* v, const T* e, T* dq, T* dk, int64_t n) {           \
    kHaveAvx2 ? avx2::additive_energy_backward(g, v, e, dq, dk, n)                                \
              : sse2::additive_energy_backward(g, v, e, dq, dk, n);                               \
  }
XG_DISPATCH_ENERGY(float)
XG_DISPATCH_ENERGY(double)
#undef XG_DISPATCH_ENERGY

}  // namespace xg::vecmath

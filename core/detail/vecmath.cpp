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

}  // namespace xg::vecmath

#include "core/detail/vecmath.hpp"
#include "core/detail/vecmath_isa.hpp"

namespace xg::vecmath {

bool cpu_runs(Isa isa) {
  switch (isa) {
    case Isa::Avx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("fma");
    case Isa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Sse2: return true;
  }
  return false;
}

Isa best_isa() {
  static const Isa best = cpu_runs(Isa::Avx512) ? Isa::Avx512 : cpu_runs(Isa::Avx2) ? Isa::Avx2 : Isa::Sse2;
  return best;
}

namespace {
const Isa kIsa = best_isa();
}

// Calls NAME of the widest instruction set this CPU runs.
#define XG_ON_BEST_ISA(NAME, ...)                                      \
  (kIsa == Isa::Avx512 ? avx512::NAME(__VA_ARGS__)                     \
   : kIsa == Isa::Avx2 ? avx2::NAME(__VA_ARGS__) : sse2::NAME(__VA_ARGS__))

#define XG_DISPATCH(NAME, T) \
  void NAME(const T* x, T* y, int64_t n) { XG_ON_BEST_ISA(NAME, x, y, n); }
XG_DISPATCH(tanh, float)
XG_DISPATCH(tanh, double)
XG_DISPATCH(exp, float)
XG_DISPATCH(exp, double)
XG_DISPATCH(sigmoid, float)
XG_DISPATCH(sigmoid, double)
#undef XG_DISPATCH

float dot(const float* a, const float* b, int64_t n) { return XG_ON_BEST_ISA(dot, a, b, n); }
double dot(const double* a, const double* b, int64_t n) { return XG_ON_BEST_ISA(dot, a, b, n); }
#define XG_DISPATCH_GRU(T)                                                                      \
  void gru_cell_forward(const T* gi, const T* gi2, const T* gh, const T* h, T* saved, T* out, int64_t H) { \
    XG_ON_BEST_ISA(gru_cell_forward, gi, gi2, gh, h, saved, out, H);                              \
  }                                                                                               \
  void gru_cell_backward(const T* saved, const T* go, const T* h, T* dgi, T* dgh, T* dh, int64_t H) { \
    XG_ON_BEST_ISA(gru_cell_backward, saved, go, h, dgi, dgh, dh, H);                             \
  }
XG_DISPATCH_GRU(float)
XG_DISPATCH_GRU(double)
#undef XG_DISPATCH_GRU

void axpy(float a, const float* x, float* y, int64_t n) { XG_ON_BEST_ISA(axpy, a, x, y, n); }
void axpy(double a, const double* x, double* y, int64_t n) { XG_ON_BEST_ISA(axpy, a, x, y, n); }
void add_column_sums(const float* g, int64_t rows, int64_t cols, float* out) {
  XG_ON_BEST_ISA(add_column_sums, g, rows, cols, out);
}
void add_column_sums(const double* g, int64_t rows, int64_t cols, double* out) {
  XG_ON_BEST_ISA(add_column_sums, g, rows, cols, out);
}
#define XG_DISPATCH_LAYER_NORM(T)                                                                  \
  void layer_norm_rows(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t c, double eps, double* mean, \
                       double* rstd) {                                                                 \
    XG_ON_BEST_ISA(layer_norm_rows, x, w, b, y, rows, c, eps, mean, rstd);                             \
  }                                                                                                    \
  void layer_norm_backward_rows(const T* x, const T* g, const T* w, const double* mean, const double* rstd, T* dx, \
                                int64_t rows, int64_t c, bool accumulate) {                            \
    XG_ON_BEST_ISA(layer_norm_backward_rows, x, g, w, mean, rstd, dx, rows, c, accumulate);            \
  }                                                                                                    \
  void layer_norm_param_grads(const T* x, const T* g, const double* mean, const double* rstd, int64_t rows, int64_t c, \
                              int64_t j0, int64_t j1, T* gw, T* gb) {                                  \
    XG_ON_BEST_ISA(layer_norm_param_grads, x, g, mean, rstd, rows, c, j0, j1, gw, gb);                 \
  }
XG_DISPATCH_LAYER_NORM(float)
XG_DISPATCH_LAYER_NORM(double)
#undef XG_DISPATCH_LAYER_NORM
float dot_and_axpy(const float* g, const float* v, float w, float* dv, int64_t n) {
  return XG_ON_BEST_ISA(dot_and_axpy, g, v, w, dv, n);
}
double dot_and_axpy(const double* g, const double* v, double w, double* dv, int64_t n) {
  return XG_ON_BEST_ISA(dot_and_axpy, g, v, w, dv, n);
}

#define XG_DISPATCH_ENERGY(T)                                                           \
  T additive_energy(const T* q, const T* k, const T* v, T* e, int64_t n) {              \
    return XG_ON_BEST_ISA(additive_energy, q, k, v, e, n);                              \
  }                                                                                     \
  void additive_energy_backward(T g, const T* v, const T* e, T* dq, T* dk, int64_t n) { \
    XG_ON_BEST_ISA(additive_energy_backward, g, v, e, dq, dk, n);                       \
  }
XG_DISPATCH_ENERGY(float)
XG_DISPATCH_ENERGY(double)
#undef XG_DISPATCH_ENERGY
#undef XG_ON_BEST_ISA

}  // namespace xg::vecmath

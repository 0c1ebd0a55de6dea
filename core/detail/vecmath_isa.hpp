#pragma once
// Internal: the kernels of vecmath.hpp once per instruction set. vecmath.cpp picks the widest one
// this CPU runs; tests call each set directly, so every compiled path is checked on a machine
// that can run it.
#include <cstdint>

#define XG_VECMATH_DECLARE(NS)                                                                     \
  namespace xg::vecmath::NS {                                                                      \
  void tanh(const float*, float*, int64_t);                                                        \
  void tanh(const double*, double*, int64_t);                                                      \
  void exp(const float*, float*, int64_t);                                                         \
  void exp(const double*, double*, int64_t);                                                       \
  void sigmoid(const float*, float*, int64_t);                                                     \
  void sigmoid(const double*, double*, int64_t);                                                   \
  float dot(const float*, const float*, int64_t);                                                  \
  double dot(const double*, const double*, int64_t);                                               \
  void gru_cell_forward(const float*, const float*, const float*, const float*, float*, float*, int64_t); \
  void gru_cell_forward(const double*, const double*, const double*, const double*, double*, double*, int64_t); \
  void gru_cell_backward(const float*, const float*, const float*, float*, float*, float*, int64_t); \
  void gru_cell_backward(const double*, const double*, const double*, double*, double*, double*, int64_t); \
  void axpy(float, const float*, float*, int64_t);                                                 \
  void axpy(double, const double*, double*, int64_t);                                              \
  void add_column_sums(const float*, int64_t, int64_t, float*);                                    \
  void add_column_sums(const double*, int64_t, int64_t, double*);                                  \
  void layer_norm_rows(const float*, const float*, const float*, float*, int64_t, int64_t, double, double*, double*); \
  void layer_norm_backward_rows(const float*, const float*, const float*, const double*, const double*, float*, int64_t, \
                                int64_t, bool);                                                    \
  void layer_norm_param_grads(const float*, const float*, const double*, const double*, int64_t, int64_t, int64_t, \
                              int64_t, float*, float*);                                                \
  void layer_norm_rows(const double*, const double*, const double*, double*, int64_t, int64_t, double, double*, double*); \
  void layer_norm_backward_rows(const double*, const double*, const double*, const double*, const double*, double*, int64_t, \
                                int64_t, bool);                                                    \
  void layer_norm_param_grads(const double*, const double*, const double*, const double*, int64_t, int64_t, int64_t, \
                              int64_t, double*, double*);                                                \
  float dot_and_axpy(const float*, const float*, float, float*, int64_t);                          \
  double dot_and_axpy(const double*, const double*, double, double*, int64_t);                     \
  float additive_energy(const float*, const float*, const float*, float*, int64_t);                \
  double additive_energy(const double*, const double*, const double*, double*, int64_t);           \
  void additive_energy_backward(float, const float*, const float*, float*, float*, int64_t);       \
  void additive_energy_backward(double, const double*, const double*, double*, double*, int64_t);  \
  }
XG_VECMATH_DECLARE(sse2)
XG_VECMATH_DECLARE(avx2)
XG_VECMATH_DECLARE(avx512)
#undef XG_VECMATH_DECLARE

namespace xg::vecmath {
enum class Isa { Sse2, Avx2, Avx512 };
// The widest set this CPU runs: AVX-512 (F, CD, DQ, BW), AVX2 with FMA, or SSE2.
Isa best_isa();
bool cpu_runs(Isa isa);
}  // namespace xg::vecmath

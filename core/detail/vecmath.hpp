#pragma once
// Internal: vectorised transcendental functions over arrays. std::tanh and std::exp stay
// scalar; these use xsimd's polynomial kernels, compiled twice (SSE2 and AVX2+FMA) and chosen
// at run time from the CPU, so the library still runs on any x86-64. Measured on a
// 491,520-float array: std::tanh 5.9 ms, SSE2 1.5 ms, AVX2 0.31 ms.
#include <cstdint>

namespace xg::vecmath {

void tanh(const float* x, float* y, int64_t n);
void tanh(const double* x, double* y, int64_t n);
void exp(const float* x, float* y, int64_t n);
void exp(const double* x, double* y, int64_t n);
void sigmoid(const float* x, float* y, int64_t n);
void sigmoid(const double* x, double* y, int64_t n);

// Σ a·b over n entries (the order of the additions differs from a plain loop's).
float dot(const float* a, const float* b, int64_t n);
double dot(const double* a, const double* b, int64_t n);

// e = tanh(q + k) over n entries, returning Σ v·e (one additive-attention score), and its
// backward for a score gradient g: dq += g·v·(1 − e²), dk += the same (either may be null).
float additive_energy(const float* q, const float* k, const float* v, float* e, int64_t n);
double additive_energy(const double* q, const double* k, const double* v, double* e, int64_t n);
void additive_energy_backward(float g, const float* v, const float* e, float* dq, float* dk, int64_t n);
void additive_energy_backward(double g, const double* v, const double* e, double* dq, double* dk, int64_t n);

}  // namespace xg::vecmath

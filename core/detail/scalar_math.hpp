#pragma once
// Internal: scalar formulas shared by the reference kernels (vecmath_reference.cpp and
// nn/detail/layer_kernels_reference.cpp).
#include <cmath>

namespace xg::vecmath {

// 1 / (1 + e^-x) in two branches, so that exp never overflows.
template <class T>
T sigmoid_of(T x) {
  if (x >= T(0)) return T(1) / (T(1) + std::exp(-x));
  const T e = std::exp(x);
  return e / (T(1) + e);
}

}  // namespace xg::vecmath

#pragma once
// Internal: the table of kernels of each instruction set, defined in its own translation unit
// (vecmath_sse2.cpp, vecmath_avx2.cpp, vecmath_avx512.cpp, compiled with that set's flags) and
// of the scalar reference (vecmath_reference.cpp). vecmath.cpp picks one.
#include <xgrad/core/detail/vecmath.hpp>

#define XG_VECMATH_DECLARE(NS)                   \
  namespace xg::vecmath::NS {                    \
  const Kernels<float>& table(float);            \
  const Kernels<double>& table(double);          \
  }
XG_VECMATH_DECLARE(reference)
XG_VECMATH_DECLARE(sse2)
XG_VECMATH_DECLARE(avx2)
XG_VECMATH_DECLARE(avx512)
#undef XG_VECMATH_DECLARE

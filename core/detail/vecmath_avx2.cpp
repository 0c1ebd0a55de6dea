// Compiled with -mavx2 -mfma (CMakeLists.txt); called only when the CPU has both.
#include <xgrad/core/detail/vecmath_impl.hpp>
XG_VECMATH_INSTANTIATE(avx2, xsimd::fma3<xsimd::avx2>)

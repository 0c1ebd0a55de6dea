#include <xgrad/core/detail/vecmath_impl.hpp>
XG_VECMATH_INSTANTIATE(sse2, xsimd::sse2)

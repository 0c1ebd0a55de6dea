// Compiled with -mavx512f -mavx512cd -mavx512dq -mavx512bw -mfma (CMakeLists.txt); called only
// when the CPU has all of them. GCC 12's "undefined" AVX-512 vectors: see
// core/detail/vecmath_avx512.cpp.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <xgrad/nn/detail/layer_kernels_impl.hpp>
XG_LAYER_KERNELS_INSTANTIATE(avx512, xsimd::avx512bw)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

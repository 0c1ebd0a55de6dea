// Compiled with -mavx2 -mfma (CMakeLists.txt); called only when the CPU has both.
#include <xgrad/nn/detail/layer_kernels_impl.hpp>
XG_LAYER_KERNELS_INSTANTIATE(avx2, xsimd::fma3<xsimd::avx2>)

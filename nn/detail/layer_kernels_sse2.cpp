#include <xgrad/nn/detail/layer_kernels_impl.hpp>
XG_LAYER_KERNELS_INSTANTIATE(sse2, xsimd::sse2)

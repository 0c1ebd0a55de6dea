// Compiled with -mavx2 -mfma (CMakeLists.txt); called only when the CPU has both.
#define XG_ME_ARCH avx2
#include <xgrad/nn/detail/memory_efficient_kernels_impl.hpp>

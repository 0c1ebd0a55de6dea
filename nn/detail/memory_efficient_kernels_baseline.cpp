// The x86-64 baseline build of the memory-efficient attention tiles.
#define XG_ME_ARCH baseline
#include <xgrad/nn/detail/memory_efficient_kernels_impl.hpp>

namespace xg::nn::detail {
bool use_avx2_kernels() {
  static const bool have = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return have;
}
}  // namespace xg::nn::detail

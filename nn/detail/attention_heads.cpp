#include <xgrad/nn/detail/attention_heads.hpp>

#include <algorithm>

#include <xgrad/core/detail/vecmath_isa.hpp>

namespace xg::nn::detail::attention_heads {

bool fits(const HeadSizes& n) {
  static const bool cpu_runs_kernels = vecmath::active_isa() == vecmath::Isa::Avx512;  // XGRAD_KERNELS can turn it off
  return cpu_runs_kernels && n.Tk >= 1 && n.Tk <= 128 && n.d >= 1 && n.d <= 64 && n.dv >= 1 && n.dv <= 64;
}

// The transposed keys or values (width, keys padded to 16) and two (Tq, padded keys) matrices.
int64_t scratch_floats(const HeadSizes& n) {
  return (std::max(n.d, n.dv) + 2 * n.Tq) * padded_keys(n.Tk);
}

}  // namespace xg::nn::detail::attention_heads

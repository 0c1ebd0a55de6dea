#include <xgrad/nn/detail/layer_kernels.hpp>

#include <fmt/format.h>

#include <xgrad/core/errors.hpp>

namespace xg::nn::detail {
namespace {
template <class T>
const LayerKernels<T>& table_for(vecmath::Isa isa) {
  using vecmath::Isa;
  if (!vecmath::cpu_runs(isa))
    throw Error(fmt::format("layer kernels: this CPU does not run {}", vecmath::to_string(isa)));
  switch (isa) {
    case Isa::Reference: return reference::layer_table(T());
    case Isa::Sse2: return sse2::layer_table(T());
    case Isa::Avx2: return avx2::layer_table(T());
    case Isa::Avx512: return avx512::layer_table(T());
  }
  return reference::layer_table(T());
}
}  // namespace

const LayerKernels<float>& layer_kernels_for(vecmath::Isa isa, float) { return table_for<float>(isa); }
const LayerKernels<double>& layer_kernels_for(vecmath::Isa isa, double) { return table_for<double>(isa); }

}  // namespace xg::nn::detail

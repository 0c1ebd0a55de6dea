#pragma once
// Internal: the row kernels of two layers, the GRU cell (nn/recurrent.cpp) and additive
// attention's energies (nn/attention_ops.cpp), one table per instruction set like vecmath's and
// chosen by the same rule (vecmath::active_isa(), so XGRAD_KERNELS picks both). The SIMD sets are
// compiled from layer_kernels_impl.hpp once per set (layer_kernels_{sse2,avx2,avx512}.cpp); the
// reference set (layer_kernels_reference.cpp) is each formula as a plain loop and is what the
// tests hold the others to (tests/test_layer_kernels.cpp).
// Measured with AVX-512: one Bahdanau step's energies (32 x 30 x 256) 0.64x AVX2's time; the GRU
// row in one pass against gates, sigmoid and tanh as separate SSE2 loops: see nn/recurrent.cpp.
//
// Adding a kernel: a field here, its SIMD template and its line in table_of in
// layer_kernels_impl.hpp, its plain loop in layer_kernels_reference.cpp.
#include <cstdint>

#include <xgrad/core/detail/vecmath.hpp>

namespace xg::nn::detail {

template <class T>
struct LayerKernels {
  const char* name;  // the instruction set's: "reference", "sse2", "avx2", "avx512"
  // e = tanh(q + k) over n entries, returning Σ v·e (one additive-attention score), and its
  // backward for a score gradient g: dq += g·v·(1 − e²), dk += the same (either may be null).
  T (*additive_energy)(const T* q, const T* k, const T* v, T* e, int64_t n);
  void (*additive_energy_backward)(T g, const T* v, const T* e, T* dq, T* dk, int64_t n);
  // One batch row of a GRU cell after both projections gi, gh (3H each: the r, z, n blocks; gi is
  // the sum gi + gi2 when gi2 is not null, a decoder's embedding row plus its context's share):
  // r, z = σ(gi + gh), n = tanh(gi_n + r·gh_n), out = h' = n + z·(h − n); saved (4H) = r, z, n,
  // gh_n for the backward (saved may be null when no backward will run), which turns dh' (go)
  // into dgi, dgh (3H each) and dh (H). One pass per row.
  void (*gru_cell_forward)(const T* gi, const T* gi2, const T* gh, const T* h, T* saved, T* out, int64_t H);
  void (*gru_cell_backward)(const T* saved, const T* go, const T* h, T* dgi, T* dgh, T* dh, int64_t H);
};

// One set's kernels (the CPU must run it).
const LayerKernels<float>& layer_kernels_for(vecmath::Isa isa, float);
const LayerKernels<double>& layer_kernels_for(vecmath::Isa isa, double);

// The active set's kernels: look them up once per op, not per row (see vecmath::best).
template <class T>
const LayerKernels<T>& layer_kernels() {
  static const LayerKernels<T>& chosen = layer_kernels_for(vecmath::active_isa(), T());
  return chosen;
}

}  // namespace xg::nn::detail

// Each set's tables, defined in its own translation unit.
#define XG_LAYER_KERNELS_DECLARE(NS)                \
  namespace xg::nn::detail::NS {                    \
  const LayerKernels<float>& layer_table(float);    \
  const LayerKernels<double>& layer_table(double);  \
  }
XG_LAYER_KERNELS_DECLARE(reference)
XG_LAYER_KERNELS_DECLARE(sse2)
XG_LAYER_KERNELS_DECLARE(avx2)
XG_LAYER_KERNELS_DECLARE(avx512)
#undef XG_LAYER_KERNELS_DECLARE

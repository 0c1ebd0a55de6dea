#pragma once
// Internal: the SIMD layer kernels behind layer_kernels.hpp, instantiated once per instruction
// set. They are built from vecmath's batch helpers (load_part, store_part, over_batches, madd,
// tanh_batch, sigmoid_batch), so a row here rounds exactly as vecmath's own kernels do.
#include <xsimd/xsimd.hpp>

#include <xgrad/core/detail/vecmath_impl.hpp>
#include <xgrad/nn/detail/layer_kernels.hpp>

namespace xg::nn::detail::simd {

using vecmath::impl::load_part;
using vecmath::impl::madd;
using vecmath::impl::over_batches;
using vecmath::impl::sigmoid_batch;
using vecmath::impl::store_part;
using vecmath::impl::tanh_batch;

// One batch row of a GRU cell after both projections, gi and gh (3H each: r, z, n blocks):
// r, z = σ(gi + gh), n = tanh(gi_n + r·gh_n), h' = n + z·(h − n); saved (4H): r, z, n, gh_n
// (null: nothing saved, no backward will run).
template <class T, class Arch>
void gru_cell_forward(const T* gi, const T* gi2, const T* gh, const T* h, T* saved, T* out, int64_t H) {
  using B = xsimd::batch<T, Arch>;
  over_batches<T, Arch>(H, [&](int64_t j, int64_t c) {
    const auto ld = [&](const T* p) { return load_part<T, Arch>(p + j, c); };
    const auto input = [&](int64_t gate) { return gi2 ? ld(gi + gate * H) + ld(gi2 + gate * H) : ld(gi + gate * H); };
    const B r = sigmoid_batch<T, Arch>(input(0) + ld(gh));
    const B z = sigmoid_batch<T, Arch>(input(1) + ld(gh + H));
    const B ghn = ld(gh + 2 * H);
    const B n = tanh_batch(input(2) + r * ghn);
    if (saved) {
      store_part<T, Arch>(r, saved + j, c);
      store_part<T, Arch>(z, saved + H + j, c);
      store_part<T, Arch>(n, saved + 2 * H + j, c);
      store_part<T, Arch>(ghn, saved + 3 * H + j, c);
    }
    store_part<T, Arch>(n + z * (ld(h) - n), out + j, c);
  });
}

// Its backward from dh' (grad_out): the pre-activation gradients dgi, dgh (3H each) and dh.
template <class T, class Arch>
void gru_cell_backward(const T* saved, const T* grad_out, const T* h, T* dgi, T* dgh, T* dh, int64_t H) {
  using B = xsimd::batch<T, Arch>;
  over_batches<T, Arch>(H, [&](int64_t j, int64_t c) {
    const auto ld = [&](const T* p) { return load_part<T, Arch>(p + j, c); };
    const B r = ld(saved), z = ld(saved + H), n = ld(saved + 2 * H), ghn = ld(saved + 3 * H);
    const B go = ld(grad_out), one(T(1));
    const B dan = go * (one - z) * (one - n * n);
    const B dar = dan * ghn * r * (one - r);
    const B daz = go * (ld(h) - n) * z * (one - z);
    store_part<T, Arch>(dar, dgi + j, c), store_part<T, Arch>(daz, dgi + H + j, c);
    store_part<T, Arch>(dan, dgi + 2 * H + j, c);
    store_part<T, Arch>(dar, dgh + j, c), store_part<T, Arch>(daz, dgh + H + j, c);
    store_part<T, Arch>(dan * r, dgh + 2 * H + j, c);
    store_part<T, Arch>(go * z, dh + j, c);
  });
}

// e = tanh(q + k), returning Σ v·e: one Bahdanau score (nn/attention_ops.cpp). The last
// batch is zero-padded like apply's (tanh(0) · 0 adds nothing).
template <class T, class Arch>
T additive_energy(const T* q, const T* k, const T* v, T* e, int64_t n) {
  using B = xsimd::batch<T, Arch>;
  B acc(T(0));
  over_batches<T, Arch>(n, [&](int64_t i, int64_t c) {
    const B t = tanh_batch(load_part<T, Arch>(q + i, c) + load_part<T, Arch>(k + i, c));
    store_part<T, Arch>(t, e + i, c);
    acc = madd(load_part<T, Arch>(v + i, c), t, acc);
  });
  return xsimd::hadd(acc);
}
// Its backward for one score with gradient g: de = g·v·(1 − e²), added into dq and into dk
// (either may be null).
template <class T, class Arch>
void additive_energy_backward(T g, const T* v, const T* e, T* dq, T* dk, int64_t n) {
  using B = xsimd::batch<T, Arch>;
  constexpr int64_t w = static_cast<int64_t>(B::size);
  int64_t i = 0;
  for (; i + w <= n; i += w) {
    const B ev = B::load_unaligned(e + i);
    const B de = B(g) * B::load_unaligned(v + i) * (B(T(1)) - ev * ev);
    if (dq) (B::load_unaligned(dq + i) + de).store_unaligned(dq + i);
    if (dk) (B::load_unaligned(dk + i) + de).store_unaligned(dk + i);
  }
  for (; i < n; ++i) {
    const T de = g * v[i] * (T(1) - e[i] * e[i]);
    if (dq) dq[i] += de;
    if (dk) dk[i] += de;
  }
}
// Every layer kernel of one instruction set (Arch) for one element type.
template <class T, class Arch>
LayerKernels<T> table_of(const char* name) {
  LayerKernels<T> k{};
  k.name = name;
  k.additive_energy = additive_energy<T, Arch>;
  k.additive_energy_backward = additive_energy_backward<T, Arch>;
  k.gru_cell_forward = gru_cell_forward<T, Arch>;
  k.gru_cell_backward = gru_cell_backward<T, Arch>;
  return k;
}

}  // namespace xg::nn::detail::simd

// The tables of one instruction set, in its translation unit.
#define XG_LAYER_KERNELS_INSTANTIATE(NS, ARCH)                                 \
  namespace xg::nn::detail::NS {                                               \
  const LayerKernels<float>& layer_table(float) {                              \
    static const LayerKernels<float> k = simd::table_of<float, ARCH>(#NS);     \
    return k;                                                                  \
  }                                                                            \
  const LayerKernels<double>& layer_table(double) {                            \
    static const LayerKernels<double> k = simd::table_of<double, ARCH>(#NS);   \
    return k;                                                                  \
  }                                                                            \
  }

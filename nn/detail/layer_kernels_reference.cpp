// The layer kernels' reference: each formula as a plain loop, sums in double, no SIMD; the
// oracle of tests/test_layer_kernels.cpp, and what XGRAD_KERNELS=reference runs.
#include <cmath>

#include <xgrad/core/detail/scalar_math.hpp>
#include <xgrad/nn/detail/layer_kernels.hpp>

namespace xg::nn::detail::reference {
namespace {

using vecmath::sigmoid_of;

template <class T>
T additive_energy(const T* q, const T* k, const T* v, T* e, int64_t n) {
  double s = 0;
  for (int64_t i = 0; i < n; ++i) {
    e[i] = std::tanh(q[i] + k[i]);
    s += static_cast<double>(v[i]) * static_cast<double>(e[i]);
  }
  return static_cast<T>(s);
}
template <class T>
void additive_energy_backward(T g, const T* v, const T* e, T* dq, T* dk, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const T de = g * v[i] * (T(1) - e[i] * e[i]);
    if (dq) dq[i] += de;
    if (dk) dk[i] += de;
  }
}
template <class T>
void gru_cell_forward(const T* gi, const T* gi2, const T* gh, const T* h, T* saved, T* out, int64_t H) {
  const auto input = [&](int64_t i) { return gi2 ? gi[i] + gi2[i] : gi[i]; };
  for (int64_t j = 0; j < H; ++j) {
    const T r = sigmoid_of(input(j) + gh[j]);
    const T z = sigmoid_of(input(H + j) + gh[H + j]);
    const T n = std::tanh(input(2 * H + j) + r * gh[2 * H + j]);
    if (saved) saved[j] = r, saved[H + j] = z, saved[2 * H + j] = n, saved[3 * H + j] = gh[2 * H + j];
    out[j] = n + z * (h[j] - n);
  }
}
template <class T>
void gru_cell_backward(const T* saved, const T* go, const T* h, T* dgi, T* dgh, T* dh, int64_t H) {
  for (int64_t j = 0; j < H; ++j) {
    const T r = saved[j], z = saved[H + j], n = saved[2 * H + j], ghn = saved[3 * H + j];
    const T dn = go[j] * (T(1) - z) * (T(1) - n * n);  // through n's tanh
    const T dr = dn * ghn * r * (T(1) - r);             // through r's sigmoid
    const T dz = go[j] * (h[j] - n) * z * (T(1) - z);   // through z's sigmoid
    dgi[j] = dr, dgi[H + j] = dz, dgi[2 * H + j] = dn;
    dgh[j] = dr, dgh[H + j] = dz, dgh[2 * H + j] = dn * r;
    dh[j] = go[j] * z;
  }
}
template <class T>
LayerKernels<T> table_of() {
  LayerKernels<T> k{};
  k.name = "reference";
  k.additive_energy = additive_energy<T>;
  k.additive_energy_backward = additive_energy_backward<T>;
  k.gru_cell_forward = gru_cell_forward<T>;
  k.gru_cell_backward = gru_cell_backward<T>;
  return k;
}

}  // namespace

const LayerKernels<float>& layer_table(float) {
  static const LayerKernels<float> k = table_of<float>();
  return k;
}
const LayerKernels<double>& layer_table(double) {
  static const LayerKernels<double> k = table_of<double>();
  return k;
}

}  // namespace xg::nn::detail::reference

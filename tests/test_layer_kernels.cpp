// The layer kernels (nn/detail/layer_kernels.hpp): the GRU cell's row and the additive-attention
// energy, once per instruction set this CPU runs and the scalar reference set, against their
// formulas in long double. The layers' tests only reach the widest set; these reach the others.
#include <cmath>
#include <limits>
#include <utility>
#include <vector>

#include <xgrad/core/detail/vecmath.hpp>
#include "kernel_checks.hpp"
#include <xgrad/nn/detail/layer_kernels.hpp>

using namespace xg;
using namespace kernel_checks;
using nn::detail::LayerKernels;
using vecmath::Isa;

namespace {

template <class T>
std::vector<LayerKernels<T>> kernels_this_cpu_runs() {
  std::vector<LayerKernels<T>> out;
  for (Isa isa : {Isa::Reference, Isa::Sse2, Isa::Avx2, Isa::Avx512})
    if (vecmath::cpu_runs(isa)) out.push_back(nn::detail::layer_kernels_for(isa, T()));
  return out;
}

// e = tanh(q + k) and Σ v·e, and the backward into dq and dk.
template <class T>
void check_additive_energy_kernels() {
  for (const auto& k : kernels_this_cpu_runs<T>())
    for (int64_t n : kLengths) {
      const auto a = values<T>(n, 1, 4), b = values<T>(n, 1, 5), q = values<T>(n, 2, 6), key = values<T>(n, 2, 7);
      std::vector<T> e(static_cast<std::size_t>(n), T(-7));
      long double score = 0, score_abs = 0;
      for (int64_t i = 0; i < n; ++i) {
        const long double t = std::tanh((long double)q[i] + key[i]);
        score += (long double)b[i] * t, score_abs += std::fabs((long double)b[i] * t);
      }
      // Each tanh is off by a few units too: 4 more per term in the bound.
      check_sum_close<T>("additive_energy", k.name, n,
                         k.additive_energy(q.data(), key.data(), b.data(), e.data(), n), score, score_abs * 5);
      for (int64_t i = 0; i < n; ++i)
        check_close<T>("additive_energy's tanh", k.name, n, e[i], std::tanh((long double)q[i] + key[i]), 1e-3L);

      // Backward adds g·v·(1 − e²) onto what dq and dk hold; either may be absent.
      const T g = T(0.37);
      std::vector<T> dq(a), dk(q);
      k.additive_energy_backward(g, b.data(), e.data(), dq.data(), dk.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        const long double de = (long double)g * b[i] * (1 - (long double)e[i] * e[i]);
        check_close<T>("additive_energy_backward dq", k.name, n, dq[i], a[i] + de);
        check_close<T>("additive_energy_backward dk", k.name, n, dk[i], q[i] + de);
      }
      std::vector<T> only_dk(q);
      k.additive_energy_backward(g, b.data(), e.data(), nullptr, only_dk.data(), n);
      for (int64_t i = 0; i < n; ++i) CHECK(only_dk[i] == dk[i]);

    }
}

// The GRU cell row against its formulas in long double, for row widths around every vector width.
template <class T>
void check_gru_cell_kernels() {
  for (const auto& k : kernels_this_cpu_runs<T>())
    for (int64_t H : kLengths) {
      if (H == 0) continue;
      const auto gi = values<T>(3 * H, 2, 10), gh = values<T>(3 * H, 2, 11), h = values<T>(H, 1, 12);
      const auto go = values<T>(H, 1, 13);
      std::vector<T> saved(static_cast<std::size_t>(4 * H)), out(static_cast<std::size_t>(H));
      k.gru_cell_forward(gi.data(), nullptr, gh.data(), h.data(), saved.data(), out.data(), H);
      std::vector<T> dgi(static_cast<std::size_t>(3 * H)), dgh(dgi.size()), dh(static_cast<std::size_t>(H));
      k.gru_cell_backward(saved.data(), go.data(), h.data(), dgi.data(), dgh.data(), dh.data(), H);
      using L = long double;
      for (int64_t j = 0; j < H; ++j) {
        const L r = 1 / (1 + std::exp(-((L)gi[j] + gh[j]))), z = 1 / (1 + std::exp(-((L)gi[H + j] + gh[H + j])));
        const L n = std::tanh((L)gi[2 * H + j] + r * gh[2 * H + j]);
        check_close<T>("gru r", k.name, H, saved[j], r);
        check_close<T>("gru z", k.name, H, saved[H + j], z);
        check_close<T>("gru n", k.name, H, saved[2 * H + j], n);
        CHECK(saved[3 * H + j] == gh[2 * H + j]);
        check_close<T>("gru h'", k.name, H, out[j], n + z * (h[j] - n), 1);
        // Backward from the saved values (as the op runs it), each product a few roundings.
        const L sr = saved[j], sz = saved[H + j], sn = saved[2 * H + j], g = go[j];
        const L dan = g * (1 - sz) * (1 - sn * sn), dar = dan * gh[2 * H + j] * sr * (1 - sr);
        const L daz = g * (h[j] - sn) * sz * (1 - sz);
        for (const auto& [got, want] : {std::pair<T, L>{dgi[j], dar}, {dgi[H + j], daz}, {dgi[2 * H + j], dan},
                                         {dgh[j], dar}, {dgh[H + j], daz}, {dgh[2 * H + j], dan * sr}, {dh[j], g * sz}})
          check_close<T>("gru backward", k.name, H, got, want, 1);
      }
      // Without a buffer for the saved values (no backward to come): the same new state.
      std::vector<T> out_unsaved(static_cast<std::size_t>(H));
      k.gru_cell_forward(gi.data(), nullptr, gh.data(), h.data(), nullptr, out_unsaved.data(), H);
      CHECK(out_unsaved == out);
      // gi as the sum of two rows (gi2 not null): the same state as from the summed row.
      std::vector<T> half(gi.size()), rest(gi.size()), summed(gi.size()), out_split(static_cast<std::size_t>(H)),
          out_summed(static_cast<std::size_t>(H));
      for (std::size_t i = 0; i < gi.size(); ++i) half[i] = gi[i] * T(0.25), rest[i] = gi[i] - half[i], summed[i] = half[i] + rest[i];
      k.gru_cell_forward(half.data(), rest.data(), gh.data(), h.data(), nullptr, out_split.data(), H);
      k.gru_cell_forward(summed.data(), nullptr, gh.data(), h.data(), nullptr, out_summed.data(), H);
      CHECK(out_split == out_summed);
    }
}

// NaN in a gate's pre-activation reaches the new state, at every lane position.
template <class T>
void check_gru_nan_propagates() {
  const T nan = std::numeric_limits<T>::quiet_NaN();
  for (const auto& k : kernels_this_cpu_runs<T>())
    for (int64_t n : {1, 3, 16, 17})
      for (int64_t at = 0; at < n; ++at) {
        // The GRU cell's gates: a NaN pre-activation reaches the new state.
        const int64_t H = n;
        std::vector<T> gi(static_cast<std::size_t>(3 * H), T(0.1)), gh(gi), h(static_cast<std::size_t>(H), T(0.2));
        std::vector<T> out(static_cast<std::size_t>(H)), saved(static_cast<std::size_t>(4 * H));
        for (int64_t gate = 0; gate < 3; ++gate) {
          std::fill(gi.begin(), gi.end(), T(0.1));
          gi[static_cast<std::size_t>(gate * H + at)] = nan;
          k.gru_cell_forward(gi.data(), nullptr, gh.data(), h.data(), saved.data(), out.data(), H);
          INFO(k.name << " GRU gate " << gate << " H " << H << " NaN at " << at);
          CHECK(std::isnan(out[static_cast<std::size_t>(at)]));
        }
      }
}

}  // namespace

TEST_CASE("layer kernels: the additive-attention energy of every instruction set matches long double",
          "[vecmath]") {
  check_additive_energy_kernels<float>();
  check_additive_energy_kernels<double>();
}

TEST_CASE("layer kernels: the GRU cell row of every instruction set matches its formulas", "[vecmath]") {
  check_gru_cell_kernels<float>();
  check_gru_cell_kernels<double>();
}

TEST_CASE("layer kernels: NaN propagates through the GRU cell on every instruction set", "[vecmath][nan]") {
  check_gru_nan_propagates<float>();
  check_gru_nan_propagates<double>();
}

TEST_CASE("layer kernels: the active table is the active instruction set's", "[vecmath]") {
  CHECK(std::string(nn::detail::layer_kernels<float>().name) == vecmath::to_string(vecmath::active_isa()));
  CHECK(std::string(nn::detail::layer_kernels<double>().name) == vecmath::to_string(vecmath::active_isa()));
}

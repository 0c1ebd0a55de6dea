// The vectorised kernels behind tanh, sigmoid, exp, dot products and layer_norm, once per
// instruction set this CPU runs (SSE2, AVX2, AVX-512) and the scalar reference set, against std::
// in long double. The ops' tests only reach the widest set; these reach the others too. (The GRU
// cell's and the additive energies' rows: test_layer_kernels.cpp.)
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>
#include <random>
#include <string>

#include <xgrad/core/detail/vecmath.hpp>
#include <xgrad/core/detail/vecmath_isa.hpp>
#include "helpers.hpp"
#include "kernel_checks.hpp"

using namespace xg;
using vecmath::Isa;

namespace {

using vecmath::Kernels;
using namespace kernel_checks;

// The reference kernels (checked here against the same formulas) and every SIMD set this CPU runs.
template <class T>
std::vector<Kernels<T>> kernels_this_cpu_runs() {
  std::vector<Kernels<T>> out;
  for (Isa isa : {Isa::Reference, Isa::Sse2, Isa::Avx2, Isa::Avx512})
    if (vecmath::cpu_runs(isa)) out.push_back(vecmath::kernels_for(isa, T()));
  return out;
}

template <class T>
void check_elementwise_kernels() {
  for (const auto& k : kernels_this_cpu_runs<T>())
    for (int64_t n : kLengths) {
      // Out to ±30 for tanh and ±120 for sigmoid: both saturate, and sigmoid clamps e^-x at 80.
      const auto x = values<T>(n, 30, 1), wide = values<T>(n, 120, 2), small = values<T>(n, 0.7, 3);
      std::vector<T> y(static_cast<std::size_t>(n));
      k.tanh(x.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) check_close<T>("tanh", k.name, n, y[i], std::tanh((long double)x[i]), 1e-3L);
      k.tanh(small.data(), y.data(), n);  // below 0.625 xsimd takes its polynomial branch
      for (int64_t i = 0; i < n; ++i)
        check_close<T>("tanh (small)", k.name, n, y[i], std::tanh((long double)small[i]), 0);
      k.sigmoid(wide.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i)
        check_close<T>("sigmoid", k.name, n, y[i], 1 / (1 + std::exp(-(long double)wide[i])), 1e-3L);
      k.exp(x.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) check_close<T>("exp", k.name, n, y[i], std::exp((long double)x[i]), 0);
    }
}

template <class T>
void check_reduction_kernels() {
  for (const auto& k : kernels_this_cpu_runs<T>())
    for (int64_t n : kLengths) {
      const auto a = values<T>(n, 1, 4), b = values<T>(n, 1, 5), q = values<T>(n, 2, 6);
      const T g = T(0.37);
      long double dot = 0, sum_abs = 0;
      for (int64_t i = 0; i < n; ++i) dot += (long double)a[i] * b[i], sum_abs += std::fabs((long double)a[i] * b[i]);
      check_sum_close<T>("dot", k.name, n, k.dot(a.data(), b.data(), n), dot, sum_abs);

      // axpy adds a·x; dot_and_axpy returns what dot does, bit for bit, and adds w·g like axpy.
      std::vector<T> y(q), y2(q);
      k.axpy(g, a.data(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) check_close<T>("axpy", k.name, n, y[i], q[i] + (long double)g * a[i]);
      const T both = k.dot_and_axpy(a.data(), b.data(), g, y2.data(), n);
      { INFO(k.name << " n " << n); CHECK(both == k.dot(a.data(), b.data(), n)); }
      for (int64_t i = 0; i < n; ++i) CHECK(y2[i] == y[i]);
    }
}

}  // namespace

TEST_CASE("vecmath: tanh, sigmoid and exp of every instruction set this CPU runs match std::", "[vecmath]") {
  check_elementwise_kernels<float>();
  check_elementwise_kernels<double>();
}

TEST_CASE("vecmath: dot, axpy and dot_and_axpy of every instruction set match long double", "[vecmath]") {
  check_reduction_kernels<float>();
  check_reduction_kernels<double>();
}

// Column sums of a (rows, cols) array added onto out: bit for bit the sums of a loop over rows
// (each column in row order), for widths around every vector width and the four-batch blocks.
template <class T>
void check_column_sums() {
  for (const auto& k : kernels_this_cpu_runs<T>())
    for (int64_t cols : kLengths)
      for (int64_t rows : {0, 1, 5, 64}) {
        const auto g = values<T>(rows * cols, 3, 20), start = values<T>(cols, 1, 21);
        std::vector<T> got(start), want(start);
        k.add_column_sums(g.data(), rows, cols, got.data());
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < cols; ++j) want[j] += g[r * cols + j];
        INFO(k.name << " rows " << rows << " cols " << cols);
        for (int64_t j = 0; j < cols; ++j) CHECK(got[j] == want[j]);
      }
}

TEST_CASE("vecmath: column sums of every instruction set equal a loop over rows, bit for bit", "[vecmath]") {
  check_column_sums<float>();
  check_column_sums<double>();
}

// layer_norm's row kernels against its formulas in long double: forward with its saved mean and
// 1/std, the input gradient written and added, the parameter gradients over a column range.
template <class T>
void check_layer_norm_kernels() {
  const double tol = sizeof(T) == 4 ? 3e-6 : 1e-13;
  for (const auto& k : kernels_this_cpu_runs<T>())
    for (int64_t c : {1, 5, 16, 17, 37, 128}) {
      const int64_t rows = 3;
      INFO(k.name << " width " << c);
      const auto x = values<T>(rows * c, 2, 30), w = values<T>(c, 1.5, 31), b = values<T>(c, 1, 32);
      const auto g = values<T>(rows * c, 1, 33);
      std::vector<T> y(static_cast<std::size_t>(rows * c));
      std::vector<double> mean(rows), rstd(rows);
      k.layer_norm_rows(x.data(), w.data(), b.data(), y.data(), rows, c, 1e-5, mean.data(), rstd.data());
      std::vector<T> dx(static_cast<std::size_t>(rows * c)), dx_added(static_cast<std::size_t>(rows * c), T(0.5));
      k.layer_norm_backward_rows(x.data(), g.data(), w.data(), mean.data(), rstd.data(), dx.data(), rows, c, false);
      k.layer_norm_backward_rows(x.data(), g.data(), w.data(), mean.data(), rstd.data(), dx_added.data(), rows, c,
                                 true);
      std::vector<T> gw(static_cast<std::size_t>(c), T(1)), gb(static_cast<std::size_t>(c), T(-1));
      const int64_t j0 = c > 4 ? 2 : 0, j1 = c > 4 ? c - 1 : c;  // a column range inside the row
      k.layer_norm_param_grads(x.data(), g.data(), mean.data(), rstd.data(), rows, c, j0, j1, gw.data(), gb.data());
      std::vector<long double> want_gw(static_cast<std::size_t>(c), 1.0L), want_gb(static_cast<std::size_t>(c), -1.0L);
      for (int64_t r = 0; r < rows; ++r) {
        long double m = 0, v = 0;
        for (int64_t j = 0; j < c; ++j) m += x[r * c + j];
        m /= c;
        for (int64_t j = 0; j < c; ++j) v += (x[r * c + j] - m) * (x[r * c + j] - m);
        v /= c;
        const long double rs = 1.0L / std::sqrt(v + 1e-5L);
        CHECK(std::fabs(static_cast<double>(mean[r] - m)) <= tol);
        CHECK(std::fabs(static_cast<double>(rstd[r] - rs)) <= tol * (1 + static_cast<double>(rs)));
        long double s1 = 0, s2 = 0;
        for (int64_t j = 0; j < c; ++j) {
          const long double xhat = (x[r * c + j] - m) * rs;
          s1 += (long double)g[r * c + j] * w[j], s2 += (long double)g[r * c + j] * w[j] * xhat;
          if (j >= j0 && j < j1) want_gw[j] += g[r * c + j] * xhat, want_gb[j] += g[r * c + j];
        }
        for (int64_t j = 0; j < c; ++j) {
          const long double xhat = (x[r * c + j] - m) * rs;
          const long double want_y = w[j] * xhat + b[j];
          CHECK(std::fabs(static_cast<double>(y[r * c + j] - want_y)) <= tol * (1 + std::fabs(static_cast<double>(want_y))));
          const long double d = rs * ((long double)g[r * c + j] * w[j] - s1 / c - xhat * s2 / c);
          CHECK(std::fabs(static_cast<double>(dx[r * c + j] - d)) <= tol * 10 * (1 + std::fabs(static_cast<double>(d))));
          CHECK(std::fabs(static_cast<double>(dx_added[r * c + j] - (d + 0.5L))) <=
                tol * 10 * (1 + std::fabs(static_cast<double>(d))));
        }
      }
      for (int64_t j = 0; j < c; ++j) {
        CHECK(std::fabs(static_cast<double>(gw[j] - want_gw[j])) <= tol * 10);
        CHECK(std::fabs(static_cast<double>(gb[j] - want_gb[j])) <= tol * 10);
      }
    }
}

TEST_CASE("vecmath: layer_norm's row kernels of every instruction set match its formulas", "[vecmath]") {
  check_layer_norm_kernels<float>();
  check_layer_norm_kernels<double>();
}

TEST_CASE("vecmath: the active set is the widest the CPU reports, or the one XGRAD_KERNELS names", "[vecmath]") {
  const Isa active = vecmath::active_isa();
  CHECK(vecmath::cpu_runs(active));
  CHECK(vecmath::cpu_runs(Isa::Sse2));
  CHECK(vecmath::cpu_runs(Isa::Reference));
  const char* forced = std::getenv("XGRAD_KERNELS");
  if (forced && *forced) {
    CHECK(std::string(vecmath::to_string(active)) == forced);
  } else {
    const Isa widest = vecmath::cpu_runs(Isa::Avx512) ? Isa::Avx512 : vecmath::cpu_runs(Isa::Avx2) ? Isa::Avx2 : Isa::Sse2;
    CHECK(active == widest);
  }
  // The ops' entry point gives the active set's numbers bit for bit.
  const auto x = values<float>(37, 5, 8);
  std::vector<float> via_best(x.size()), direct(x.size());
  vecmath::best<float>().tanh(x.data(), via_best.data(), 37);
  const Kernels<float>& chosen = vecmath::kernels_for(active, 0.0f);
  CHECK(std::string(chosen.name) == vecmath::to_string(active));
  chosen.tanh(x.data(), direct.data(), 37);
  CHECK(via_best == direct);
}

TEST_CASE("vecmath: an entry's value does not depend on its place in the array", "[vecmath]") {
  // The tail of an array runs through the same SIMD code as the rest, so a GRU gate gives the
  // same bits whether its row is the batch's last or not.
  for (const auto& k : kernels_this_cpu_runs<float>()) {
    const auto x = values<float>(37, 6, 9);
    std::vector<float> whole(x.size()), one(1);
    for (auto fn : {k.tanh, k.sigmoid, k.exp}) {
      fn(x.data(), whole.data(), 37);
      for (int64_t i = 0; i < 37; ++i) {
        fn(x.data() + i, one.data(), 1);
        INFO(k.name << " entry " << i);
        CHECK(one[0] == whole[static_cast<std::size_t>(i)]);
      }
    }
    std::vector<float> in_place(x);
    k.tanh(in_place.data(), in_place.data(), 37);
    k.tanh(x.data(), whole.data(), 37);
    CHECK(in_place == whole);
  }
}

// NaN in, NaN out, at every lane position and on every instruction set: the clamps inside tanh and
// sigmoid once turned NaN into ±1 or 0/1, so a model with NaN weights translated "normally".
template <class T>
void check_nan_propagates() {
  const T nan = std::numeric_limits<T>::quiet_NaN();
  for (const auto& k : kernels_this_cpu_runs<T>())
    for (int64_t n : {1, 3, 16, 17})
      for (int64_t at = 0; at < n; ++at) {
        std::vector<T> x(static_cast<std::size_t>(n), T(0.5)), y(x.size());
        x[static_cast<std::size_t>(at)] = nan;
        for (const auto& [name, f] : {std::pair<const char*, void (*)(const T*, T*, int64_t)>{"tanh", k.tanh},
                                      {"sigmoid", k.sigmoid}, {"exp", k.exp}}) {
          f(x.data(), y.data(), n);
          INFO(k.name << " " << name << " n " << n << " NaN at " << at);
          CHECK(std::isnan(y[static_cast<std::size_t>(at)]));
          for (int64_t i = 0; i < n; ++i)
            if (i != at) CHECK(std::isfinite(y[static_cast<std::size_t>(i)]));
        }
      }
}

TEST_CASE("vecmath: NaN propagates through tanh, sigmoid and exp on every instruction set", "[vecmath][nan]") {
  check_nan_propagates<float>();
  check_nan_propagates<double>();
}

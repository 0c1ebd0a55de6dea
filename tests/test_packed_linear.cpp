// PackedLinear: linear() through xgrad's own float32 product kernel with the weight laid out once.
#include <string>
#include <thread>
#include <tuple>

#include <xgrad/core/detail/packed_gemm.hpp>
#include <xgrad/core/detail/packed_linear.hpp>
#include "helpers.hpp"

using namespace xg;
using xg::detail::PackedLinear;
using namespace xgtest;
using Catch::Matchers::Contains;

namespace {
// y = x wᵀ + b in float64 from the same float32 values: the independent reference.
std::vector<double> reference_linear(const Tensor& x, const Tensor& w, const Tensor& b) {
  const auto xv = x.to_vector(), wv = w.to_vector();
  const auto bv = b.defined() ? b.to_vector() : std::vector<double>();
  const int64_t in = w.shape()[1], out = w.shape()[0], rows = x.numel() / in;
  std::vector<double> y(static_cast<std::size_t>(rows * out));
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < out; ++j) {
      double s = bv.empty() ? 0.0 : bv[j];
      for (int64_t k = 0; k < in; ++k) s += xv[r * in + k] * wv[j * in + k];
      y[r * out + j] = s;
    }
  return y;
}

Tensor f32(const Shape& shape, double a, double offset) { return seq(shape, a, 1.0, offset, DType::Float32); }

struct Grads {
  Tensor y;
  std::vector<double> x, w, b;
};
// Output and gradients of sum(y ⊙ r) for r fixed, through PackedLinear or linear.
Grads run(bool packed, const Shape& x_shape, int64_t out, bool with_bias) {
  const int64_t in = x_shape.back();
  Tensor x = leaf(f32(x_shape, 0.37, 0.1)), w = leaf(f32({out, in}, 0.53, 0.7));
  Tensor b = with_bias ? leaf(f32({out}, 0.91, 1.3)) : Tensor();
  const Tensor y = packed ? PackedLinear(w, b)(x) : linear(x, w, b);
  Shape y_shape = x_shape;
  y_shape.back() = out;
  sum(y * f32(y_shape, 0.29, 2.0)).backward();
  return {y, x.grad().to_vector(), w.grad().to_vector(), with_bias ? b.grad().to_vector() : std::vector<double>()};
}
// PackedLinear's output against the float64 reference and its gradients against linear()'s (tol:
// relative, for the output and the input gradient, whose sums run over `in` and `out` terms).
void check_against_linear(int64_t rows, int64_t in, int64_t out, bool with_bias, double tol) {
  const Grads p = run(true, {rows, in}, out, with_bias), l = run(false, {rows, in}, out, with_bias);
  Tensor x = f32({rows, in}, 0.37, 0.1), w = f32({out, in}, 0.53, 0.7);
  require_close(p.y, reference_linear(x, w, with_bias ? f32({out}, 0.91, 1.3) : Tensor()), tol);
  require_close(p.x, l.x, tol);
  require_close(p.w, l.w, 1e-6);  // the weight gradient takes the same BLAS path: equal
  require_close(p.b, l.b, 1e-6);
}
}  // namespace

TEST_CASE("PackedLinear equals linear in values and gradients, every block edge", "[linear][packed]") {
  if (!packed_gemm::available()) {
    WARN("this CPU has no AVX-512F: PackedLinear is plain linear() here, and its kernel is not tested");
    return;
  }
  // Rows around the 8-row block, columns around the 32-column panel, depths from 1.
  for (int64_t rows : {1, 7, 8, 9, 64, 70})
    for (int64_t out : {1, 31, 32, 33, 100})
      for (int64_t in : {1, 5, 64})
        for (bool with_bias : {false, true}) {
          INFO("rows " << rows << " out " << out << " in " << in << " bias " << with_bias);
          check_against_linear(rows, in, out, with_bias, 2e-6);
        }
  // Leading axes (B, T, in) as a transformer's projections have them.
  // Both sides float32 with other summation orders (OpenBLAS's kernel depends on the CPU: on an AMD
  // EPYC one element of depth 40 differed by 2.2e-6); a wrong product is off by the values themselves.
  const Grads p = run(true, {3, 5, 40}, 48, true), l = run(false, {3, 5, 40}, 48, true);
  require_close(p.y, l.y.to_vector(), 1e-5);
  require_close(p.x, l.x, 1e-5);
  CHECK(p.y.shape() == Shape{3, 5, 48});
}

TEST_CASE("PackedLinear over several row blocks and depth blocks equals linear", "[linear][packed]") {
  if (!packed_gemm::available()) return;
  // multiply() walks rows in blocks of about 128 KB of x and the depth in steps of 256: rows
  // past several blocks, depths past one and two steps (with and without a bias to start from).
  for (const auto& [rows, in, out] : {std::tuple<int64_t, int64_t, int64_t>{300, 300, 40}, {130, 600, 33},
                                      {1000, 128, 64}, {97, 513, 70}})
    for (bool with_bias : {false, true}) {
      INFO("rows " << rows << " in " << in << " out " << out << " bias " << with_bias);
      check_against_linear(rows, in, out, with_bias, 1e-5);
    }
}

TEST_CASE("PackedLinear gives the same bits on 1 and 2 threads and counts its flops", "[linear][packed]") {
  if (!packed_gemm::available()) return;
  const int saved = num_threads();
  const Tensor x = f32({64, 256}, 0.37, 0.1), w = f32({768, 256}, 0.53, 0.7), b = f32({768}, 0.91, 1.3);
  const PackedLinear p(w, b);
  set_num_threads(1);
  const uint64_t before = matrix_product_flops();
  const std::vector<double> one = p(x).to_vector();
  CHECK(matrix_product_flops() - before == 2ull * 64 * 768 * 256);
  set_num_threads(2);
  const std::vector<double> two = p(x).to_vector();
  set_num_threads(saved);
  CHECK(one == two);
}

TEST_CASE("PackedLinear: float64 and a disabled kernel fall back to linear()", "[linear][packed][gradcheck]") {
  const Tensor x = seq({4, 6}, 0.3), w = seq({5, 6}, 0.8), b = seq({5}, 1.1);
  const PackedLinear p64(w, b);
  CHECK_FALSE(p64.packed());
  require_close(p64(x), linear(x, w, b).to_vector(), 0.0);
  require_gradcheck([](const std::vector<Tensor>& v) { return PackedLinear(v[1], v[2])(v[0]); },
                    {leaf(x), leaf(w), leaf(b)});

  packed_gemm::set_enabled(false);
  const Tensor x32 = f32({9, 33}, 0.37, 0.1), w32 = f32({40, 33}, 0.53, 0.7);
  const PackedLinear off(w32);
  const std::vector<double> unpacked = off(x32).to_vector();
  packed_gemm::set_enabled(true);
  CHECK_FALSE(off.packed());
  CHECK(unpacked == linear(x32, w32).to_vector());
}

TEST_CASE("packed_gemm: starting from C accumulates into it", "[linear][packed]") {
  if (!packed_gemm::available()) return;
  for (const auto& [m, k, n] : {std::tuple<int64_t, int64_t, int64_t>{10, 7, 35}, {300, 520, 40}}) {
  INFO("m " << m << " k " << k << " n " << n);
  const std::vector<double> av = seq({m, k}, 0.4).to_vector(), bv = seq({k, n}, 0.6).to_vector();
  std::vector<float> a(av.begin(), av.end()), b(bv.begin(), bv.end()), c(static_cast<std::size_t>(m * n), 1.5f);
  const auto panels = packed_gemm::Panels::of_plain(b.data(), k, n);
  panels.multiply(a.data(), k, m, c.data(), n, c.data(), n);
  std::vector<double> got(c.begin(), c.end()), expected(static_cast<std::size_t>(m * n), 1.5);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      for (int64_t kk = 0; kk < k; ++kk) expected[i * n + j] += av[i * k + kk] * bv[kk * n + j];
  require_close(got, expected, 2e-5);
  }
}

TEST_CASE("PackedLinear rejects mismatched shapes with both of them in the message", "[linear][packed][errors]") {
  const Tensor w = f32({8, 5}, 0.5, 0.0);
  const PackedLinear p(w);
  CHECK_THROWS_WITH(p(f32({3, 4}, 0.5, 0.0)), Contains("[3, 4]") && Contains("[8, 5]"));
  CHECK_THROWS_WITH(PackedLinear(w, f32({7}, 0.5, 0.0)), Contains("[7]") && Contains("[8, 5]"));
  CHECK_THROWS_WITH(PackedLinear(f32({8}, 0.5, 0.0)), Contains("linear: weight [8]"));
  CHECK_THROWS_WITH(PackedLinear()(w), Contains("linear: used before"));
  CHECK_THROWS_AS(p(seq({3, 5})), Error);  // float64 input, float32 weight
}

TEST_CASE("FixedWeightsGuard: Linear lays out its weight once per scope and never uses a stale layout",
          "[linear][packed][nn]") {
  CHECK(FixedWeightsGuard::scope_id() == 0);
  nn::Linear layer(33, 40);
  const Tensor x = f32({9, 33}, 0.37, 0.1);
  const std::vector<double> outside = layer.forward(x).to_vector();
  uint64_t first_scope = 0;
  {
    FixedWeightsGuard fixed;
    first_scope = FixedWeightsGuard::scope_id();
    CHECK(first_scope != 0);
    {
      FixedWeightsGuard nested;  // nested guards share the outer scope
      CHECK(FixedWeightsGuard::scope_id() == first_scope);
    }
    CHECK(FixedWeightsGuard::scope_id() == first_scope);
    require_close(layer.forward(x), outside, 2e-6);
    // A weight tensor replaced inside the scope (loading, a dtype change) is laid out again.
    layer.weight = f32({40, 33}, 0.11, 0.4);
    require_close(layer.forward(x), reference_linear(x, layer.weight, layer.bias), 2e-6);
  }
  CHECK(FixedWeightsGuard::scope_id() == 0);
  // Changed in place between scopes (an optimizer step): the next scope lays it out again.
  {
    NoGradGuard no_grad;
    layer.weight.copy_(layer.weight * 2.0);
  }
  const std::vector<double> changed = reference_linear(x, layer.weight, layer.bias);
  require_close(layer.forward(x), changed, 2e-6);
  FixedWeightsGuard again;
  CHECK(FixedWeightsGuard::scope_id() != first_scope);
  require_close(layer.forward(x), changed, 2e-6);
  // Gradients inside a scope are those of linear().
  Tensor xl = leaf(f32({9, 33}, 0.37, 0.1));
  sum(layer.forward(xl)).backward();
  const std::vector<double> grad_in_scope = xl.grad().to_vector();
  Tensor xr = leaf(f32({9, 33}, 0.37, 0.1));
  sum(linear(xr, layer.weight, layer.bias)).backward();
  require_close(grad_in_scope, xr.grad().to_vector(), 2e-6);
}

// Run under ThreadSanitizer too (make tsan): decoding threads share one model and its layouts.
TEST_CASE("FixedWeightsGuard joined from other threads: one scope, and their products are right",
          "[linear][packed][threads]") {
  nn::Linear layer(33, 40);
  const Tensor x = f32({9, 33}, 0.37, 0.1);
  const std::vector<double> expected = reference_linear(x, layer.weight, layer.bias);
  FixedWeightsGuard fixed;
  const uint64_t scope = FixedWeightsGuard::scope_id();
  constexpr int kThreads = 4;
  std::vector<std::vector<double>> got(kThreads);
  std::vector<uint64_t> scopes(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      NoGradGuard no_grad;
      FixedWeightsGuard joined(scope);
      scopes[i] = FixedWeightsGuard::scope_id();
      for (int rep = 0; rep < 20; ++rep) got[i] = layer.forward(x).to_vector();
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kThreads; ++i) {
    CHECK(scopes[i] == scope);
    require_close(got[i], expected, 2e-6);
  }
  uint64_t own = 0;
  std::thread([&] {
    FixedWeightsGuard opened(0);  // nothing to join: a scope of its own
    own = FixedWeightsGuard::scope_id();
  }).join();
  CHECK(own != 0);
  CHECK(own != scope);
}

// linear_cross_entropy: the output projection and the loss fused, in chunks of rows, against the
// composed linear + cross_entropy (values and every gradient), a float64 gradient check, and errors.
#include "helpers.hpp"

using namespace xg;
using Catch::Matchers::Contains;

namespace {
struct Grads {
  double loss;
  std::vector<double> dx, dw, db;
};
template <class Loss>
Grads run(Loss loss, Tensor x, Tensor w, Tensor b) {
  for (Tensor* t : {&x, &w, &b})
    if (t->defined()) t->zero_grad();
  const Tensor l = loss(x, w, b);
  l.backward();
  auto values = [](const Tensor& t) { return t.defined() && t.grad().defined() ? t.grad().to_vector() : std::vector<double>{}; };
  return {l.item(), values(x), values(w), values(b)};
}
}  // namespace

TEST_CASE("linear_cross_entropy equals linear then cross_entropy, in any chunking", "[loss][fused]") {
  constexpr int64_t B = 2, T = 5, D = 6, V = 11;
  const Tensor x = xgtest::leaf(xgtest::seq({B, T, D}, 0.37));
  const Tensor w = xgtest::leaf(xgtest::seq({V, D}, 0.61, 0.8, 0.2));
  const Tensor b = xgtest::leaf(xgtest::seq({V}, 0.29, 0.5));
  const Tensor targets = Tensor::from_ints({3, 0, 10, -100, 7, 1, 1, -100, -100, 4}, {B, T});
  for (const double smoothing : {0.0, 0.1}) {
    for (const bool with_bias : {true, false}) {
      const Tensor bias = with_bias ? b : Tensor();
      const Grads composed = run([&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
        return cross_entropy(linear(xx, ww, bb), targets, -100, smoothing);
      }, x, w, bias);
      for (const int64_t chunk : {int64_t{0}, int64_t{1}, int64_t{3}, int64_t{10}, int64_t{64}}) {
        INFO("smoothing " << smoothing << ", bias " << with_bias << ", chunk " << chunk);
        const Grads fused = run([&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
          return linear_cross_entropy(xx, ww, bb, targets, -100, smoothing, chunk);
        }, x, w, bias);
        CHECK(fused.loss == Approx(composed.loss).epsilon(1e-12));
        xgtest::require_close(fused.dx, composed.dx, 1e-11);
        xgtest::require_close(fused.dw, composed.dw, 1e-11);
        xgtest::require_close(fused.db, composed.db, 1e-11);
      }
    }
  }
  xgtest::require_gradcheck([&](const std::vector<Tensor>& p) {
    return linear_cross_entropy(p[0], p[1], p[2], targets, -100, 0.1, 3);
  }, {x, w, b});
}

TEST_CASE("linear_cross_entropy in float32 matches the composed ops, all rows ignored gives zeros", "[loss][fused]") {
  const Tensor x = xgtest::leaf(xgtest::seq({40, 16}, 0.41, 1.0, 0.0, DType::Float32));
  const Tensor w = xgtest::leaf(xgtest::seq({300, 16}, 0.23, 0.3, 0.1, DType::Float32));
  const Tensor b = xgtest::leaf(xgtest::seq({300}, 0.17, 0.2, 0.0, DType::Float32));
  std::vector<int64_t> t(40);
  for (int i = 0; i < 40; ++i) t[static_cast<std::size_t>(i)] = i % 7 == 0 ? 0 : (i * 37) % 300;
  const Grads composed = run([&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
    return cross_entropy(linear(xx, ww, bb), t, 0, 0.1);
  }, x, w, b);
  const Grads fused = run([&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
    return linear_cross_entropy(xx, ww, bb, t, 0, 0.1, 7);
  }, x, w, b);
  CHECK(fused.loss == Approx(composed.loss).epsilon(1e-6));
  xgtest::require_close(fused.dx, composed.dx, 1e-5);
  xgtest::require_close(fused.dw, composed.dw, 1e-5);
  xgtest::require_close(fused.db, composed.db, 1e-5);

  const Grads none = run([&](const Tensor& xx, const Tensor& ww, const Tensor& bb) {
    return linear_cross_entropy(xx, ww, bb, std::vector<int64_t>(40, 0), 0);
  }, x, w, b);
  CHECK(none.loss == 0.0);
  CHECK(none.dw == std::vector<double>(300 * 16, 0.0));
}

TEST_CASE("linear_cross_entropy: errors name the op and the shapes", "[loss][fused]") {
  const Tensor x = zeros({2, 3, 4}), w = zeros({5, 4});
  CHECK_THROWS_WITH(linear_cross_entropy(x, w, Tensor(), Tensor::from_ints({1, 2}, {2})),
                    Contains("targets [2] for input [2, 3, 4]"));
  CHECK_THROWS_WITH(linear_cross_entropy(x, zeros({5, 3}), Tensor(), std::vector<int64_t>(6, 0)),
                    Contains("linear_cross_entropy") && Contains("[5, 3]"));
  CHECK_THROWS_WITH(linear_cross_entropy(x, w, Tensor(), std::vector<int64_t>(6, 5)), Contains("target 5 at row 0"));
  CHECK_THROWS_WITH(linear_cross_entropy(x, w, zeros({4}), std::vector<int64_t>(6, 0)), Contains("bias [4]"));
}

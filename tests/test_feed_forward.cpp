// feed_forward: the transformer's feed-forward block as one op, against the composed ops.
#include <tuple>

#include <xgrad/core/detail/packed_gemm.hpp>
#include <xgrad/core/detail/packed_linear.hpp>
#include "helpers.hpp"
#include <xgrad/nn/nn.hpp>

using namespace xg;
using xg::detail::PackedLinear;
using namespace xgtest;
using Catch::Matchers::Contains;

namespace {
Tensor f32(const Shape& shape, double a, double offset) { return seq(shape, a, 1.0, offset, DType::Float32); }

struct Run {
  std::vector<double> y, x, w1, b1, w2, b2;
};
// Output and gradients of sum(y ⊙ r) through feed_forward (fused) or relu/mul/linear (composed),
// from float32 values, computed in `dtype` (float64: the reference).
Run run(bool fused, const Shape& x_shape, int64_t hidden, int64_t out, bool biases, const Tensor& multipliers_f32,
        DType dtype = DType::Float32) {
  const int64_t in = x_shape.back();
  const auto make = [&](const Shape& shape, double a, double offset) { return leaf(f32(shape, a, offset).to(dtype)); };
  Tensor x = make(x_shape, 0.37, 0.1), w1 = make({hidden, in}, 0.53, 0.7), w2 = make({out, hidden}, 0.29, 0.4);
  Tensor b1 = biases ? make({hidden}, 0.91, 1.3) : Tensor(), b2 = biases ? make({out}, 0.61, 0.2) : Tensor();
  const Tensor multipliers = multipliers_f32.defined() ? multipliers_f32.to(dtype) : Tensor();
  Tensor y;
  if (fused) {
    y = detail::feed_forward(x, PackedLinear(w1, b1), PackedLinear(w2, b2), multipliers);
  } else {
    Tensor h = relu(linear(x, w1, b1));
    if (multipliers.defined()) h = h * multipliers;
    y = linear(h, w2, b2);
  }
  Shape y_shape = x_shape;
  y_shape.back() = out;
  sum(y * f32(y_shape, 0.83, 2.0).to(dtype)).backward();
  const auto grad = [](const Tensor& t) { return t.defined() ? t.grad().to_vector() : std::vector<double>(); };
  return {y.to_vector(), grad(x), grad(w1), grad(b1), grad(w2), grad(b2)};
}
}  // namespace

TEST_CASE("feed_forward equals linear, relu, dropout's multipliers and linear, values and gradients",
          "[feed_forward][packed]") {
  if (!packed_gemm::available()) WARN("no AVX-512F: feed_forward composes the ops here; only that path is tested");
  manual_seed(5);
  for (const auto& [rows, in, hidden, out] : {std::tuple<int64_t, int64_t, int64_t, int64_t>{1, 5, 33, 7},
                                              {7, 16, 64, 16}, {70, 64, 100, 48}, {300, 128, 512, 128}})
    for (bool biases : {false, true})
      for (bool drops : {false, true}) {
        INFO("rows " << rows << " in " << in << " hidden " << hidden << " out " << out << " biases " << biases
                     << " dropout " << drops);
        const Tensor m = drops ? dropout_multipliers({rows, hidden}, 0.3, DType::Float32) : Tensor();
        // Both float32 paths against the float64 composition: sums over up to 512 terms that
        // cancel (a weight gradient of 0.85 from 300 rows of terms near 1) are off by up to ~2e-5
        // in float32 either way on a Xeon, up to 8.5e-5 with OpenBLAS's kernels on an AMD EPYC; a
        // wrong mask or product would be off by the values themselves.
        const Run f = run(true, {rows, in}, hidden, out, biases, m), c = run(false, {rows, in}, hidden, out, biases, m);
        const Run ref = run(false, {rows, in}, hidden, out, biases, m, DType::Float64);
        for (const Run* r : {&f, &c}) {
          require_close(r->y, ref.y, 2e-4);
          require_close(r->x, ref.x, 2e-4);
          require_close(r->w1, ref.w1, 2e-4);
          require_close(r->b1, ref.b1, 2e-4);
          require_close(r->w2, ref.w2, 2e-4);
          require_close(r->b2, ref.b2, 2e-4);
        }
      }
  // Leading axes (B, T, D), as a transformer has them.
  const Run f = run(true, {3, 5, 16}, 40, 16, true, Tensor()), c = run(false, {3, 5, 16}, 40, 16, true, Tensor());
  require_close(f.y, c.y, 1e-5);
  require_close(f.x, c.x, 1e-5);
}

TEST_CASE("feed_forward: float64 gradients by finite differences, with dropout's multipliers",
          "[feed_forward][gradcheck]") {
  // seq values avoid pre-activations within the finite-difference step of 0 (ReLU's kink).
  const Tensor m = seq({4, 6}, 1.7, 1.0, 0.3) + 1.5;
  require_gradcheck(
      [&](const std::vector<Tensor>& v) { return feed_forward(v[0], v[1], v[2], v[3], v[4], m); },
      {leaf(seq({4, 3}, 0.7)), leaf(seq({6, 3}, 0.3)), leaf(seq({6}, 0.9, 1.0, 0.4)), leaf(seq({2, 6}, 0.5)),
       leaf(seq({2}, 1.1))});
}

TEST_CASE("feed_forward: the input's gradient adds onto one already there", "[feed_forward][packed]") {
  // x also feeds a residual addition, whose gradient reaches x first: the block's input
  // gradient is added in place (GradSink::partial).
  const Tensor x = leaf(f32({9, 8}, 0.37, 0.1)), w1 = f32({20, 8}, 0.53, 0.7), w2 = f32({8, 20}, 0.29, 0.4);
  const Tensor r = f32({9, 8}, 0.83, 2.0);
  sum((x + detail::feed_forward(x, PackedLinear(w1), PackedLinear(w2))) * r).backward();
  const Tensor xc = leaf(f32({9, 8}, 0.37, 0.1));
  sum((xc + linear(relu(linear(xc, w1)), w2)) * r).backward();
  require_close(x.grad(), xc.grad().to_vector(), 1e-5);
}

TEST_CASE("feed_forward rejects mismatched shapes and names them", "[feed_forward][errors]") {
  const Tensor x = f32({4, 8}, 0.3, 0.0), w1 = f32({16, 8}, 0.5, 0.0), w2 = f32({8, 16}, 0.7, 0.0);
  CHECK_THROWS_WITH(detail::feed_forward(f32({4, 7}, 0.3, 0.0), PackedLinear(w1), PackedLinear(w2)),
                    Contains("[4, 7]") && Contains("[16, 8]"));
  CHECK_THROWS_WITH(detail::feed_forward(x, PackedLinear(w1), PackedLinear(f32({8, 15}, 0.7, 0.0))),
                    Contains("[8, 15]") && Contains("[16, 8]"));
  CHECK_THROWS_WITH(detail::feed_forward(x, PackedLinear(w1), PackedLinear(w2), f32({4, 15}, 0.1, 0.0)),
                    Contains("[4, 15]") && Contains("[4, 16]"));
}

TEST_CASE("nn::FeedForward as one op equals its layers composed, dropout included", "[feed_forward][nn]") {
  nn::FeedForward ff(16, 48, 0.25);
  const Tensor x = f32({2, 5, 16}, 0.37, 0.1);
  for (bool training : {false, true}) {
    INFO("training " << training);
    training ? ff.train() : ff.eval();
    manual_seed(11);
    const std::vector<double> fused = ff.forward(x).to_vector();
    manual_seed(11);
    const Tensor composed =
        ff.linear2->forward(ff.dropout->forward(relu(ff.linear1->forward(x))));
    require_close(fused, composed.to_vector(), 1e-5);
  }
}

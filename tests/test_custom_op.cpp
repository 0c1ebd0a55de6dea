// The CustomOp extension point: a user op with its own backward joins the graph.
#include "helpers.hpp"

using namespace xg;
using Catch::Matchers::Contains;

namespace {
// f(x, y; k) = k * x * y with a hand-written backward.
struct ScaledProduct : CustomOp<ScaledProduct> {
  static const char* name() { return "scaled_product"; }
  static Tensor forward(OpContext& ctx, const Tensor& x, double k, const Tensor& y) {
    ctx.save_for_backward({x, y});
    ctx.values["k"] = k;
    return x * y * k;
  }
  static std::vector<Tensor> backward(OpContext& ctx, const Tensor& g) {
    const double k = ctx.values["k"];
    return {g * ctx.saved[1] * k, g * ctx.saved[0] * k};
  }
};
struct WrongShapeOp : CustomOp<WrongShapeOp> {
  static const char* name() { return "wrong_shape"; }
  static Tensor forward(OpContext&, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(OpContext&, const Tensor& g) { return {sum(g, {0})}; }  // (2,3) -> (3): wrong
};
struct BrokenOp : CustomOp<BrokenOp> {
  static Tensor forward(OpContext&, const Tensor& x) { return x * 2.0; }
  static std::vector<Tensor> backward(OpContext&, const Tensor&) { return {}; }
};
}  // namespace

TEST_CASE("CustomOp: gradients, naming and a wrong gradient count", "[custom]") {
  const Tensor x = xgtest::leaf(xgtest::seq({2, 3})), y = xgtest::leaf(xgtest::seq({3}, 0.4));
  xgtest::require_gradcheck([](const std::vector<Tensor>& v) { return ScaledProduct::apply(v[0], 1.5, v[1]); }, {x, y});
  const Tensor out = ScaledProduct::apply(x, 2.0, y);
  CHECK(out.grad_fn()->name == "scaled_product");
  xgtest::require_close(out, (x * y * 2.0).to_vector(), 1e-12);
  Tensor z = BrokenOp::apply(x);
  CHECK_THROWS_WITH(sum(z).backward(), Contains("custom_op") && Contains("0 gradients for 1"));
  // A gradient that cannot be summed down to its input: the op's name and both shapes.
  CHECK_THROWS_WITH(sum(WrongShapeOp::apply(x)).backward(),
                    Contains("wrong_shape: backward returned a gradient of shape [3] for tensor input 0 of shape [2, 3]"));
  // One that can (broadcast over a leading axis) is summed, as a broadcasting op's gradient is.
  CHECK(sums_down_to({4, 2, 3}, {2, 3}));
  CHECK(sums_down_to({2, 3}, {1, 3}));
  CHECK_FALSE(sums_down_to({3}, {2, 3}));
  CHECK_FALSE(sums_down_to({2, 4}, {2, 3}));
}

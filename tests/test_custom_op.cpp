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
}

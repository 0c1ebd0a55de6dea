// Writing your own layer: a gated linear unit (Dauphin et al. 2017), GLU(a, b) = a ⊙ σ(b), where
// the input's last axis is split into halves a and b. The op has a hand-written, fused backward
// (xg::CustomOp); the layer around it is an ordinary Module. The program checks the gradient
// by finite differences and trains the layer on a toy regression.
#include <cmath>
#include <cstdio>
#include <xgrad/xgrad.hpp>

using namespace xg;

// The op: forward and backward side by side.
struct GluOp : CustomOp<GluOp> {
  static const char* name() { return "glu"; }
  static Tensor forward(OpContext& ctx, const Tensor& x) {  // (..., 2C) -> (..., C)
    if (x.dim() < 1 || x.shape().back() % 2 != 0)
      throw ShapeError("glu: the last axis of " + shape_str(x.shape()) + " must be even");
    const int64_t c = x.shape().back() / 2;
    auto halves = split(x, {c, c}, -1);
    const Tensor gate = sigmoid(halves[1]);
    ctx.save_for_backward({halves[0], gate});
    return halves[0] * gate;
  }
  static std::vector<Tensor> backward(OpContext& ctx, const Tensor& grad) {
    const Tensor& a = ctx.saved[0];
    const Tensor& gate = ctx.saved[1];
    const Tensor da = grad * gate;                            // ∂/∂a = σ(b)
    const Tensor db = grad * a * gate * (1.0 - gate);         // ∂/∂b = a σ(b)(1-σ(b))
    return {concat({da, db}, -1)};
  }
};

// The layer: a Linear to 2C features, then the gate.
class GatedLinear : public nn::UnaryModule {
 public:
  GatedLinear(int64_t in, int64_t out) : UnaryModule("GatedLinear") {
    proj = register_module("proj", std::make_shared<nn::Linear>(in, 2 * out));
  }
  Tensor forward(const Tensor& x) override { return GluOp::apply(proj->forward(x)); }
  std::shared_ptr<nn::Linear> proj;
};

int main() {
  tune_runtime();  // denormals, allocator, BLAS threads (core/runtime.hpp)
  manual_seed(0);
  // 1. Gradient check of the op in float64.
  Tensor x = randn({3, 4}, DType::Float64);
  x.requires_grad_();
  const GradcheckResult check = gradcheck([](const std::vector<Tensor>& v) { return GluOp::apply(v[0]); }, {x});
  std::printf("gradcheck of glu: %s %s\n", check.ok ? "ok" : "FAILED", check.message.c_str());
  if (!check.ok) return 1;

  // 2. Train a two-layer model that uses it: y = sin(x1) * x2.
  nn::Sequential model({std::make_shared<GatedLinear>(2, 16), std::make_shared<nn::Linear>(16, 1)});
  const Tensor inputs = uniform({256, 2}, -2, 2);
  const auto iv = inputs.to_vector();
  std::vector<double> targets(256);
  for (int i = 0; i < 256; ++i) targets[i] = std::sin(iv[2 * i]) * iv[2 * i + 1];
  const Tensor y = Tensor::from_vector(targets, {256, 1});
  double first = 0, last = 0;
  for (int step = 0; step < 400; ++step) {
    Tensor loss = mean(pow(model.forward(inputs) - y, 2.0));
    model.zero_grad();
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor p : model.parameters()) p.copy_(p - p.grad() * 0.1);
    if (step == 0) first = loss.item();
    last = loss.item();
  }
  std::printf("%s", model.summary().c_str());
  std::printf("mse: %.4f -> %.4f\n", first, last);
  return last < 0.5 * first ? 0 : 1;
}

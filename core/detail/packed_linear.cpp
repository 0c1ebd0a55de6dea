#include <xgrad/core/detail/packed_linear.hpp>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/linear_parts.hpp>
#include <xgrad/core/linear.hpp>

namespace xg::detail {

using linear_parts::add_input_grad;
using linear_parts::add_parameter_grads;
using linear_parts::output_for;

PackedLinear::PackedLinear(const Tensor& weight, const Tensor& bias) : weight_(weight), bias_(bias) {
  if (weight.dim() != 2)
    throw ShapeError(fmt::format("linear: weight {} (needs (out, in))", shape_str(weight.shape())));
  linear_parts::check_bias("linear", weight, bias);
  if (weight.dtype() != DType::Float32 || !packed_gemm::available()) return;
  layout_ = std::make_shared<Layout>();
  layout_->forward = packed_gemm::Panels::of_transposed(weight.data<float>(), weight.shape()[0], weight.shape()[1]);
}

Tensor PackedLinear::operator()(const Tensor& x) const {
  if (!weight_.defined()) throw Error("linear: used before it was given a weight");
  if (!layout_ || !packed_gemm::available()) return linear(x, weight_, bias_);
  const int64_t rows = linear_parts::check("linear", x, weight_, bias_);
  const int64_t in = weight_.shape()[1], out_features = weight_.shape()[0];
  Tensor out = output_for(x, weight_);
  layout_->forward.multiply(x.data<float>(), in, rows, out.data<float>(), out_features,
                            bias_.defined() ? bias_.data<float>() : nullptr, 0);
  const Tensor xd = x.detach(), wd = weight_.detach();
  const std::shared_ptr<Layout> layout = layout_;
  return record("linear", out, {x, weight_, bias_}, [=](const Tensor& g, GradSink& sink) {
    const float* pg = g.data<float>();  // (rows, out)
    if (sink.needs(0)) {                // dx = g · W   (rows, in)
      const packed_gemm::Panels& w = layout->for_backward(wd);
      add_input_grad<float>(sink, xd, [&](float* gx, bool accumulate) {
        w.multiply(pg, out_features, rows, gx, in, accumulate ? gx : nullptr, in);
      });
    }
    add_parameter_grads(pg, xd.data<float>(), rows, out_features, in, sink, 1, 2);
  });
}

PackedLinear ScopedLayout::get(const Tensor& weight, const Tensor& bias) {
  const uint64_t scope = FixedWeightsGuard::scope_id();
  if (scope == 0) return PackedLinear(weight, bias);
  std::lock_guard<std::mutex> lock(mutex_);
  if (scope_ != scope || !packed_.weight().same(weight) || !packed_.bias().same(bias))
    packed_ = PackedLinear(weight, bias), scope_ = scope;
  return packed_;
}

}  // namespace xg::detail

#include <xgrad/core/feed_forward.hpp>

#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/linear_parts.hpp>
#include <xgrad/core/elementwise.hpp>

namespace xg {

Tensor feed_forward(const Tensor& x, const Tensor& w1, const Tensor& b1, const Tensor& w2, const Tensor& b2,
                    const Tensor& multipliers) {
  return detail::feed_forward(x, detail::PackedLinear(w1, b1), detail::PackedLinear(w2, b2), multipliers);
}

namespace detail {

Tensor feed_forward(const Tensor& x, const PackedLinear& first, const PackedLinear& second, const Tensor& multipliers) {
  if (!first.weight().defined() || !second.weight().defined())
    throw Error("feed_forward: a layer has no weight yet");
  const Tensor &w1 = first.weight(), &b1 = first.bias(), &w2 = second.weight(), &b2 = second.bias();
  const int64_t rows = linear_parts::check("feed_forward (first layer)", x, w1, b1);
  const int64_t in = w1.shape()[1], hidden_features = w1.shape()[0];
  Shape hidden_shape = x.shape();
  hidden_shape.back() = hidden_features;
  if (w2.dim() != 2 || w2.shape()[1] != hidden_features)
    throw ShapeError(fmt::format("feed_forward: second weight {} after first weight {} (needs (out, {}))",
                                 shape_str(w2.shape()), shape_str(w1.shape()), hidden_features));
  if (multipliers.defined()) {
    if (multipliers.shape() != hidden_shape)
      throw ShapeError(fmt::format("feed_forward: multipliers {} for hidden values {}", shape_str(multipliers.shape()),
                                   shape_str(hidden_shape)));
    check_same_dtype("feed_forward", x, multipliers);
  }
  if (!first.packed() || !second.packed()) {
    Tensor hidden = relu(first(x));
    if (multipliers.defined()) hidden = hidden * multipliers;
    return second(hidden);
  }
  check_same_dtype("feed_forward", x, w2);
  const int64_t out_features = w2.shape()[0];
  Shape out_shape = x.shape();
  out_shape.back() = out_features;

  Tensor hidden = Tensor::uninitialized(hidden_shape, x.dtype());  // relu(x W1ᵀ + b1) ⊙ m   (rows, F)
  first.layout()->forward.multiply(x.data<float>(), in, rows, hidden.data<float>(), hidden_features,
                                  b1.defined() ? b1.data<float>() : nullptr, 0,
                                  {packed_gemm::Finish::Kind::relu, nullptr, nullptr, 0});
  if (multipliers.defined()) {
    float* ph = hidden.data<float>();
    const float* pm = multipliers.data<float>();
    for (int64_t i = 0, n = hidden.numel(); i < n; ++i) ph[i] *= pm[i];
  }
  Tensor out = Tensor::uninitialized(out_shape, x.dtype());  // (rows, D_out)
  second.layout()->forward.multiply(hidden.data<float>(), hidden_features, rows, out.data<float>(), out_features,
                                   b2.defined() ? b2.data<float>() : nullptr, 0);

  const Tensor xd = x.detach(), w1d = w1.detach(), w2d = w2.detach(), hd = hidden.detach();
  const Tensor md = multipliers.defined() ? multipliers.detach() : Tensor();
  const auto layout1 = first.layout(), layout2 = second.layout();
  return record("feed_forward", out, {x, w1, b1, w2, b2}, [=](const Tensor& g, GradSink& sink) {
    const float* pg = g.data<float>();  // (rows, D_out)
    linear_parts::add_parameter_grads(pg, hd.data<float>(), rows, out_features, hidden_features, sink, 3, 4);
    if (!sink.needs(0) && !sink.needs(1) && !sink.needs(2)) return;
    // The hidden values' pre-activation gradient: g W2 where the hidden value is positive (times
    // dropout's multiplier), else 0, applied as each element is stored.   (rows, F)
    Tensor pre = Tensor::uninitialized(hd.shape(), hd.dtype());
    layout2->for_backward(w2d).multiply(pg, out_features, rows, pre.data<float>(), hidden_features, nullptr, 0,
                                        {packed_gemm::Finish::Kind::gate, hd.data<float>(),
                                         md.defined() ? md.data<float>() : nullptr, hidden_features});
    const float* pp = pre.data<float>();
    linear_parts::add_parameter_grads(pp, xd.data<float>(), rows, hidden_features, in, sink, 1, 2);
    if (sink.needs(0))  // dx = pre · W1   (rows, D)
      linear_parts::add_input_grad<float>(sink, xd, [&](float* gx, bool accumulate) {
        layout1->for_backward(w1d).multiply(pp, hidden_features, rows, gx, in, accumulate ? gx : nullptr, in);
      });
  });
}

}  // namespace detail
}  // namespace xg

#include "core/linear.hpp"

#include <atomic>
#include <mutex>

#include "core/autograd.hpp"
#include "core/detail/blas.hpp"
#include "core/detail/checks.hpp"
#include "core/detail/linear_parts.hpp"

namespace xg {

namespace {
void check_bias(const char* op, const Tensor& weight, const Tensor& bias) {
  if (!bias.defined()) return;
  if (bias.shape() != Shape{weight.shape()[0]})
    throw ShapeError(fmt::format("{}: bias {} for weight {}", op, shape_str(bias.shape()), shape_str(weight.shape())));
  check_same_dtype(op, weight, bias);
}

Tensor output_for(const Tensor& x, const Tensor& weight) {
  Shape out_shape = x.shape();
  out_shape.back() = weight.shape()[0];
  return Tensor::uninitialized(out_shape, x.dtype());
}

}  // namespace

namespace linear_parts {
int64_t check(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (weight.dim() != 2 || x.dim() < 1 || x.shape().back() != weight.shape()[1])
    throw ShapeError(fmt::format("{}: input {} and weight {} (needs weight (out, {}))", op, shape_str(x.shape()),
                                 shape_str(weight.shape()), x.dim() ? x.shape().back() : 0));
  check_same_dtype(op, x, weight);
  check_bias(op, weight, bias);
  return numel_of(Shape(x.shape().begin(), x.shape().end() - 1));
}
}  // namespace linear_parts
using linear_parts::add_input_grad;
using linear_parts::add_parameter_grads;

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  const int64_t rows = linear_parts::check("linear", x, weight, bias);
  const int64_t in = weight.shape()[1], out_features = weight.shape()[0];
  Tensor out = output_for(x, weight);
  dispatch(x.dtype(), [&](auto tag) {
    using T = typename decltype(tag)::type;
    T* py = out.data<T>();
    T beta = T(0);
    if (bias.defined()) {  // start from the bias, then let GEMM accumulate onto it
      const T* pb = bias.data<T>();
      for (int64_t r = 0; r < rows; ++r) std::copy(pb, pb + out_features, py + r * out_features);
      beta = T(1);
    }
    blas::gemm<T>(false, true, rows, out_features, in, T(1), x.data<T>(), in, weight.data<T>(), in,
                  beta, py, out_features);
  });
  const Tensor xd = x.detach(), wd = weight.detach();
  return record("linear", out, {x, weight, bias}, [=](const Tensor& g, GradSink& sink) {
    dispatch(g.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      const T* pg = g.data<T>();  // (rows, out)
      if (sink.needs(0))          // dx = g · W   (rows, in)
        add_input_grad<T>(sink, xd, [&](T* gx, bool accumulate) {
          blas::gemm<T>(false, false, rows, in, out_features, T(1), pg, out_features, wd.data<T>(), in,
                        accumulate ? T(1) : T(0), gx, in);
        });
      add_parameter_grads(pg, xd.data<T>(), rows, out_features, in, sink, 1, 2);
    });
  });
}

PackedLinear::PackedLinear(const Tensor& weight, const Tensor& bias) : weight_(weight), bias_(bias) {
  if (weight.dim() != 2)
    throw ShapeError(fmt::format("PackedLinear: weight {} (needs (out, in))", shape_str(weight.shape())));
  check_bias("PackedLinear", weight, bias);
  if (weight.dtype() != DType::Float32 || !packed_gemm::available()) return;
  layout_ = std::make_shared<Layout>();
  layout_->forward = packed_gemm::Panels::of_transposed(weight.data<float>(), weight.shape()[0], weight.shape()[1]);
}

Tensor PackedLinear::operator()(const Tensor& x) const {
  if (!weight_.defined()) throw Error("PackedLinear: used before it was given a weight");
  if (!layout_ || !packed_gemm::available()) return linear(x, weight_, bias_);
  const int64_t rows = linear_parts::check("PackedLinear", x, weight_, bias_);
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

namespace {
std::atomic<uint64_t> g_next_scope{1};
thread_local uint64_t t_scope = 0;
thread_local int t_depth = 0;
}  // namespace

FixedWeightsGuard::FixedWeightsGuard() {
  if (t_depth++ == 0) t_scope = g_next_scope.fetch_add(1, std::memory_order_relaxed);
}
FixedWeightsGuard::FixedWeightsGuard(uint64_t scope) {
  if (t_depth++ == 0) t_scope = scope != 0 ? scope : g_next_scope.fetch_add(1, std::memory_order_relaxed);
}
FixedWeightsGuard::~FixedWeightsGuard() {
  if (--t_depth == 0) t_scope = 0;
}
uint64_t FixedWeightsGuard::scope_id() { return t_scope; }

PackedLinear ScopedLayout::get(const Tensor& weight, const Tensor& bias) {
  const uint64_t scope = FixedWeightsGuard::scope_id();
  if (scope == 0) return PackedLinear(weight, bias);
  std::lock_guard<std::mutex> lock(mutex_);
  if (scope_ != scope || !packed_.weight().same(weight) || !packed_.bias().same(bias))
    packed_ = PackedLinear(weight, bias), scope_ = scope;
  return packed_;
}

}  // namespace xg

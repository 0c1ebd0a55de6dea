#include <xgrad/core/linear.hpp>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/blas.hpp>
#include <xgrad/core/detail/checks.hpp>
#include <xgrad/core/detail/linear_parts.hpp>

namespace xg {

namespace linear_parts {
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

int64_t check(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (weight.dim() != 2)
    throw ShapeError(fmt::format("{}: weight {} (needs (out, in))", op, shape_str(weight.shape())));
  if (x.dim() < 1 || x.shape().back() != weight.shape()[1])
    throw ShapeError(fmt::format("{}: input {} has {} features in its last axis; the weight {} takes {}", op,
                                 shape_str(x.shape()), x.dim() ? x.shape().back() : 0, shape_str(weight.shape()),
                                 weight.shape()[1]));
  check_floating(op, x);
  check_same_dtype(op, x, weight);
  check_bias(op, weight, bias);
  return numel_of(Shape(x.shape().begin(), x.shape().end() - 1));
}
}  // namespace linear_parts
using linear_parts::add_input_grad;
using linear_parts::add_parameter_grads;
using linear_parts::output_for;

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

}  // namespace xg

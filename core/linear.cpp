#include "core/linear.hpp"

#include "core/autograd.hpp"
#include "core/detail/blas.hpp"
#include "core/detail/checks.hpp"

namespace xg {

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
  if (weight.dim() != 2 || x.dim() < 1 || x.shape().back() != weight.shape()[1])
    throw ShapeError(fmt::format("linear: input {} and weight {} (needs weight (out, {}))",
                                 shape_str(x.shape()), shape_str(weight.shape()),
                                 x.dim() ? x.shape().back() : 0));
  check_same_dtype("linear", x, weight);
  const int64_t in = weight.shape()[1], out_features = weight.shape()[0];
  if (bias.defined()) {
    if (bias.shape() != Shape{out_features})
      throw ShapeError(fmt::format("linear: bias {} for weight {}", shape_str(bias.shape()),
                                   shape_str(weight.shape())));
    check_same_dtype("linear", x, bias);
  }
  const int64_t rows = numel_of(Shape(x.shape().begin(), x.shape().end() - 1));  // all leading axes
  Shape out_shape = x.shape();
  out_shape.back() = out_features;
  Tensor out = Tensor::uninitialized(out_shape, x.dtype());
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
      if (sink.needs(0)) {        // dx = g · W   (rows, in)
        Tensor gx = Tensor::uninitialized(xd.shape(), g.dtype());
        blas::gemm<T>(false, false, rows, in, out_features, T(1), pg, out_features, wd.data<T>(), in,
                      T(0), gx.data<T>(), in);
        sink.add(0, std::move(gx));
      }
      if (sink.needs(1))  // dW += gᵀ · x   (out, in)
        blas::gemm<T>(true, false, out_features, in, rows, T(1), pg, out_features, xd.data<T>(), in,
                      T(1), sink.buffer(1).data<T>(), in);
      if (sink.needs(2)) {  // db += column sums of g
        T* pgb = sink.buffer(2).data<T>();
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t j = 0; j < out_features; ++j) pgb[j] += pg[r * out_features + j];
      }
    });
  });
}

}  // namespace xg

#pragma once
// Internal: the pieces linear() and PackedLinear share with the fused feed-forward op
// (core/feed_forward.cpp): shape checks, the packed layouts, and the gradient steps.
#include <cstddef>
#include <mutex>

#include <xgrad/core/autograd.hpp>
#include <xgrad/core/detail/blas.hpp>
#include <xgrad/core/detail/packed_gemm.hpp>
#include <xgrad/core/detail/vecmath.hpp>
#include <xgrad/core/detail/packed_linear.hpp>

namespace xg {

// Wᵀ laid out for the forward product; W itself for the input gradient g · W, laid out on the
// first backward (decoding never needs it).
struct detail::PackedLinear::Layout {
  packed_gemm::Panels forward, backward;
  std::once_flag backward_once;
  const packed_gemm::Panels& for_backward(const Tensor& weight) {
    std::call_once(backward_once, [&] {
      backward = packed_gemm::Panels::of_plain(weight.data<float>(), weight.shape()[0], weight.shape()[1]);
    });
    return backward;
  }
};

namespace linear_parts {

// Shapes checked on entry to linear(), PackedLinear and feed_forward; returns the number of rows
// of x (all leading axes).
int64_t check(const char* op, const Tensor& x, const Tensor& weight, const Tensor& bias);
// A bias (out) of weight's dtype, or undefined.
void check_bias(const char* op, const Tensor& weight, const Tensor& bias);
// The uninitialised output of x (..., in) times weightᵀ: (..., out).
Tensor output_for(const Tensor& x, const Tensor& weight);

// Input 0's gradient from product(dst, accumulate): added onto the gradient it already holds when
// there is one (a GEMM with beta = 1 costs nothing extra), else written into a new tensor. The
// three projections of one layer_norm output, in a pre-LN transformer, then share one buffer
// instead of two fresh (zero-filled by OpenBLAS) products and two additions.
template <class T, class Product>
void add_input_grad(GradSink& sink, const Tensor& xd, Product product) {
  if (Tensor* sum = sink.partial(0)) return product(sum->data<T>(), true);
  Tensor gx = Tensor::uninitialized(xd.shape(), xd.dtype());
  product(gx.data<T>(), false);
  sink.add(0, std::move(gx));
}

// dW += gᵀ · x (out, in) and db += column sums of g, for the sink's inputs `weight` and `bias`.
template <class T>
void add_parameter_grads(const T* pg, const T* px, int64_t rows, int64_t out_features, int64_t in, GradSink& sink,
                         std::size_t weight, std::size_t bias) {
  if (sink.needs(weight))
    blas::gemm<T>(true, false, out_features, in, rows, T(1), pg, out_features, px, in, T(1),
                  sink.buffer(weight).data<T>(), in);
  if (sink.needs(bias)) vecmath::best<T>().add_column_sums(pg, rows, out_features, sink.buffer(bias).data<T>());
}

}  // namespace linear_parts
}  // namespace xg

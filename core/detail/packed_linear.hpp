#pragma once
// Internal: linear() through xgrad's own float32 product kernel with the weight laid out once.
#include <memory>
#include <mutex>

#include <xgrad/core/fixed_weights.hpp>
#include <xgrad/core/tensor.hpp>

namespace xg::detail {

// linear(x, weight, bias) for many products with one weight: a recurrent layer's W_hh over the
// time steps, a decoder's weights over the decoding steps. The weight is laid out once for
// xgrad's own float32 kernel (CPUs with AVX-512), instead of OpenBLAS packing it again on every
// call; a 64-row product against a 768×256 weight ran 1.5× faster that way. Elsewhere (float64,
// other CPUs) it is plain linear(). Gradients reach weight and bias exactly as through linear().
//
// The layout is a copy: build a PackedLinear where the weight stays fixed (one forward pass, one
// decoding run) and build a new one after the weight changes (an optimizer step); products with a
// stale copy would use the old values.
class PackedLinear {
 public:
  PackedLinear() = default;
  explicit PackedLinear(const Tensor& weight, const Tensor& bias = Tensor());
  Tensor operator()(const Tensor& x) const;
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  bool packed() const { return static_cast<bool>(layout_); }  // false: operator() is plain linear()

  struct Layout;
  const std::shared_ptr<Layout>& layout() const { return layout_; }

 private:
  Tensor weight_, bias_;
  std::shared_ptr<Layout> layout_;
};

// One weight's PackedLinear for the current FixedWeightsGuard scope: get() returns the layout
// made by the scope's first call (on any of its threads), or a new one outside any scope. A weight
// or bias tensor replaced since (loading, to()) is laid out again. Layers keep one per weight they
// multiply by many times in a pass (nn::Linear; the recurrent layers' W_hh).
class ScopedLayout {
 public:
  PackedLinear get(const Tensor& weight, const Tensor& bias = Tensor());

 private:
  std::mutex mutex_;
  PackedLinear packed_;
  uint64_t scope_ = 0;
};

// feed_forward (core/feed_forward.hpp) with both layers laid out. Where both are packed the ReLU
// is applied as the first product stores each element, and the backward applies ReLU's and
// dropout's mask as the product g · W2 stores the hidden gradient: no passes of their own over
// the (rows, F) hidden values. Otherwise it composes linear, relu, mul and linear.
Tensor feed_forward(const Tensor& x, const PackedLinear& first, const PackedLinear& second,
                    const Tensor& multipliers = Tensor());

}  // namespace xg::detail

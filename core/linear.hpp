#pragma once
#include <memory>
#include <mutex>

#include "core/tensor.hpp"

namespace xg {

// y = x · weightᵀ + bias, with x (..., in), weight (out, in) as PyTorch stores it, bias (out)
// or undefined. One GEMM with a transposed operand, so no transposed copy of the weight is made.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

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

 private:
  friend Tensor feed_forward(const Tensor&, const PackedLinear&, const PackedLinear&, const Tensor&);
  struct Layout;
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

// A promise, for as long as it lives on this thread, that no weight changes (decoding, evaluation):
// nn::Linear layers then lay out their weight once (PackedLinear) and reuse that layout in every
// call inside the scope, instead of packing it per call. translate_batch holds one. Guards nest;
// the layouts stay valid until the outermost one ends.
class FixedWeightsGuard {
 public:
  FixedWeightsGuard();
  // Joins `scope` (the scope_id() of a guard alive on another thread) on this thread, so that the
  // threads decoding parts of one batch share one layout per weight. The guard that opened the
  // scope must outlive this one. With scope 0 (no guard there), opens a new scope.
  explicit FixedWeightsGuard(uint64_t scope);
  ~FixedWeightsGuard();
  FixedWeightsGuard(const FixedWeightsGuard&) = delete;
  FixedWeightsGuard& operator=(const FixedWeightsGuard&) = delete;
  // 0 outside any guard; inside, a number that identifies the outermost guard (never reused).
  static uint64_t scope_id();
};

}  // namespace xg

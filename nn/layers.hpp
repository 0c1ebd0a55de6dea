#pragma once
/// \file
/// The basic layers. Initialisation follows PyTorch's defaults (stated per layer).
#include <memory>
#include <vector>

#include <xgrad/core/fixed_weights.hpp>
#include <xgrad/nn/module.hpp>

namespace xg::nn {
namespace detail {
struct LayerAccess;  ///< nn/detail/layer_access.hpp: the fast paths of other layers reach into these
}

/// y = x Wᵀ + b. W (out, in) and b (out) ~ U(-1/sqrt(in), 1/sqrt(in)), as torch.nn.Linear.
class Linear : public UnaryModule {
 public:
  Linear(int64_t in_features, int64_t out_features, bool bias = true);  ///< weights U(-1/sqrt(in), 1/sqrt(in)) as torch.nn.Linear
  /// (..., in) -> (..., out). Inside a FixedWeightsGuard the weight is prepared for the product
  /// once per scope (shared by the threads of the scope), else on every call.
  Tensor forward(const Tensor& x) override;
  std::string extra_repr() const override;
  /// Parameters: weight (out, in), bias (out) or undefined.
  ///@{
  Tensor weight, bias;
  ///@}
  /// Sizes of the input and output features.
  ///@{
  int64_t in_features, out_features;
  ///@}

 private:
  friend struct detail::LayerAccess;
  struct Prepared;
  std::shared_ptr<Prepared> prepared_;
};

/// Lookup table (V, D) ~ N(0, 1), as torch.nn.Embedding; the padding row starts at zero and
/// never receives a gradient.
class Embedding : public Module {
 public:
  Embedding(int64_t num_embeddings, int64_t dim, int64_t padding_idx = -1);  ///< rows N(0, 1) as torch.nn.Embedding; the padding row zero
  Tensor forward(const Tensor& ids);  ///< ids: int64, any shape -> ids.shape() + (D)
  Tensor forward(const std::vector<int64_t>& ids, const Shape& ids_shape);  ///< -> ids_shape + (D)
  /// linear(forward(ids, ids_shape), w, b) for w (N, D), b (N) or undefined: -> ids_shape + (N).
  /// With fewer table rows than ids, every row is projected once and the projections are looked
  /// up (V·D·N multiply-adds instead of ids·D·N, in the backward too); the same function, and the
  /// padding row still receives no gradient.
  Tensor project(const std::vector<int64_t>& ids, const Shape& ids_shape, const Tensor& w,
                 const Tensor& b = Tensor());
  /// Every row projected: linear(weight, w, b) (V, N), with the padding row's gradient held back
  /// as in forward. A decoder that looks up one token per step computes it once per sentence.
  Tensor projected_table(const Tensor& w, const Tensor& b = Tensor());
  std::string extra_repr() const override;
  Tensor weight;  ///< (num_embeddings, dim)
  /// Table size, row width, and the row that gets no gradient (-1: none).
  ///@{
  int64_t num_embeddings, dim, padding_idx;
  ///@}
};

/// Normalises the last axis; weight ones, bias zeros, as torch.nn.LayerNorm.
class LayerNorm : public UnaryModule {
 public:
  explicit LayerNorm(int64_t dim, double eps = 1e-5);  ///< normalises a last axis of size dim
  Tensor forward(const Tensor& x) override;  ///< (..., dim) -> (..., dim)
  std::string extra_repr() const override;
  /// Scale (ones) and shift (zeros), (dim) each.
  ///@{
  Tensor weight, bias;
  ///@}
  int64_t dim;  ///< the normalised axis's size
  double eps;  ///< added to the variance
};

/// Inverted dropout in training mode, identity in eval mode.
class Dropout : public UnaryModule {
 public:
  explicit Dropout(double p = 0.1);  ///< drops with probability p in training mode
  Tensor forward(const Tensor& x) override;  ///< x in eval mode; else zeros with prob. p, the rest scaled by 1/(1-p)
  std::string extra_repr() const override;
  double p;  ///< drop probability
};

/// Unary modules applied in order (torch.nn.Sequential).
class Sequential : public UnaryModule {
 public:
  Sequential() : UnaryModule("Sequential") {}
  explicit Sequential(std::vector<std::shared_ptr<UnaryModule>> layers);  ///< registered as "0", "1", ...
  Sequential& add(std::shared_ptr<UnaryModule> layer);  ///< named "0", "1", ...
  Tensor forward(const Tensor& x) override;  ///< each layer's output into the next
  std::size_t size() const { return layers_.size(); }  ///< number of layers

 private:
  std::vector<std::shared_ptr<UnaryModule>> layers_;
};

/// Activation layers, for Sequential.
class ReLU : public UnaryModule {
 public:
  ReLU() : UnaryModule("ReLU") {}
  Tensor forward(const Tensor& x) override;  ///< relu(x)
};
/// tanh as a module.
class Tanh : public UnaryModule {
 public:
  Tanh() : UnaryModule("Tanh") {}
  Tensor forward(const Tensor& x) override;  ///< tanh(x)
};
/// GELU (exact form) as a module.
class GELU : public UnaryModule {
 public:
  GELU() : UnaryModule("GELU") {}
  Tensor forward(const Tensor& x) override;  ///< gelu(x)
};

}  // namespace xg::nn

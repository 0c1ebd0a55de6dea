#pragma once
/// \file
/// Luong et al. 2015, section 3.2, local-p attention: the decoder predicts an aligned source
/// position p_t = S · sigmoid(v_pᵀ tanh(W_p h_t)) and attends only to the window [p_t - D, p_t + D],
/// with the "general" score hᵀ_t W_a h̄_s and the weights favouring positions near p_t:
///   a_t(s) = softmax_window(score(h_t, h̄_s)) · exp(-(s - p_t)² / (2σ²)),  σ = D / 2.
/// S is each sentence's own length (positions 0 … S-1, so p_t = (S - 1) · sigmoid(…)); the
/// Gaussian factor makes p_t differentiable, the window edges are not (as in the paper).
#include <xgrad/nn/attention.hpp>

namespace xg::nn {

/// Luong et al. 2015, local-p: a predicted centre p_t = S sigmoid(v_p^T tanh(W_p h_t)), general
/// scores within [p_t - D, p_t + D], weighted by a Gaussian around p_t (sigma = D/2).
class LuongLocalAttention : public SourceAttention {
 public:
  /// window: D; predictor_dim: the size of W_p's output.
  LuongLocalAttention(int64_t query_dim, int64_t key_dim, int64_t window, int64_t predictor_dim);
  Tensor project_keys(const Tensor& keys) const override;  ///< W_a h̄_s: (B, S, Dk) -> (B, S, Dq)
  AttentionOutput forward(const Tensor& query, const Tensor& projected_keys, const Tensor& values,
                          const Tensor& key_padding_mask = Tensor()) const override;
  /// The predicted centres p_t (B), each in [0, length - 1].
  Tensor centres(const Tensor& query, const Tensor& lengths_minus_one) const;
  std::string extra_repr() const override;
  int64_t window;  ///< D
  /// W_a (general score), W_p and v_p (the centre predictor).
  ///@{
  std::shared_ptr<Linear> general, predictor, predictor_v;
  ///@}
};

}  // namespace xg::nn

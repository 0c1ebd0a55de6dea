#pragma once
/// \file
/// Attention for RNN decoders: one decoder step's query over an encoded source (Bahdanau's
/// additive attention, Luong's global scores). Each returns its weights so that callers can plot
/// them. Luong's local-p attention is in nn/local_attention.hpp.
#include <memory>
#include <string>

#include <xgrad/nn/layers.hpp>
#include <xgrad/nn/scaled_dot_product.hpp>

namespace xg::nn {

/// Attention of one decoder step over an encoded source, for RNN decoders: the part of the score
/// that depends only on the source is computed once per batch (project_keys), and forward() reuses
/// it at every step. Bahdanau's additive attention and Luong's local-p attention implement it.
class SourceAttention : public Module {
 public:
  using Module::Module;  ///< constructed with a type name
  virtual Tensor project_keys(const Tensor& keys) const = 0;  ///< (B, S, Dk) -> (B, S, A)
  /// query (B, Dq); projected keys (B, S, A); values (B, S, Dv); key_padding_mask (B, S) or undefined.
  virtual AttentionOutput forward(const Tensor& query, const Tensor& projected_keys, const Tensor& values,
                                  const Tensor& key_padding_mask = Tensor()) const = 0;
};

/// Bahdanau et al. 2014, appendix A.1.2: score(s, h_i) = vᵀ tanh(W s + U h_i); U h_i is the
/// projected key.
class BahdanauAttention : public SourceAttention {
 public:
  BahdanauAttention(int64_t query_dim, int64_t key_dim, int64_t attention_dim);  ///< W (A, Dq), U (A, Dk), v (1, A)
  Tensor project_keys(const Tensor& keys) const override;  ///< (B, S, Dk) -> (B, S, A)
  AttentionOutput forward(const Tensor& query, const Tensor& projected_keys, const Tensor& values,
                          const Tensor& key_padding_mask = Tensor()) const override;
  std::string extra_repr() const override;
  /// W, U, v (no biases).
  ///@{
  std::shared_ptr<Linear> query_layer, key_layer, energy_layer;
  ///@}
};

/// Luong et al. 2015, eq. 8: dot  hᵀ_t h̄_s;  general  hᵀ_t W h̄_s;  concat  vᵀ tanh(W [h_t; h̄_s]).
class LuongAttention : public Module {
 public:
  /// Eq. 8's three score functions.
  enum class Score { Dot, General, Concat };
  LuongAttention(Score score, int64_t query_dim, int64_t key_dim, int64_t attention_dim = 0);  ///< attention_dim: concat only
  /// query (B, Dq); keys (B, S, Dk) also used as values; key_padding_mask (B, S) or undefined.
  AttentionOutput forward(const Tensor& query, const Tensor& keys,
                          const Tensor& key_padding_mask = Tensor()) const;
  std::string extra_repr() const override;
  Score score;  ///< which score
  /// W of general; W split over [h_t; h̄_s] and v of concat (null when unused).
  ///@{
  std::shared_ptr<Linear> general, concat_query, concat_key, concat_v;
  ///@}
};

}  // namespace xg::nn

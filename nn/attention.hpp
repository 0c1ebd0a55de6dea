#pragma once
// The attention family. Each returns its weights so that callers can plot them.
// Masks are tensors whose non-zero entries mean "masked" (excluded), as PyTorch's bool masks.
#include <memory>

#include "nn/layers.hpp"

namespace xg::nn {

struct AttentionOutput {
  Tensor context;  // (B, Dv) for one query step; (B, [H,] Tq, Dv) for sequence attention
  Tensor weights;  // (B, S) or (B, [H,] Tq, Tk); rows sum to 1 over unmasked keys
};

// Bahdanau et al. 2014, appendix A.1.2: score(s, h_i) = vᵀ tanh(W s + U h_i).
// U h_i does not depend on the decoder step: project_keys() computes it once per source batch,
// and forward() reuses it at every step.
class BahdanauAttention : public Module {
 public:
  BahdanauAttention(int64_t query_dim, int64_t key_dim, int64_t attention_dim);
  Tensor project_keys(const Tensor& keys) const;  // (B, S, Dk) -> (B, S, A)
  // query (B, Dq); projected keys (B, S, A); values (B, S, Dv); key_padding_mask (B, S) or undefined.
  AttentionOutput forward(const Tensor& query, const Tensor& projected_keys, const Tensor& values,
                          const Tensor& key_padding_mask = Tensor()) const;
  std::string extra_repr() const override;
  std::shared_ptr<Linear> query_layer, key_layer, energy_layer;  // W, U, v (no biases)
};

// Luong et al. 2015, eq. 8: dot  hᵀ_t h̄_s;  general  hᵀ_t W h̄_s;  concat  vᵀ tanh(W [h_t; h̄_s]).
class LuongAttention : public Module {
 public:
  enum class Score { Dot, General, Concat };
  LuongAttention(Score score, int64_t query_dim, int64_t key_dim, int64_t attention_dim = 0);
  // query (B, Dq); keys (B, S, Dk) also used as values; key_padding_mask (B, S) or undefined.
  AttentionOutput forward(const Tensor& query, const Tensor& keys,
                          const Tensor& key_padding_mask = Tensor()) const;
  std::string extra_repr() const override;
  Score score;
  std::shared_ptr<Linear> general, concat_query, concat_key, concat_v;
};

// softmax(Q Kᵀ / sqrt(d_k)) V over the last two axes: q (..., Tq, d), k (..., Tk, d), v (..., Tk, dv).
// attn_mask broadcasts to (..., Tq, Tk) (e.g. a causal (Tq, Tk) mask); key_padding_mask is
// (B, Tk) and applies to q of shape (B, Tq, d) or (B, H, Tq, d). A fully masked row gives zero
// weights and a zero context (see xg::softmax). With dropout > 0 the context uses dropped-out
// weights (as PyTorch); the returned weights are the undropped ones.
AttentionOutput scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                             const Tensor& attn_mask = Tensor(),
                                             const Tensor& key_padding_mask = Tensor(), double dropout = 0.0);

// (T, T) mask with 1 above the diagonal: position t may attend to positions <= t.
Tensor causal_mask(int64_t t, DType dtype = DType::Float32);

// Projected keys and values split into heads, (B, H, T, D/H) each: computed once and reused, for
// the encoder memory in cross-attention and the growing prefix of an incremental decoder.
struct KeyValues {
  Tensor k, v;
  int64_t length() const { return k.defined() ? k.shape()[2] : 0; }
  // Appends the positions of `more` along the time axis (an undefined cache starts empty).
  void append(const KeyValues& more);
};

// Vaswani et al. 2017, 3.2.2: separate Q, K, V projections, num_heads heads of d_model/num_heads,
// an output projection. Self-attention passes the same tensor as query, key and value.
class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(int64_t d_model, int64_t num_heads, double dropout = 0.0);
  // query (B, Tq, D), key and value (B, Tk, D); returns context (B, Tq, D), weights (B, H, Tq, Tk).
  AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const Tensor& attn_mask = Tensor(), const Tensor& key_padding_mask = Tensor());
  // The two halves of forward(): project keys and values once, then attend with any queries.
  KeyValues project_key_values(const Tensor& key, const Tensor& value);
  AttentionOutput attend(const Tensor& query, const KeyValues& kv, const Tensor& attn_mask = Tensor(),
                         const Tensor& key_padding_mask = Tensor());
  std::string extra_repr() const override;
  int64_t d_model, num_heads;
  double dropout;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;

 private:
  Tensor split_heads(const Tensor& x) const;  // (B, T, D) -> (B, H, T, D/H)
};

}  // namespace xg::nn

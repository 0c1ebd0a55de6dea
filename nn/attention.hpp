#pragma once
// The attention family. Each returns its weights so that callers can plot them.
// Masks are tensors whose non-zero entries mean "masked" (excluded), as PyTorch's bool masks.
#include <memory>
#include <string>

#include "nn/layers.hpp"
#include "nn/memory_efficient_attention.hpp"

namespace xg::nn {

struct AttentionOutput {
  Tensor context;  // (B, Dv) for one query step; (B, [H,] Tq, Dv) for sequence attention
  Tensor weights;  // (B, S) or (B, [H,] Tq, Tk); rows sum to 1 over unmasked keys
};

// Attention of one decoder step over an encoded source, for RNN decoders: the part of the score
// that depends only on the source is computed once per batch (project_keys), and forward() reuses
// it at every step. Bahdanau's additive attention and Luong's local-p attention implement it.
class SourceAttention : public Module {
 public:
  using Module::Module;
  virtual Tensor project_keys(const Tensor& keys) const = 0;  // (B, S, Dk) -> (B, S, A)
  // query (B, Dq); projected keys (B, S, A); values (B, S, Dv); key_padding_mask (B, S) or undefined.
  virtual AttentionOutput forward(const Tensor& query, const Tensor& projected_keys, const Tensor& values,
                                  const Tensor& key_padding_mask = Tensor()) const = 0;
};

// Bahdanau et al. 2014, appendix A.1.2: score(s, h_i) = vᵀ tanh(W s + U h_i); U h_i is the
// projected key.
class BahdanauAttention : public SourceAttention {
 public:
  BahdanauAttention(int64_t query_dim, int64_t key_dim, int64_t attention_dim);
  Tensor project_keys(const Tensor& keys) const override;  // (B, S, Dk) -> (B, S, A)
  AttentionOutput forward(const Tensor& query, const Tensor& projected_keys, const Tensor& values,
                          const Tensor& key_padding_mask = Tensor()) const override;
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

// Projected keys and values split into heads, (B, H_kv, T, D/H) each: computed once and reused,
// for the encoder memory in cross-attention and the growing prefix of an incremental decoder.
//
// Appending outside autograd writes the new positions into buffers with room to grow (doubling
// their capacity when full), so a decoding step copies one position, not the whole prefix (the
// concatenation was 7.7% of a transformer decode); the standard kernel reads the buffers in place
// (cached_query_attention). k() and v() then return a copy of the first T positions, made once
// per length. Appends that carry gradients concatenate, so that the graph stays intact.
class KeyValues {
 public:
  KeyValues() = default;
  KeyValues(Tensor k, Tensor v);
  bool empty() const { return length() == 0; }
  int64_t length() const { return buffered() ? length_ : k_.defined() ? k_.shape()[2] : 0; }
  int64_t batch() const { return buffered() ? k_buffer_.shape()[0] : k_.defined() ? k_.shape()[0] : 0; }
  const Tensor& k() const;  // (B, H_kv, T, dh)
  const Tensor& v() const;
  // Appends the positions of `more` along the time axis (an empty cache takes them as they are).
  void append(const KeyValues& more);
  // Keeps batch rows `rows` (reordered or repeated: beam search).
  void select_rows(const std::vector<int64_t>& rows);
  // Buffered caches: (B, H_kv, capacity, dh) storage whose first length() positions are in use.
  bool buffered() const { return k_buffer_.defined(); }
  const Tensor& key_buffer() const { return k_buffer_; }
  const Tensor& value_buffer() const { return v_buffer_; }

 private:
  mutable Tensor k_, v_;  // exact (B, H_kv, T, dh); for a buffered cache, made when asked for
  Tensor k_buffer_, v_buffer_;
  int64_t length_ = 0;    // buffered caches: positions in use
};

// Which kernel computes softmax-style attention inside MultiHeadAttention.
enum class AttentionKind {
  Standard,  // softmax over all keys; the memory-efficient tiled kernel above a length threshold
  Window,    // sliding window with global tokens (nn/window_attention.hpp); self-attention only
  Linear,    // elu+1 feature-map linear attention (nn/linear_attention.hpp); self-attention only
};
AttentionKind parse_attention_kind(const std::string& name);  // "standard", "window", "linear"
std::string to_string(AttentionKind kind);

struct AttentionConfig {
  AttentionKind kind = AttentionKind::Standard;
  // Key/value heads: 0 = num_heads (multi-head), 1 = multi-query (Shazeer 2019), a divisor of
  // num_heads in between = grouped-query (Ainslie et al. 2023): query head h reads kv head h / (H / H_kv).
  int64_t num_kv_heads = 0;
  bool rotary = false;  // rotary position embeddings on queries and keys (nn/rotary.hpp)
  int64_t window = 16, global_tokens = 0;  // Window: the band half-width and the leading global positions
  // Standard: key length from which the memory-efficient kernel replaces the plain one when no
  // attention mask and no attention dropout are in play (0: never). Its weights are not returned.
  int64_t memory_efficient_from = kMemoryEfficientFromLength;
};

// Vaswani et al. 2017, 3.2.2: separate Q, K, V projections, num_heads heads of d_model/num_heads,
// an output projection. Self-attention passes the same tensor as query, key and value.
// The kernel, the number of key/value heads and rotary positions come from AttentionConfig.
class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(int64_t d_model, int64_t num_heads, double dropout = 0.0, AttentionConfig config = {});
  // query (B, Tq, D), key and value (B, Tk, D); returns context (B, Tq, D), weights (B, H, Tq, Tk)
  // (undefined when a kernel that never forms them ran: window, linear, memory-efficient).
  // causal: query i sees keys j <= i + (Tk - Tq), i.e. queries are the last Tq positions.
  AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const Tensor& attn_mask = Tensor(), const Tensor& key_padding_mask = Tensor(),
                          bool causal = false);
  // The two halves of forward(): project keys and values once (`position`: the index of the first
  // key, for rotary embeddings), then attend with any queries; queries sit at the last Tq positions.
  KeyValues project_key_values(const Tensor& key, const Tensor& value, int64_t position = 0);
  AttentionOutput attend(const Tensor& query, const KeyValues& kv, const Tensor& attn_mask = Tensor(),
                         const Tensor& key_padding_mask = Tensor(), bool causal = false);
  std::string extra_repr() const override;
  int64_t d_model, num_heads, num_kv_heads;
  double dropout;
  AttentionConfig config;
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;

 private:
  Tensor split_heads(const Tensor& x, int64_t heads) const;  // (B, T, heads·dh) -> (B, heads, T, dh)
  Tensor expand_kv_heads(const Tensor& x) const;              // (B, H_kv, T, dh) -> (B, H, T, dh)
  Tensor attention_context(const Tensor& q, const KeyValues& kv, const Tensor& attn_mask,
                           const Tensor& key_padding_mask, bool causal, Tensor& weights);
  // forward() of the standard kernel with as many key/value heads as query heads and no rotary
  // positions: fused_attention_heads_last reads the projections where they are.
  bool attends_in_place(int64_t key_length, const Tensor& attn_mask, bool causal) const;
  AttentionOutput attend_in_place(const Tensor& query, const Tensor& key, const Tensor& value,
                                  const Tensor& attn_mask, const Tensor& key_padding_mask, bool causal);
  void check_query(const Tensor& query) const;
  void check_key_value(const Tensor& key, const Tensor& value) const;
};

}  // namespace xg::nn

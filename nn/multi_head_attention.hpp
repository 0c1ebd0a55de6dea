#pragma once
/// \file
/// Multi-head attention (Vaswani et al. 2017, 3.2.2) with grouped key/value heads, rotary
/// positions, and sliding-window or linear attention in place of the softmax over all keys.
#include <memory>
#include <string>

#include <xgrad/nn/key_values.hpp>
#include <xgrad/nn/layers.hpp>
#include <xgrad/nn/memory_efficient_attention.hpp>
#include <xgrad/nn/scaled_dot_product.hpp>

namespace xg::nn {

/// What MultiHeadAttention computes.
enum class AttentionKind {
  Standard,  ///< softmax over all keys (computed in tiles, without the weights, above a length threshold)
  Window,    ///< sliding window with global tokens (nn/window_attention.hpp); self-attention only
  Linear,    ///< elu+1 feature-map linear attention (nn/linear_attention.hpp); self-attention only
};
AttentionKind parse_attention_kind(const std::string& name);  ///< "standard", "window", "linear"
/// The name parse_attention_kind reads.
std::string to_string(AttentionKind kind);

/// What a MultiHeadAttention computes: the attention kind, key/value heads, rotary positions.
struct AttentionConfig {
  AttentionKind kind = AttentionKind::Standard;  ///< which attention
  /// Key/value heads: 0 = num_heads (multi-head), 1 = multi-query (Shazeer 2019), a divisor of
  /// num_heads in between = grouped-query (Ainslie et al. 2023): query head h reads kv head h / (H / H_kv).
  int64_t num_kv_heads = 0;
  bool rotary = false;  ///< rotary position embeddings on queries and keys (nn/rotary.hpp)
  int64_t window = 16;       ///< Window: the band half-width
  int64_t global_tokens = 0;  ///< Window: leading positions that see and are seen by all
  /// Standard: key length from which memory_efficient_attention (nn/memory_efficient_attention.hpp)
  /// computes it, when no attention mask and no attention dropout are in play (0: never). Its
  /// weights are not returned.
  int64_t memory_efficient_from = kMemoryEfficientFromLength;
};

/// Vaswani et al. 2017, 3.2.2: separate Q, K, V projections, num_heads heads of d_model/num_heads,
/// an output projection. Self-attention passes the same tensor as query, key and value.
/// What is computed, the number of key/value heads and rotary positions come from AttentionConfig;
/// how (which of the implementations of nn/detail/attention_path.hpp runs) follows from those and
/// from each call's shapes, masks and mode.
class MultiHeadAttention : public Module {
 public:
  MultiHeadAttention(int64_t d_model, int64_t num_heads, double dropout = 0.0, AttentionConfig config = {});  ///< d_model divisible by num_heads; dropout on the weights in training
  /// query (B, Tq, D), key and value (B, Tk, D); returns context (B, Tq, D), weights (B, H, Tq, Tk)
  /// (undefined where they are never formed: window, linear and memory-efficient attention).
  /// causal: query i sees keys j <= i + (Tk - Tq), i.e. queries are the last Tq positions.
  /// attn_bias: undefined or (H, Tq, Tk), added to every batch row's scaled scores (a position
  /// bias, nn/position_bias.hpp; standard attention only).
  AttentionOutput forward(const Tensor& query, const Tensor& key, const Tensor& value,
                          const Tensor& attn_mask = Tensor(), const Tensor& key_padding_mask = Tensor(),
                          bool causal = false, const Tensor& attn_bias = Tensor());
  /// The two halves of forward(): project keys and values once (`position`: the index of the first
  /// key, for rotary embeddings), then attend with any queries; queries sit at the last Tq positions.
  KeyValues project_key_values(const Tensor& key, const Tensor& value, int64_t position = 0);
  /// The second half of forward(), over projected keys and values.
  AttentionOutput attend(const Tensor& query, const KeyValues& kv, const Tensor& attn_mask = Tensor(),
                         const Tensor& key_padding_mask = Tensor(), bool causal = false,
                         const Tensor& attn_bias = Tensor());
  std::string extra_repr() const override;
  /// Model width, query heads, key/value heads.
  ///@{
  int64_t d_model, num_heads, num_kv_heads;
  ///@}
  double dropout;  ///< on the attention weights, in training
  AttentionConfig config;  ///< what it computes
  /// The four projections (with biases), as torch.nn.MultiheadAttention.
  ///@{
  std::shared_ptr<Linear> q_proj, k_proj, v_proj, out_proj;
  ///@}

 private:
  Tensor split_heads(const Tensor& x, int64_t heads) const;  ///< (B, T, heads·dh) -> (B, heads, T, dh)
  Tensor expand_kv_heads(const Tensor& x) const;              ///< (B, H_kv, T, dh) -> (B, H, T, dh)
  Tensor attention_context(const Tensor& q, const KeyValues& kv, const Tensor& attn_mask,
                           const Tensor& key_padding_mask, bool causal, const Tensor& attn_bias, Tensor& weights);
  Tensor window_context(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& key_padding_mask,
                        bool causal) const;
  /// forward() with the heads read where the projections put them (detail::AttentionPath::HeadsInPlace).
  AttentionOutput attend_in_place(const Tensor& query, const Tensor& key, const Tensor& value,
                                  const Tensor& attn_mask, const Tensor& key_padding_mask, bool causal,
                                  const Tensor& attn_bias);
  void check_bias(const Tensor& attn_bias, int64_t tq, int64_t tk) const;
  void check_query(const Tensor& query) const;
  void check_key_value(const Tensor& key, const Tensor& value) const;
};

}  // namespace xg::nn

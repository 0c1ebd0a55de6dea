#pragma once
/// \file
/// Transformer layers (Vaswani et al. 2017) with post-LN, as in the paper, or pre-LN
/// (norm_first), which trains without warm-up sensitivity; stacks add a final LayerNorm in pre-LN.
#include <functional>
#include <memory>
#include <vector>

#include <xgrad/nn/attention.hpp>
#include <xgrad/nn/position_bias.hpp>

namespace xg::nn {

/// Adds the sinusoidal table PE(pos, 2i) = sin(pos / 10000^(2i/d)), PE(pos, 2i+1) = cos(...),
/// kept as the buffer "pe" (max_len, d).
class PositionalEncoding : public UnaryModule {
 public:
  PositionalEncoding(int64_t d_model, int64_t max_len = 512);  ///< the sinusoid table for positions < max_len
  Tensor forward(const Tensor& x) override;  ///< (B, T, D) -> x + pe[:T]
  Tensor forward(const Tensor& x, int64_t offset);  ///< x + pe[offset : offset+T], for incremental decoding
  std::string extra_repr() const override;
  Tensor pe;  ///< (max_len, d_model)
  /// Width and table length.
  ///@{
  int64_t d_model, max_len;
  ///@}
};

/// A transformer layer's sizes and options (post-LN by default, as Vaswani et al. 2017).
struct TransformerConfig {
  /// Model width, heads, feed-forward width.
  ///@{
  int64_t d_model = 128, num_heads = 4, ff_dim = 512;
  ///@}
  double dropout = 0.1;  ///< after attention, feed-forward and embeddings
  bool norm_first = false;  ///< false: post-LN (the paper); true: pre-LN
  /// Self-attention's kind, kv heads and rotary positions; cross-attention takes only the kv
  /// heads (a window, linear attention or rotary angles between target and source positions have
  /// no meaning) and stays standard, so its weights can be read as an alignment.
  AttentionConfig attention;
  AttentionConfig cross_attention() const;  ///< the config for cross-attention (no rotary, standard kind)
  /// A relative position bias in every self-attention (nn/position_bias.hpp): one per stack,
  /// bidirectional in the encoder and causal in the decoder; cross-attention has none (as T5).
  PositionBiasKind position_bias = PositionBiasKind::None;
};

/// linear2(dropout(relu(linear1(x)))): the position-wise feed-forward block.
class FeedForward : public UnaryModule {
 public:
  FeedForward(int64_t d_model, int64_t ff_dim, double dropout);  ///< d_model -> ff_dim -> d_model
  Tensor forward(const Tensor& x) override;  ///< linear2(dropout(relu(linear1(x))))
  /// The two projections.
  ///@{
  std::shared_ptr<Linear> linear1, linear2;
  ///@}
  std::shared_ptr<Dropout> dropout;  ///< between them
};

/// Self-attention and feed-forward, each with a residual connection and LayerNorm.
class TransformerEncoderLayer : public Module {
 public:
  explicit TransformerEncoderLayer(const TransformerConfig& config);  ///< one layer of that config
  /// x (B, S, D); key_padding_mask (B, S) with 1 at padding; self_bias (H, S, S) or undefined;
  /// causal: position i sees positions j <= i (a decoder-only stack, nn/causal_transformer.hpp).
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask = Tensor(), const Tensor& self_bias = Tensor(),
                 bool causal = false);
  /// Causal incremental form: new positions x (B, Tn, D) after the `cache.length()` held ones,
  /// each attending to the cache and to the new positions up to itself; their keys and values
  /// join the cache. The same rows as the last Tn of forward(causal = true) over the whole
  /// sequence. key_padding_mask: (B, cached + Tn) or undefined; self_bias: (H, Tn, cached + Tn);
  /// weights (if given) receives the self-attention weights (B, H, Tn, cached + Tn).
  Tensor step(const Tensor& x, KeyValues& cache, const Tensor& key_padding_mask = Tensor(),
              const Tensor& self_bias = Tensor(), Tensor* weights = nullptr);
  TransformerConfig config;  ///< its settings
  std::shared_ptr<MultiHeadAttention> self_attn;  ///< self-attention
  std::shared_ptr<FeedForward> ff;  ///< feed-forward block
  /// LayerNorms around attention and feed-forward.
  ///@{
  std::shared_ptr<LayerNorm> norm1, norm2;
  ///@}
  /// Dropout on the two residual branches.
  ///@{
  std::shared_ptr<Dropout> dropout1, dropout2;
  ///@}

 private:
  /// The residual and normalisation structure shared by forward() and step().
  Tensor compose(const Tensor& x, const std::function<Tensor(const Tensor&)>& self_attention);
};

/// A decoder layer's output and its cross-attention weights.
struct DecoderLayerOutput {
  Tensor output;         ///< (B, T, D)
  Tensor cross_weights;  ///< (B, H, T, S)
};

/// What an incremental decoder layer keeps between steps: the keys and values of the positions
/// decoded so far (self-attention) and of the encoder memory (cross-attention, computed once).
struct DecoderLayerCache {
  KeyValues self;    ///< keys and values of the positions decoded so far
  KeyValues memory;  ///< keys and values of the encoder output
  void select(const std::vector<int64_t>& rows);  ///< reorders or repeats batch rows (beam search)
};

/// Masked self-attention, cross-attention over the encoder output, feed-forward; each with a
/// residual connection and LayerNorm.
class TransformerDecoderLayer : public Module {
 public:
  explicit TransformerDecoderLayer(const TransformerConfig& config);  ///< one layer of that config
  /// x (B, T, D), memory (B, S, D); self_mask (T, T), e.g. causal_mask(T), or causal = true
  /// (which every attention kind supports); memory_padding_mask (B, S); self_bias (H, T, T).
  DecoderLayerOutput forward(const Tensor& x, const Tensor& memory, const Tensor& self_mask,
                             const Tensor& memory_padding_mask = Tensor(),
                             const Tensor& self_padding_mask = Tensor(), bool causal = false,
                             const Tensor& self_bias = Tensor());
  DecoderLayerCache start(const Tensor& memory);  ///< a cache for step(): the memory's keys and values, no positions yet
  /// One new position x (B, 1, D) attending to the cached prefix and itself: the same result as
  /// the last row of forward() on the whole prefix, without recomputing the prefix. self_bias:
  /// (H, 1, prefix + 1), the bias row of the new position.
  DecoderLayerOutput step(const Tensor& x, DecoderLayerCache& cache, const Tensor& memory_padding_mask = Tensor(),
                          const Tensor& self_bias = Tensor());
  TransformerConfig config;  ///< its settings
  /// Masked self-attention and cross-attention.
  ///@{
  std::shared_ptr<MultiHeadAttention> self_attn, cross_attn;
  ///@}
  std::shared_ptr<FeedForward> ff;  ///< feed-forward block
  /// LayerNorms of the three sub-layers.
  ///@{
  std::shared_ptr<LayerNorm> norm1, norm2, norm3;
  ///@}
  /// Dropout on the three residual branches.
  ///@{
  std::shared_ptr<Dropout> dropout1, dropout2, dropout3;
  ///@}

 private:
  /// The residual and normalisation structure shared by forward() and step(), around the
  /// self-attention and cross-attention each of them computes its own way.
  DecoderLayerOutput compose(const Tensor& x, const std::function<Tensor(const Tensor&)>& self_attention,
                             const std::function<AttentionOutput(const Tensor&)>& cross_attention);
};

/// A stack of encoder layers (with a final LayerNorm when pre-LN) and the stack's position bias.
class TransformerEncoder : public Module {
 public:
  TransformerEncoder(const TransformerConfig& config, int64_t num_layers);  ///< num_layers layers of that config
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask = Tensor());  ///< x (B, S, D), key_padding_mask (B, S) -> (B, S, D)
  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers;  ///< registered as layers_0, layers_1, ...
  std::shared_ptr<LayerNorm> final_norm;  ///< pre-LN only
  std::shared_ptr<PositionBias> position_bias;  ///< shared by the layers; null without one
};

/// A decoder stack's output and every layer's cross-attention weights.
struct DecoderOutput {
  Tensor output;                       ///< (B, T, D)
  std::vector<Tensor> cross_weights;   ///< per layer, (B, H, T, S)
};

/// A stack of decoder layers, run over whole sequences (training) or one position at a time
/// (decoding).
class TransformerDecoder : public Module {
 public:
  TransformerDecoder(const TransformerConfig& config, int64_t num_layers);  ///< num_layers layers of that config
  /// x (B, T, D), memory (B, S, D); the masks as TransformerDecoderLayer::forward.
  DecoderOutput forward(const Tensor& x, const Tensor& memory, const Tensor& self_mask,
                        const Tensor& memory_padding_mask = Tensor(),
                        const Tensor& self_padding_mask = Tensor(), bool causal = false);
  std::vector<DecoderLayerCache> start(const Tensor& memory);  ///< one cache per layer
  /// One new position (B, 1, D) through every layer, with the caches of start().
  DecoderOutput step(const Tensor& x, std::vector<DecoderLayerCache>& caches, const Tensor& memory_padding_mask = Tensor());
  std::vector<std::shared_ptr<TransformerDecoderLayer>> layers;  ///< registered as layers_0, layers_1, ...
  std::shared_ptr<LayerNorm> final_norm;  ///< pre-LN only
  std::shared_ptr<PositionBias> position_bias;  ///< shared by the layers; null without one
};

}  // namespace xg::nn

#pragma once
/// \file
/// A decoder-only (GPT-style) transformer stack: every layer is self-attention under a causal
/// mask and a feed-forward block, with no encoder and no cross-attention. A translation model
/// built on it reads the source, a separator and the target as one sequence
/// (examples/translation/models.hpp, DecoderOnlySeq2Seq).
#include <memory>
#include <vector>

#include <xgrad/nn/transformer.hpp>

namespace xg::nn {

/// The layers of a causal stack, a final LayerNorm when pre-LN, and the stack's position bias
/// (causal: T5 buckets only look back; ALiBi's -m·(i - j)).
class CausalTransformer : public Module {
 public:
  CausalTransformer(const TransformerConfig& config, int64_t num_layers);  ///< num_layers layers of that config
  /// x (B, T, D) -> (B, T, D), position i seeing positions j <= i; key_padding_mask (B, T) with 1
  /// at padding, which may sit anywhere (a left-padded prompt: a row whose every visible key is
  /// padding gets a zero attention context).
  Tensor forward(const Tensor& x, const Tensor& key_padding_mask = Tensor());
  /// An empty cache per layer for step().
  std::vector<KeyValues> start() const { return std::vector<KeyValues>(layers.size()); }
  /// New positions x (B, Tn, D) after the ones the caches hold (a prompt, then one token at a
  /// time): the same rows as the last Tn of forward() on the whole sequence. key_padding_mask:
  /// (B, cached + Tn) or undefined. last_weights (if given) receives the last layer's
  /// self-attention weights (B, H, Tn, cached + Tn).
  Tensor step(const Tensor& x, std::vector<KeyValues>& caches, const Tensor& key_padding_mask = Tensor(),
              Tensor* last_weights = nullptr);
  std::vector<std::shared_ptr<TransformerEncoderLayer>> layers;  ///< registered as layers_0, layers_1, ...
  std::shared_ptr<LayerNorm> final_norm;  ///< pre-LN only
  std::shared_ptr<PositionBias> position_bias;  ///< shared by the layers; null without one
};

}  // namespace xg::nn

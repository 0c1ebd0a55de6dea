#include <xgrad/nn/transformer.hpp>

#include <cmath>
#include <fmt/format.h>

#include <xgrad/core/detail/packed_linear.hpp>
#include <xgrad/core/ops.hpp>
#include <xgrad/nn/detail/layer_access.hpp>

namespace xg::nn {

PositionalEncoding::PositionalEncoding(int64_t d, int64_t len)
    : UnaryModule("PositionalEncoding"), d_model(d), max_len(len) {
  std::vector<double> table(static_cast<std::size_t>(len * d));
  for (int64_t pos = 0; pos < len; ++pos)
    for (int64_t i = 0; i < d; i += 2) {
      const double angle = static_cast<double>(pos) / std::pow(10000.0, static_cast<double>(i) / static_cast<double>(d));
      table[static_cast<std::size_t>(pos * d + i)] = std::sin(angle);
      if (i + 1 < d) table[static_cast<std::size_t>(pos * d + i + 1)] = std::cos(angle);
    }
  pe = register_buffer("pe", Tensor::from_vector(table, {len, d}));
}

Tensor PositionalEncoding::forward(const Tensor& x) { return forward(x, 0); }

Tensor PositionalEncoding::forward(const Tensor& x, int64_t offset) {
  if (x.dim() != 3 || x.shape()[2] != d_model || offset < 0 || offset + x.shape()[1] > max_len)
    throw ShapeError(fmt::format("PositionalEncoding: input {} at position {} (needs (B, T, {}) within {} positions)",
                                 shape_str(x.shape()), offset, d_model, max_len));
  const Tensor p = pe.dtype() == x.dtype() ? pe : pe.to(x.dtype());
  return x + narrow(p, 0, offset, x.shape()[1]);
}

std::string PositionalEncoding::extra_repr() const { return fmt::format("d_model={}, max_len={}", d_model, max_len); }

AttentionConfig TransformerConfig::cross_attention() const {
  AttentionConfig c;
  c.num_kv_heads = attention.num_kv_heads;
  c.memory_efficient_from = attention.memory_efficient_from;
  return c;
}

FeedForward::FeedForward(int64_t d, int64_t ff_dim, double drop) : UnaryModule("FeedForward") {
  linear1 = register_module("linear1", std::make_shared<Linear>(d, ff_dim));
  linear2 = register_module("linear2", std::make_shared<Linear>(ff_dim, d));
  dropout = register_module("dropout", std::make_shared<Dropout>(drop));
}

Tensor FeedForward::forward(const Tensor& x) {
  const bool drops = dropout->is_training() && dropout->p > 0.0;
  if (drops && dropout->p >= 1.0) return linear2->forward(dropout->forward(relu(linear1->forward(x))));
  // One op: ReLU and dropout applied as the products store their results (core/feed_forward.hpp);
  // the multipliers come from the generator Dropout would draw them from, in the same order.
  Shape hidden = x.shape();
  if (!hidden.empty()) hidden.back() = linear1->out_features;
  const Tensor multipliers = drops ? dropout_multipliers(hidden, dropout->p, x.dtype()) : Tensor();
  return xg::detail::feed_forward(x, detail::LayerAccess::packed(*linear1), detail::LayerAccess::packed(*linear2), multipliers);
}

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerConfig& c)
    : Module("TransformerEncoderLayer"), config(c) {
  self_attn = register_module("self_attn", std::make_shared<MultiHeadAttention>(c.d_model, c.num_heads, c.dropout, c.attention));
  ff = register_module("ff", std::make_shared<FeedForward>(c.d_model, c.ff_dim, c.dropout));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d_model));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d_model));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(c.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(c.dropout));
}

Tensor TransformerEncoderLayer::compose(const Tensor& x, const std::function<Tensor(const Tensor&)>& self_attention) {
  auto sa = [&](const Tensor& h) { return dropout1->forward(self_attention(h)); };
  if (config.norm_first) {
    const Tensor h = x + sa(norm1->forward(x));
    return h + dropout2->forward(ff->forward(norm2->forward(h)));
  }
  const Tensor h = norm1->forward(x + sa(x));
  return norm2->forward(h + dropout2->forward(ff->forward(h)));
}

Tensor TransformerEncoderLayer::forward(const Tensor& x, const Tensor& key_padding_mask, const Tensor& self_bias,
                                        bool causal) {
  return compose(x, [&](const Tensor& h) {
    return self_attn->forward(h, h, h, Tensor(), key_padding_mask, causal, self_bias).context;
  });
}

Tensor TransformerEncoderLayer::step(const Tensor& x, KeyValues& cache, const Tensor& key_padding_mask,
                                     const Tensor& self_bias, Tensor* weights) {
  if (x.dim() != 3) throw ShapeError("TransformerEncoderLayer::step: input " + shape_str(x.shape()) + " (needs (B, Tn, D))");
  return compose(x, [&](const Tensor& h) {
    cache.append(self_attn->project_key_values(h, h, cache.length()));
    AttentionOutput a = self_attn->attend(h, cache, Tensor(), key_padding_mask, true, self_bias);
    if (weights) *weights = a.weights;
    return a.context;
  });
}

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerConfig& c)
    : Module("TransformerDecoderLayer"), config(c) {
  self_attn = register_module("self_attn", std::make_shared<MultiHeadAttention>(c.d_model, c.num_heads, c.dropout, c.attention));
  cross_attn = register_module("cross_attn", std::make_shared<MultiHeadAttention>(c.d_model, c.num_heads, c.dropout, c.cross_attention()));
  ff = register_module("ff", std::make_shared<FeedForward>(c.d_model, c.ff_dim, c.dropout));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d_model));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d_model));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(c.d_model));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(c.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(c.dropout));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(c.dropout));
}

DecoderLayerOutput TransformerDecoderLayer::compose(const Tensor& x,
                                                    const std::function<Tensor(const Tensor&)>& self_attention,
                                                    const std::function<AttentionOutput(const Tensor&)>& cross_attention) {
  Tensor cross_weights;
  auto sa = [&](const Tensor& h) { return dropout1->forward(self_attention(h)); };
  auto ca = [&](const Tensor& h) {
    AttentionOutput a = cross_attention(h);
    cross_weights = a.weights;
    return dropout2->forward(a.context);
  };
  Tensor h;
  if (config.norm_first) {
    h = x + sa(norm1->forward(x));
    h = h + ca(norm2->forward(h));
    h = h + dropout3->forward(ff->forward(norm3->forward(h)));
  } else {
    h = norm1->forward(x + sa(x));
    h = norm2->forward(h + ca(h));
    h = norm3->forward(h + dropout3->forward(ff->forward(h)));
  }
  return {h, cross_weights};
}

DecoderLayerOutput TransformerDecoderLayer::forward(const Tensor& x, const Tensor& memory, const Tensor& self_mask,
                                                    const Tensor& memory_padding_mask,
                                                    const Tensor& self_padding_mask, bool causal,
                                                    const Tensor& self_bias) {
  return compose(
      x,
      [&](const Tensor& h) {
        return self_attn->forward(h, h, h, self_mask, self_padding_mask, causal, self_bias).context;
      },
      [&](const Tensor& h) { return cross_attn->forward(h, memory, memory, Tensor(), memory_padding_mask); });
}

void DecoderLayerCache::select(const std::vector<int64_t>& rows) {
  self.select_rows(rows);
  memory.select_rows(rows);
}

DecoderLayerCache TransformerDecoderLayer::start(const Tensor& memory) {
  DecoderLayerCache c;
  c.memory = cross_attn->project_key_values(memory, memory);
  return c;
}

DecoderLayerOutput TransformerDecoderLayer::step(const Tensor& x, DecoderLayerCache& cache,
                                                 const Tensor& memory_padding_mask, const Tensor& self_bias) {
  if (x.dim() != 3 || x.shape()[1] != 1)
    throw ShapeError("TransformerDecoderLayer::step: input " + shape_str(x.shape()) + " (needs (B, 1, D))");
  return compose(
      x,
      [&](const Tensor& h) {  // the new position's keys join the cache; no mask: it sees only the past
        cache.self.append(self_attn->project_key_values(h, h, cache.self.length()));
        return self_attn->attend(h, cache.self, Tensor(), Tensor(), true, self_bias).context;
      },
      [&](const Tensor& h) { return cross_attn->attend(h, cache.memory, Tensor(), memory_padding_mask); });
}

TransformerEncoder::TransformerEncoder(const TransformerConfig& c, int64_t n) : Module("TransformerEncoder") {
  if (n < 1) throw Error(fmt::format("TransformerEncoder: {} layers (needs at least 1)", n));
  for (int64_t i = 0; i < n; ++i)
    layers.push_back(register_module("layers_" + std::to_string(i), std::make_shared<TransformerEncoderLayer>(c)));
  if (c.norm_first) final_norm = register_module("final_norm", std::make_shared<LayerNorm>(c.d_model));
  if (c.position_bias != PositionBiasKind::None)
    position_bias = register_module("position_bias", std::make_shared<PositionBias>(c.position_bias, c.num_heads, true,
                                                                                    1.0 / std::sqrt(static_cast<double>(c.d_model))));
}

Tensor TransformerEncoder::forward(const Tensor& x, const Tensor& key_padding_mask) {
  Tensor h = x;
  const int64_t S = x.dim() == 3 ? x.shape()[1] : 0;
  const Tensor bias = position_bias ? position_bias->forward(S, S, x.dtype()) : Tensor();  // (H, S, S), once for all layers
  for (auto& l : layers) h = l->forward(h, key_padding_mask, bias);
  return final_norm ? final_norm->forward(h) : h;
}

TransformerDecoder::TransformerDecoder(const TransformerConfig& c, int64_t n) : Module("TransformerDecoder") {
  if (n < 1) throw Error(fmt::format("TransformerDecoder: {} layers (needs at least 1)", n));
  for (int64_t i = 0; i < n; ++i)
    layers.push_back(register_module("layers_" + std::to_string(i), std::make_shared<TransformerDecoderLayer>(c)));
  if (c.norm_first) final_norm = register_module("final_norm", std::make_shared<LayerNorm>(c.d_model));
  if (c.position_bias != PositionBiasKind::None)
    position_bias = register_module("position_bias", std::make_shared<PositionBias>(c.position_bias, c.num_heads, false,
                                                                                    1.0 / std::sqrt(static_cast<double>(c.d_model))));
}

std::vector<DecoderLayerCache> TransformerDecoder::start(const Tensor& memory) {
  std::vector<DecoderLayerCache> caches;
  for (auto& l : layers) caches.push_back(l->start(memory));
  return caches;
}

DecoderOutput TransformerDecoder::step(const Tensor& x, std::vector<DecoderLayerCache>& caches,
                                       const Tensor& memory_padding_mask) {
  if (caches.size() != layers.size())
    throw Error(fmt::format("TransformerDecoder::step: {} caches for {} layers", caches.size(), layers.size()));
  DecoderOutput out;
  Tensor h = x;
  const int64_t keys = caches.empty() ? 1 : caches[0].self.length() + 1;  // the prefix and the new position
  const Tensor bias = position_bias ? position_bias->forward(1, keys, x.dtype()) : Tensor();  // (H, 1, keys)
  for (std::size_t i = 0; i < layers.size(); ++i) {
    DecoderLayerOutput o = layers[i]->step(h, caches[i], memory_padding_mask, bias);
    h = o.output;
    out.cross_weights.push_back(o.cross_weights);
  }
  out.output = final_norm ? final_norm->forward(h) : h;
  return out;
}

DecoderOutput TransformerDecoder::forward(const Tensor& x, const Tensor& memory, const Tensor& self_mask,
                                          const Tensor& memory_padding_mask, const Tensor& self_padding_mask,
                                          bool causal) {
  DecoderOutput out;
  Tensor h = x;
  const int64_t T = x.dim() == 3 ? x.shape()[1] : 0;
  const Tensor bias = position_bias ? position_bias->forward(T, T, x.dtype()) : Tensor();  // (H, T, T), once for all layers
  for (auto& l : layers) {
    DecoderLayerOutput o = l->forward(h, memory, self_mask, memory_padding_mask, self_padding_mask, causal, bias);
    h = o.output;
    out.cross_weights.push_back(o.cross_weights);
  }
  out.output = final_norm ? final_norm->forward(h) : h;
  return out;
}

}  // namespace xg::nn

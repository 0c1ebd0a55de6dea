#include "nn/transformer.hpp"

#include <cmath>
#include <fmt/format.h>

#include "core/ops.hpp"

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

Tensor PositionalEncoding::forward(const Tensor& x) {
  if (x.dim() != 3 || x.shape()[2] != d_model || x.shape()[1] > max_len)
    throw ShapeError(fmt::format("PositionalEncoding: input {} (needs (B, T<={}, {}))", shape_str(x.shape()),
                                 max_len, d_model));
  const Tensor p = pe.dtype() == x.dtype() ? pe : pe.to(x.dtype());
  return x + narrow(p, 0, 0, x.shape()[1]);
}

std::string PositionalEncoding::extra_repr() const { return fmt::format("d_model={}, max_len={}", d_model, max_len); }

FeedForward::FeedForward(int64_t d, int64_t ff_dim, double drop) : UnaryModule("FeedForward") {
  linear1 = register_module("linear1", std::make_shared<Linear>(d, ff_dim));
  linear2 = register_module("linear2", std::make_shared<Linear>(ff_dim, d));
  dropout = register_module("dropout", std::make_shared<Dropout>(drop));
}

Tensor FeedForward::forward(const Tensor& x) {
  return linear2->forward(dropout->forward(relu(linear1->forward(x))));
}

TransformerEncoderLayer::TransformerEncoderLayer(const TransformerConfig& c)
    : Module("TransformerEncoderLayer"), config(c) {
  self_attn = register_module("self_attn", std::make_shared<MultiHeadAttention>(c.d_model, c.num_heads, c.dropout));
  ff = register_module("ff", std::make_shared<FeedForward>(c.d_model, c.ff_dim, c.dropout));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d_model));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d_model));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(c.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(c.dropout));
}

Tensor TransformerEncoderLayer::forward(const Tensor& x, const Tensor& key_padding_mask) {
  auto sa = [&](const Tensor& h) {
    return dropout1->forward(self_attn->forward(h, h, h, Tensor(), key_padding_mask).context);
  };
  if (config.norm_first) {
    const Tensor h = x + sa(norm1->forward(x));
    return h + dropout2->forward(ff->forward(norm2->forward(h)));
  }
  const Tensor h = norm1->forward(x + sa(x));
  return norm2->forward(h + dropout2->forward(ff->forward(h)));
}

TransformerDecoderLayer::TransformerDecoderLayer(const TransformerConfig& c)
    : Module("TransformerDecoderLayer"), config(c) {
  self_attn = register_module("self_attn", std::make_shared<MultiHeadAttention>(c.d_model, c.num_heads, c.dropout));
  cross_attn = register_module("cross_attn", std::make_shared<MultiHeadAttention>(c.d_model, c.num_heads, c.dropout));
  ff = register_module("ff", std::make_shared<FeedForward>(c.d_model, c.ff_dim, c.dropout));
  norm1 = register_module("norm1", std::make_shared<LayerNorm>(c.d_model));
  norm2 = register_module("norm2", std::make_shared<LayerNorm>(c.d_model));
  norm3 = register_module("norm3", std::make_shared<LayerNorm>(c.d_model));
  dropout1 = register_module("dropout1", std::make_shared<Dropout>(c.dropout));
  dropout2 = register_module("dropout2", std::make_shared<Dropout>(c.dropout));
  dropout3 = register_module("dropout3", std::make_shared<Dropout>(c.dropout));
}

DecoderLayerOutput TransformerDecoderLayer::forward(const Tensor& x, const Tensor& memory, const Tensor& self_mask,
                                                    const Tensor& memory_padding_mask,
                                                    const Tensor& self_padding_mask) {
  Tensor cross_weights;
  auto sa = [&](const Tensor& h) {
    return dropout1->forward(self_attn->forward(h, h, h, self_mask, self_padding_mask).context);
  };
  auto ca = [&](const Tensor& h) {
    AttentionOutput a = cross_attn->forward(h, memory, memory, Tensor(), memory_padding_mask);
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

TransformerEncoder::TransformerEncoder(const TransformerConfig& c, int64_t n) : Module("TransformerEncoder") {
  for (int64_t i = 0; i < n; ++i)
    layers.push_back(register_module("layers_" + std::to_string(i), std::make_shared<TransformerEncoderLayer>(c)));
  if (c.norm_first) final_norm = register_module("final_norm", std::make_shared<LayerNorm>(c.d_model));
}

Tensor TransformerEncoder::forward(const Tensor& x, const Tensor& key_padding_mask) {
  Tensor h = x;
  for (auto& l : layers) h = l->forward(h, key_padding_mask);
  return final_norm ? final_norm->forward(h) : h;
}

TransformerDecoder::TransformerDecoder(const TransformerConfig& c, int64_t n) : Module("TransformerDecoder") {
  for (int64_t i = 0; i < n; ++i)
    layers.push_back(register_module("layers_" + std::to_string(i), std::make_shared<TransformerDecoderLayer>(c)));
  if (c.norm_first) final_norm = register_module("final_norm", std::make_shared<LayerNorm>(c.d_model));
}

DecoderOutput TransformerDecoder::forward(const Tensor& x, const Tensor& memory, const Tensor& self_mask,
                                          const Tensor& memory_padding_mask, const Tensor& self_padding_mask) {
  DecoderOutput out;
  Tensor h = x;
  for (auto& l : layers) {
    DecoderLayerOutput o = l->forward(h, memory, self_mask, memory_padding_mask, self_padding_mask);
    h = o.output;
    out.cross_weights.push_back(o.cross_weights);
  }
  out.output = final_norm ? final_norm->forward(h) : h;
  return out;
}

}  // namespace xg::nn

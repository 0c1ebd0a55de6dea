#include <xgrad/nn/causal_transformer.hpp>

#include <cmath>
#include <fmt/format.h>

namespace xg::nn {

CausalTransformer::CausalTransformer(const TransformerConfig& c, int64_t n) : Module("CausalTransformer") {
  if (n < 1) throw Error(fmt::format("CausalTransformer: {} layers (needs at least 1)", n));
  for (int64_t i = 0; i < n; ++i)
    layers.push_back(register_module("layers_" + std::to_string(i), std::make_shared<TransformerEncoderLayer>(c)));
  if (c.norm_first) final_norm = register_module("final_norm", std::make_shared<LayerNorm>(c.d_model));
  if (c.position_bias != PositionBiasKind::None)
    position_bias = register_module("position_bias", std::make_shared<PositionBias>(c.position_bias, c.num_heads, false,
                                                                                    1.0 / std::sqrt(static_cast<double>(c.d_model))));
}

Tensor CausalTransformer::forward(const Tensor& x, const Tensor& key_padding_mask) {
  if (x.dim() != 3) throw ShapeError("CausalTransformer: input " + shape_str(x.shape()) + " (needs (B, T, D))");
  const int64_t T = x.shape()[1];
  const Tensor bias = position_bias ? position_bias->forward(T, T, x.dtype()) : Tensor();  // (H, T, T), once for all layers
  Tensor h = x;
  for (auto& l : layers) h = l->forward(h, key_padding_mask, bias, true);
  return final_norm ? final_norm->forward(h) : h;
}

Tensor CausalTransformer::step(const Tensor& x, std::vector<KeyValues>& caches, const Tensor& key_padding_mask,
                               Tensor* last_weights) {
  if (caches.size() != layers.size())
    throw Error(fmt::format("CausalTransformer::step: {} caches for {} layers", caches.size(), layers.size()));
  if (x.dim() != 3) throw ShapeError("CausalTransformer::step: input " + shape_str(x.shape()) + " (needs (B, Tn, D))");
  const int64_t fresh = x.shape()[1], keys = caches[0].length() + fresh;
  const Tensor bias = position_bias ? position_bias->forward(fresh, keys, x.dtype()) : Tensor();  // (H, Tn, keys)
  Tensor h = x;
  for (std::size_t i = 0; i < layers.size(); ++i)
    h = layers[i]->step(h, caches[i], key_padding_mask, bias, i + 1 == layers.size() ? last_weights : nullptr);
  return final_norm ? final_norm->forward(h) : h;
}

}  // namespace xg::nn

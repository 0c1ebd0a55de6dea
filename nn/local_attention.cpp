#include <xgrad/nn/local_attention.hpp>

#include <cmath>
#include <fmt/format.h>
#include <vector>

#include <xgrad/core/ops.hpp>
#include <xgrad/nn/attention_ops.hpp>
#include <xgrad/nn/attention_recorder.hpp>

namespace xg::nn {

LuongLocalAttention::LuongLocalAttention(int64_t query_dim, int64_t key_dim, int64_t d, int64_t predictor_dim)
    : SourceAttention("LuongLocalAttention"), window(d) {
  if (d < 1) throw Error(fmt::format("LuongLocalAttention: window D = {} (needs D >= 1)", d));
  general = register_module("general", std::make_shared<Linear>(key_dim, query_dim, false));
  predictor = register_module("predictor", std::make_shared<Linear>(query_dim, predictor_dim, false));
  predictor_v = register_module("predictor_v", std::make_shared<Linear>(predictor_dim, 1, false));
}

Tensor LuongLocalAttention::project_keys(const Tensor& keys) const { return general->forward(keys); }

Tensor LuongLocalAttention::centres(const Tensor& query, const Tensor& lengths_minus_one) const {
  return squeeze(sigmoid(predictor_v->forward(tanh(predictor->forward(query)))), 1) * lengths_minus_one;  // (B)
}

AttentionOutput LuongLocalAttention::forward(const Tensor& query, const Tensor& projected_keys, const Tensor& values,
                                             const Tensor& key_padding_mask) const {
  if (query.dim() != 2 || projected_keys.dim() != 3 || projected_keys.shape()[0] != query.shape()[0] ||
      projected_keys.shape()[2] != query.shape()[1] || values.dim() != 3 ||
      values.shape()[1] != projected_keys.shape()[1] || values.shape()[0] != query.shape()[0])
    throw ShapeError(fmt::format("LuongLocalAttention: query {}, projected keys {}, values {} (need (B, Dq), (B, S, Dq), (B, S, Dv))",
                                 shape_str(query.shape()), shape_str(projected_keys.shape()), shape_str(values.shape())));
  const int64_t B = query.shape()[0], S = projected_keys.shape()[1];
  if (key_padding_mask.defined() && key_padding_mask.shape() != Shape{B, S})
    throw ShapeError(fmt::format("LuongLocalAttention: key_padding_mask {} for keys {} (needs (B, S))",
                                 shape_str(key_padding_mask.shape()), shape_str(projected_keys.shape())));
  const std::vector<double> pad = key_padding_mask.defined() ? key_padding_mask.to_vector() : std::vector<double>(static_cast<std::size_t>(B * S), 0.0);
  std::vector<double> last(static_cast<std::size_t>(B), -1.0);  // length - 1 of every sentence
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s) last[b] += pad[static_cast<std::size_t>(b * S + s)] == 0.0 ? 1.0 : 0.0;
  const Tensor p = centres(query, Tensor::from_vector(last, {B}, query.dtype()));  // (B)
  const std::vector<double> centre = p.to_vector();
  // Outside the window or padding: excluded from the softmax.
  std::vector<double> outside(static_cast<std::size_t>(B * S));
  for (int64_t b = 0; b < B; ++b)
    for (int64_t s = 0; s < S; ++s)
      outside[static_cast<std::size_t>(b * S + s)] =
          pad[static_cast<std::size_t>(b * S + s)] != 0.0 || std::abs(static_cast<double>(s) - centre[b]) > static_cast<double>(window);
  const Tensor scores = squeeze(matmul(projected_keys, unsqueeze(query, 2)), 2);  // (B, S)
  const Tensor align = softmax(masked_fill(scores, Tensor::from_vector(outside, {B, S}, query.dtype()), -INFINITY), -1);
  std::vector<double> positions(static_cast<std::size_t>(S));
  for (int64_t s = 0; s < S; ++s) positions[s] = static_cast<double>(s);
  const double sigma = static_cast<double>(window) / 2.0;
  const Tensor distance = Tensor::from_vector(positions, {1, S}, query.dtype()) - unsqueeze(p, 1);  // (B, S)
  const Tensor weights = align * exp(distance * distance * (-1.0 / (2.0 * sigma * sigma)));
  if (AttentionRecorder* recorder = AttentionRecorder::active()) recorder->add(SourceAttentionRecord{this, scores, weights, p, window});
  return {weighted_sum(weights, values), weights};
}

std::string LuongLocalAttention::extra_repr() const {
  return fmt::format("query={}, key={}, window={}", general->out_features, general->in_features, window);
}

}  // namespace xg::nn

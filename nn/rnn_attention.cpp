#include <xgrad/nn/rnn_attention.hpp>

#include <cmath>
#include <fmt/format.h>

#include <xgrad/core/ops.hpp>
#include <xgrad/nn/attention_ops.hpp>
#include <xgrad/nn/attention_recorder.hpp>

namespace xg::nn {

namespace {
void check_query_keys(const char* op, const Tensor& query, const Tensor& keys, const Tensor& mask) {
  if (query.dim() != 2 || keys.dim() != 3 || keys.shape()[0] != query.shape()[0])
    throw ShapeError(fmt::format("{}: query {} and keys {} (need (B, Dq) and (B, S, Dk))", op,
                                 shape_str(query.shape()), shape_str(keys.shape())));
  if (mask.defined() && mask.shape() != Shape{keys.shape()[0], keys.shape()[1]})
    throw ShapeError(fmt::format("{}: key_padding_mask {} for keys {} (needs (B, S))", op,
                                 shape_str(mask.shape()), shape_str(keys.shape())));
}

// scores (B, S) -> weights (B, S); context = weights · values (B, Dv)
AttentionOutput attend(const Module* module, const Tensor& scores, const Tensor& values, const Tensor& key_padding_mask) {
  const Tensor masked = key_padding_mask.defined() ? masked_fill(scores, key_padding_mask, -INFINITY) : scores;
  const Tensor weights = softmax(masked, -1);
  if (AttentionRecorder* recorder = AttentionRecorder::active()) recorder->add(SourceAttentionRecord{module, scores, weights, Tensor(), 0});
  return {weighted_sum(weights, values), weights};
}
}  // namespace

BahdanauAttention::BahdanauAttention(int64_t query_dim, int64_t key_dim, int64_t attention_dim)
    : SourceAttention("BahdanauAttention") {
  query_layer = register_module("query_layer", std::make_shared<Linear>(query_dim, attention_dim, false));
  key_layer = register_module("key_layer", std::make_shared<Linear>(key_dim, attention_dim, false));
  energy_layer = register_module("energy_layer", std::make_shared<Linear>(attention_dim, 1, false));
}

Tensor BahdanauAttention::project_keys(const Tensor& keys) const { return key_layer->forward(keys); }

AttentionOutput BahdanauAttention::forward(const Tensor& query, const Tensor& projected_keys,
                                           const Tensor& values, const Tensor& key_padding_mask) const {
  check_query_keys("BahdanauAttention", query, projected_keys, key_padding_mask);
  // vᵀ tanh(W s + U h_i) for every i in one fused op: (B, S)
  const Tensor scores = additive_scores(query_layer->forward(query), projected_keys, energy_layer->weight);
  return attend(this, scores, values, key_padding_mask);
}

std::string BahdanauAttention::extra_repr() const {
  return fmt::format("query={}, key={}, attention={}", query_layer->in_features, key_layer->in_features,
                     key_layer->out_features);
}

LuongAttention::LuongAttention(Score s, int64_t query_dim, int64_t key_dim, int64_t attention_dim)
    : Module("LuongAttention"), score(s) {
  if (s == Score::Dot && query_dim != key_dim)
    throw ShapeError(fmt::format("LuongAttention(dot): query dim {} != key dim {}", query_dim, key_dim));
  if (s == Score::General) general = register_module("general", std::make_shared<Linear>(key_dim, query_dim, false));
  if (s == Score::Concat) {
    if (attention_dim <= 0) attention_dim = query_dim;
    // W [h_t; h_s] = W_q h_t + W_k h_s: two blocks of one matrix, so keys project once per batch.
    concat_query = register_module("concat_query", std::make_shared<Linear>(query_dim, attention_dim, false));
    concat_key = register_module("concat_key", std::make_shared<Linear>(key_dim, attention_dim, false));
    concat_v = register_module("concat_v", std::make_shared<Linear>(attention_dim, 1, false));
  }
}

AttentionOutput LuongAttention::forward(const Tensor& query, const Tensor& keys,
                                        const Tensor& key_padding_mask) const {
  check_query_keys("LuongAttention", query, keys, key_padding_mask);
  Tensor scores;
  if (score == Score::Concat) {
    scores = additive_scores(concat_query->forward(query), concat_key->forward(keys), concat_v->weight);
  } else {
    const Tensor k = score == Score::General ? general->forward(keys) : keys;  // (B, S, Dq)
    if (k.shape()[2] != query.shape()[1])
      throw ShapeError(fmt::format("LuongAttention: query {} and keys {}", shape_str(query.shape()),
                                   shape_str(keys.shape())));
    scores = squeeze(matmul(k, unsqueeze(query, 2)), 2);  // (B,S,D)x(B,D,1) -> (B, S)
  }
  return attend(this, scores, keys, key_padding_mask);
}

std::string LuongAttention::extra_repr() const {
  return score == Score::Dot ? "dot" : score == Score::General ? "general" : "concat";
}

}  // namespace xg::nn

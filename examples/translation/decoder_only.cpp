// DecoderOnlySeq2Seq (models.hpp): translation as continuing a sequence.
#include <cmath>
#include <fmt/format.h>

#include <xgrad/core/ops.hpp>

#include "models.hpp"

namespace xg::translation {

using data::Batch;
using data::Vocabulary;

DecoderOnlySeq2Seq::DecoderOnlySeq2Seq(const ModelConfig& c) : Seq2Seq("DecoderOnlySeq2Seq"), config_(c) {
  nn::TransformerConfig tc;
  tc.d_model = c.d_model, tc.num_heads = c.heads, tc.ff_dim = c.ff, tc.dropout = c.dropout, tc.norm_first = c.pre_ln;
  tc.attention.rotary = c.positions == "rotary";
  if (c.attention_kind == "gqa") tc.attention.num_kv_heads = c.kv_heads ? c.kv_heads : std::max<int64_t>(1, c.heads / 2);
  if (c.positions == "alibi") tc.position_bias = nn::PositionBiasKind::ALiBi;
  if (c.positions == "t5") tc.position_bias = nn::PositionBiasKind::T5;
  tgt_embedding_ = register_module("tgt_embedding", std::make_shared<nn::Embedding>(c.tgt_vocab, c.d_model, Vocabulary::kPad));
  src_embedding_ = c.tie_embeddings == "all"
                       ? tgt_embedding_
                       : register_module("src_embedding", std::make_shared<nn::Embedding>(c.src_vocab, c.d_model, Vocabulary::kPad));
  {  // N(0, d^-1/2) entries, scaled by sqrt(d) when read: as TransformerSeq2Seq
    NoGradGuard no_grad;
    for (const auto& table : {src_embedding_, tgt_embedding_}) {
      if (table == tgt_embedding_ && src_embedding_ == tgt_embedding_) continue;  // scaled once
      table->weight.copy_(table->weight * (1.0 / std::sqrt(static_cast<double>(c.d_model))));
    }
  }
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout));
  stack_ = register_module("decoder", std::make_shared<nn::CausalTransformer>(tc, c.decoder_layers));
  if (c.tie_embeddings == "none") output_ = register_module("output", std::make_shared<nn::Linear>(c.d_model, c.tgt_vocab));
  else output_bias_ = register_parameter("output_bias", zeros({c.tgt_vocab}));
}

Tensor DecoderOnlySeq2Seq::logits(const Tensor& hidden) {
  return output_ ? output_->forward(hidden) : linear(hidden, tgt_embedding_->weight, output_bias_);
}

std::pair<Tensor, Tensor> DecoderOnlySeq2Seq::embed_source(const Batch& b) {
  const int64_t B = b.size, S = b.src_len;
  std::vector<int64_t> ids(static_cast<std::size_t>(B * S), Vocabulary::kPad);
  std::vector<double> padding(static_cast<std::size_t>(B * S), 0.0);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t len = b.src_lengths[static_cast<std::size_t>(i)], shift = S - len;
    for (int64_t j = 0; j < S; ++j) {
      const auto at = static_cast<std::size_t>(i * S + j);
      if (j < shift) padding[at] = 1.0;
      else ids[at] = b.src[static_cast<std::size_t>(i * S + j - shift)];
    }
  }
  const Tensor e = src_embedding_->forward(ids, {B, S}) * std::sqrt(static_cast<double>(config_.d_model));  // (B, S, D)
  return {e, Tensor::from_vector(padding, {B, S})};
}

Tensor DecoderOnlySeq2Seq::embed_target(const std::vector<int64_t>& ids, int64_t rows, int64_t cols) {
  return tgt_embedding_->forward(ids, {rows, cols}) * std::sqrt(static_cast<double>(config_.d_model));  // (rows, cols, D)
}

Tensor DecoderOnlySeq2Seq::target_hidden(const Batch& b, Tensor* last_weights) {
  const auto [source, source_padding] = embed_source(b);
  const Tensor x = dropout_->forward(concat({source, embed_target(b.tgt_in, b.size, b.tgt_len)}, 1));  // (B, S+T, D)
  // Target padding sits after every real target token, which the causal mask already hides.
  const Tensor padding = concat({source_padding, zeros({b.size, b.tgt_len})}, 1);  // (B, S+T)
  Tensor h;
  if (last_weights) {
    std::vector<nn::KeyValues> caches = stack_->start();
    h = stack_->step(x, caches, padding, last_weights);
  } else {
    h = stack_->forward(x, padding);
  }
  return narrow(h, 1, b.src_len, b.tgt_len);  // (B, T, D)
}

Tensor DecoderOnlySeq2Seq::forward(const Batch& b) { return logits(target_hidden(b)); }

Tensor DecoderOnlySeq2Seq::loss(const Batch& b, double label_smoothing) { return output_loss(target_hidden(b), b, label_smoothing); }

Tensor DecoderOnlySeq2Seq::guided_loss(const Batch& b, double label_smoothing, double weight) {
  Tensor w;  // (B, H, S+T, S+T)
  const Tensor h = target_hidden(b, &w);
  // Head 0's target rows; source position j of row i sits in column (S - length_i) + j.
  const Tensor attention = narrow(select(w, 1, 0), 1, b.src_len, b.tgt_len);  // (B, T, S+T)
  std::vector<int64_t> offset;
  for (const int64_t len : b.src_lengths) offset.push_back(b.src_len - len);
  return output_loss(h, b, label_smoothing) + guided_alignment_cost(attention, b, offset) * weight;
}

Tensor DecoderOnlySeq2Seq::output_loss(const Tensor& h, const Batch& b, double label_smoothing) {
  if (output_) return linear_cross_entropy(h, output_->weight, output_->bias, b.tgt_out, Vocabulary::kPad, label_smoothing);
  return linear_cross_entropy(h, tgt_embedding_->weight, output_bias_, b.tgt_out, Vocabulary::kPad, label_smoothing);
}

namespace {
// weights (B, Tq, K) over a sequence whose first S columns are the left-padded source: (B, Tq, S)
// with row i's source token j in column j and zeros after its length.
Tensor source_columns(const Tensor& weights, const std::vector<int64_t>& src_lengths, int64_t S) {
  const int64_t B = weights.shape()[0], Tq = weights.shape()[1], K = weights.shape()[2];
  const std::vector<double> w = weights.to_vector();
  std::vector<double> out(static_cast<std::size_t>(B * Tq * S), 0.0);
  for (int64_t i = 0; i < B; ++i) {
    const int64_t len = src_lengths[static_cast<std::size_t>(i)], shift = S - len;
    for (int64_t t = 0; t < Tq; ++t)
      for (int64_t j = 0; j < len; ++j)
        out[static_cast<std::size_t>((i * Tq + t) * S + j)] = w[static_cast<std::size_t>((i * Tq + t) * K + shift + j)];
  }
  return Tensor::from_vector(out, {B, Tq, S});
}

struct DecoderOnlyState : DecoderState {
  std::vector<nn::KeyValues> caches;  // per layer: the source, then every position decoded
  Tensor padding;                     // (N, positions so far): the source's left padding
  std::vector<int64_t> src_lengths;
  int64_t src_len = 0;
  void select(const std::vector<int64_t>& rows) override {
    for (auto& c : caches) c.select_rows(rows);
    padding = index_select(padding, 0, rows);
    std::vector<int64_t> lengths;
    for (const int64_t r : rows) lengths.push_back(src_lengths[static_cast<std::size_t>(r)]);
    src_lengths = std::move(lengths);
  }
};
}  // namespace

std::vector<std::pair<std::string, Tensor>> DecoderOnlySeq2Seq::source_attention(const Batch& b) {
  Tensor w;  // (B, H, S+T, S+T)
  target_hidden(b, &w);
  std::vector<std::pair<std::string, Tensor>> maps;
  if (!w.defined()) return maps;  // a path that forms no weights
  const std::string layer = fmt::format("layer{}", stack_->layers.size() - 1);
  const Tensor target_rows = narrow(w, 2, b.src_len, b.tgt_len);  // (B, H, T, S+T)
  for (int64_t h = 0; h < w.shape()[1]; ++h)
    maps.emplace_back(fmt::format("{}.head{}", layer, h), source_columns(select(target_rows, 1, h), b.src_lengths, b.src_len));
  maps.emplace_back(layer + ".mean", source_columns(mean(target_rows, {1}), b.src_lengths, b.src_len));
  return maps;
}

std::unique_ptr<DecoderState> DecoderOnlySeq2Seq::start(const Batch& b) {
  auto s = std::make_unique<DecoderOnlyState>();
  const auto [source, source_padding] = embed_source(b);
  s->caches = stack_->start();
  s->padding = source_padding;
  s->src_lengths = b.src_lengths;
  s->src_len = b.src_len;
  stack_->step(dropout_->forward(source), s->caches, s->padding);  // the prompt: fills the caches
  return s;
}

Tensor DecoderOnlySeq2Seq::step(DecoderState& state, const std::vector<int64_t>& previous) {
  auto& s = static_cast<DecoderOnlyState&>(state);
  const int64_t n = static_cast<int64_t>(previous.size());
  s.padding = concat({s.padding, zeros({n, 1})}, 1);  // (N, positions + 1)
  Tensor w;  // (N, H, 1, positions + 1)
  const Tensor h = stack_->step(dropout_->forward(embed_target(previous, n, 1)), s.caches, s.padding, &w);
  // The last layer's first head over the source: (N, S)
  if (w.defined()) s.last_attention = select(source_columns(select(w, 1, 0), s.src_lengths, s.src_len), 1, 0);
  return log_softmax(logits(select(h, 1, 0)), -1);
}

}  // namespace xg::translation

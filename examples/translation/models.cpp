#include "models.hpp"

#include <cmath>
#include <fmt/format.h>

#include <xgrad/core/ops.hpp>

namespace xg::translation {

using data::Batch;
using data::Vocabulary;

std::vector<std::pair<std::string, Tensor>> Seq2Seq::source_attention(const Batch&) { return {}; }

Tensor Seq2Seq::loss(const data::Batch& batch, double label_smoothing) {
  return cross_entropy(forward(batch), batch.tgt_out, Vocabulary::kPad, label_smoothing);
}

Tensor Seq2Seq::guided_loss(const data::Batch&, double, double) {
  throw Error(fmt::format("guided alignment: the {} model has no attention over the source to guide", type_name()));
}

Tensor guided_alignment_cost(const Tensor& attention, const data::Batch& b, const std::vector<int64_t>& column_offset) {
  if (attention.dim() != 3 || attention.shape()[0] != b.size || attention.shape()[1] != b.tgt_len)
    throw ShapeError(fmt::format("guided_alignment_cost: attention {} for a batch of {} rows of {} labels",
                                 shape_str(attention.shape()), b.size, b.tgt_len));
  if (b.alignment.size() != static_cast<std::size_t>(b.size * b.tgt_len))
    throw Error("guided alignment: the batch has no gold alignment (train with one, or a weight of 0)");
  const int64_t rows = b.size * b.tgt_len, K = attention.shape()[2];
  std::vector<int64_t> column(static_cast<std::size_t>(rows), 0);
  std::vector<double> aligned(static_cast<std::size_t>(rows), 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t gold = b.alignment[static_cast<std::size_t>(r)];
    if (gold < 0) continue;
    column[static_cast<std::size_t>(r)] = gold + (column_offset.empty() ? 0 : column_offset[static_cast<std::size_t>(r / b.tgt_len)]);
    aligned[static_cast<std::size_t>(r)] = 1.0;
  }
  // The attention on the gold source word of every label (rows, 1); log(p + eps) as Marian's "ce",
  // so that a weight the softmax rounded to 0 costs a finite amount.
  const Tensor gold = gather(reshape(attention, {rows, K}), 1, column, {rows, 1});
  const Tensor mask = Tensor::from_vector(aligned, {rows, 1}, attention.dtype());
  const double tokens = static_cast<double>(std::max<int64_t>(1, b.target_tokens()));
  return sum(log(gold + 1e-6) * mask) * (-1.0 / tokens);
}

std::shared_ptr<Seq2Seq> make_model(const ModelConfig& c) {
  c.validate();
  if (c.src_vocab < 5 || c.tgt_vocab < 5)
    throw Error(fmt::format("make_model: vocabularies of {} and {} words are too small", c.src_vocab, c.tgt_vocab));
  if (c.model == "rnn") return std::make_shared<RnnSeq2Seq>(c);
  if (c.model == "bahdanau") return std::make_shared<BahdanauSeq2Seq>(c);
  if (c.model == "transformer") return std::make_shared<TransformerSeq2Seq>(c);
  if (c.model == "decoder-only") return std::make_shared<DecoderOnlySeq2Seq>(c);
  throw Error(fmt::format("unknown model '{}' (rnn, bahdanau, transformer or decoder-only)", c.model));
}

namespace {
// Rows `rows` of every tensor (dimension 0).
Tensor pick_rows(const Tensor& t, const std::vector<int64_t>& rows) { return index_select(t, 0, rows); }

}  // namespace

// ----- RNN encoder-decoder -----

RnnSeq2Seq::RnnSeq2Seq(const ModelConfig& c) : Seq2Seq("RnnSeq2Seq"), config_(c) {
  src_embedding_ = register_module("src_embedding", std::make_shared<nn::Embedding>(c.src_vocab, c.embedding, Vocabulary::kPad));
  tgt_embedding_ = register_module("tgt_embedding", std::make_shared<nn::Embedding>(c.tgt_vocab, c.embedding, Vocabulary::kPad));
  encoder_ = register_module("encoder", std::make_shared<nn::GRU>(c.embedding, c.hidden));
  decoder_ = register_module("decoder", std::make_shared<nn::GRUCell>(c.embedding + c.hidden, c.hidden));
  output_ = register_module("output", std::make_shared<nn::Linear>(c.hidden, c.tgt_vocab));
}

Tensor RnnSeq2Seq::encode(const Batch& b) {
  return select(encoder_->forward(*src_embedding_, b.src, b.size, b.src_len, b.src_lengths).h_n, 0, 0);  // (B, H)
}

Tensor RnnSeq2Seq::forward(const Batch& b) { return output_->forward(decoder_states(b)); }  // (B, T, V)

Tensor RnnSeq2Seq::loss(const Batch& b, double label_smoothing) {
  return linear_cross_entropy(decoder_states(b), output_->weight, output_->bias, b.tgt_out, Vocabulary::kPad,
                              label_smoothing);
}

Tensor RnnSeq2Seq::decoder_states(const Batch& b) {
  const Tensor c = encode(b);
  const nn::GRUDecoderSteps steps(*decoder_, *tgt_embedding_);
  // Input projection of every step at once: (W_e e_t + b) + W_c c, (B, T, 3H)
  const Tensor gi_all = steps.word_share(b.tgt_in, {b.size, b.tgt_len}) + unsqueeze(steps.context_share(c), 1);
  Tensor h = c;
  std::vector<Tensor> states;
  for (int64_t t = 0; t < b.tgt_len; ++t) {
    h = steps.step(select(gi_all, 1, t), h);
    states.push_back(h);
  }
  return stack(states, 1);  // (B, T, H)
}

namespace {
// The context enters every step through the same weights, so its share of the input projection,
// W_c c, is computed once per sentence (as in forward), not once per step: that was 40% of a
// decoding step's multiply-adds.
struct RnnState : DecoderState {
  explicit RnnState(nn::GRUDecoderSteps s) : steps(std::move(s)) {}
  nn::GRUDecoderSteps steps;
  Tensor context_input;  // (N, 3H): W_c c
  Tensor hidden;         // (N, H)
  void select(const std::vector<int64_t>& rows) override {
    context_input = pick_rows(context_input, rows);
    hidden = pick_rows(hidden, rows);
  }
};
}  // namespace

std::unique_ptr<DecoderState> RnnSeq2Seq::start(const Batch& b) {
  auto s = std::make_unique<RnnState>(nn::GRUDecoderSteps(*decoder_, *tgt_embedding_));
  const Tensor c = encode(b);
  s->context_input = s->steps.context_share(c);
  s->hidden = c;
  return s;
}

Tensor RnnSeq2Seq::step(DecoderState& state, const std::vector<int64_t>& previous) {
  auto& s = static_cast<RnnState&>(state);
  s.hidden = s.steps.step(previous, s.context_input, s.hidden);
  return log_softmax(output_->forward(s.hidden), -1);
}

// ----- Bahdanau attention -----

BahdanauSeq2Seq::BahdanauSeq2Seq(const ModelConfig& c) : Seq2Seq("BahdanauSeq2Seq"), config_(c) {
  if (c.hidden % 2 != 0) throw Error(fmt::format("bahdanau: hidden {} must be even (two encoder directions)", c.hidden));
  const int64_t enc = c.hidden / 2, ann = 2 * enc;
  src_embedding_ = register_module("src_embedding", std::make_shared<nn::Embedding>(c.src_vocab, c.embedding, Vocabulary::kPad));
  tgt_embedding_ = register_module("tgt_embedding", std::make_shared<nn::Embedding>(c.tgt_vocab, c.embedding, Vocabulary::kPad));
  encoder_ = register_module("encoder", std::make_shared<nn::GRU>(c.embedding, enc, 1, true));
  init_ = register_module("init", std::make_shared<nn::Linear>(enc, c.hidden));
  if (c.attention_kind == "local")
    attention_ = register_module("attention", std::make_shared<nn::LuongLocalAttention>(c.hidden, ann, c.window, c.attention));
  else
    attention_ = register_module("attention", std::make_shared<nn::BahdanauAttention>(c.hidden, ann, c.attention));
  decoder_ = register_module("decoder", std::make_shared<nn::GRUCell>(c.embedding + ann, c.hidden));
  deep_output_ = register_module("deep_output", std::make_shared<nn::Linear>(c.hidden + ann + c.embedding, c.hidden));
  output_ = register_module("output", std::make_shared<nn::Linear>(c.hidden, c.tgt_vocab));
}

BahdanauSeq2Seq::Encoded BahdanauSeq2Seq::encode(const Batch& b) {
  const nn::RNNOutput out = encoder_->forward(*src_embedding_, b.src, b.size, b.src_len, b.src_lengths);
  Encoded e;
  e.annotations = out.output;                               // (B, S, 2·H/2)
  e.projected_keys = attention_->project_keys(out.output);  // (B, S, A), once per batch
  e.padding_mask = b.src_padding_mask(out.output.dtype());  // (B, S)
  // s0 = tanh(W h←_1): the backward encoder's state after reading the whole sentence.
  e.initial_state = tanh(init_->forward(select(out.h_n, 0, 1)));
  return e;
}

Tensor BahdanauSeq2Seq::forward(const Batch& b) { return decode_reference(b, nullptr); }

std::vector<std::pair<std::string, Tensor>> BahdanauSeq2Seq::source_attention(const Batch& b) {
  std::vector<Tensor> weights;
  decode_reference(b, &weights);
  return {{"attention", stack(weights, 1)}};  // (B, T, S)
}

Tensor BahdanauSeq2Seq::decode_reference(const Batch& b, std::vector<Tensor>* weights) {
  return output_->forward(deep_output_features(b, weights));
}

Tensor BahdanauSeq2Seq::loss(const Batch& b, double label_smoothing) {
  return linear_cross_entropy(deep_output_features(b, nullptr), output_->weight, output_->bias, b.tgt_out, Vocabulary::kPad,
                              label_smoothing);
}

Tensor BahdanauSeq2Seq::guided_loss(const Batch& b, double label_smoothing, double weight) {
  std::vector<Tensor> weights;
  const Tensor features = deep_output_features(b, &weights);
  const Tensor loss = linear_cross_entropy(features, output_->weight, output_->bias, b.tgt_out, Vocabulary::kPad, label_smoothing);
  return loss + guided_alignment_cost(stack(weights, 1), b) * weight;  // (B, T, S)
}

Tensor BahdanauSeq2Seq::deep_output_features(const Batch& b, std::vector<Tensor>* weights) {
  // The attention's query projection runs every step: its weight is laid out once per pass.
  FixedWeightsGuard fixed_weights;
  const Encoded enc = encode(b);
  const Tensor e = tgt_embedding_->forward(b.tgt_in, {b.size, b.tgt_len});  // (B, T, E)
  const nn::GRUDecoderSteps steps(*decoder_, *tgt_embedding_);
  const Tensor gi_embedding = steps.word_share(b.tgt_in, {b.size, b.tgt_len});  // (B, T, 3H)
  Tensor s = enc.initial_state;
  std::vector<Tensor> states, contexts;
  for (int64_t t = 0; t < b.tgt_len; ++t) {
    const nn::AttentionOutput a = attention_->forward(s, enc.projected_keys, enc.annotations, enc.padding_mask);
    s = steps.step(select(gi_embedding, 1, t) + steps.context_share(a.context), s);
    states.push_back(s);
    contexts.push_back(a.context);
    if (weights) weights->push_back(a.weights);
  }
  // Deep output over all steps at once: tanh(W [s_t; c_t; e_t]); the vocabulary projection follows.
  const Tensor features = concat({stack(states, 1), stack(contexts, 1), e}, 2);
  return tanh(deep_output_->forward(features));  // (B, T, H)
}

namespace {
struct BahdanauState : DecoderState {
  explicit BahdanauState(nn::GRUDecoderSteps s) : steps(std::move(s)) {}
  nn::GRUDecoderSteps steps;
  Tensor annotations, projected_keys, padding_mask, hidden;
  void select(const std::vector<int64_t>& rows) override {
    annotations = pick_rows(annotations, rows);
    projected_keys = pick_rows(projected_keys, rows);
    padding_mask = pick_rows(padding_mask, rows);
    hidden = pick_rows(hidden, rows);
  }
};
}  // namespace

std::unique_ptr<DecoderState> BahdanauSeq2Seq::start(const Batch& b) {
  Encoded enc = encode(b);
  auto s = std::make_unique<BahdanauState>(nn::GRUDecoderSteps(*decoder_, *tgt_embedding_));
  s->annotations = enc.annotations;
  s->projected_keys = enc.projected_keys;
  s->padding_mask = enc.padding_mask;
  s->hidden = enc.initial_state;
  return s;
}

Tensor BahdanauSeq2Seq::step(DecoderState& state, const std::vector<int64_t>& previous) {
  auto& s = static_cast<BahdanauState&>(state);
  const int64_t n = static_cast<int64_t>(previous.size());
  const Tensor e = tgt_embedding_->forward(previous, {n});
  const nn::AttentionOutput a = attention_->forward(s.hidden, s.projected_keys, s.annotations, s.padding_mask);
  s.hidden = s.steps.step(previous, s.steps.context_share(a.context), s.hidden);
  s.last_attention = a.weights;
  return log_softmax(output_->forward(tanh(deep_output_->forward(concat({s.hidden, a.context, e}, 1)))), -1);
}

// ----- Transformer -----

TransformerSeq2Seq::TransformerSeq2Seq(const ModelConfig& c) : Seq2Seq("TransformerSeq2Seq"), config_(c) {
  nn::TransformerConfig tc;
  tc.d_model = c.d_model, tc.num_heads = c.heads, tc.ff_dim = c.ff, tc.dropout = c.dropout, tc.norm_first = c.pre_ln;
  if (c.attention_kind == "window" || c.attention_kind == "linear") tc.attention.kind = nn::parse_attention_kind(c.attention_kind);
  if (c.attention_kind == "gqa") tc.attention.num_kv_heads = c.kv_heads ? c.kv_heads : std::max<int64_t>(1, c.heads / 2);
  tc.attention.window = c.window, tc.attention.global_tokens = c.global_tokens;
  tc.attention.rotary = c.positions == "rotary" || c.positions == "both";
  // Relative biases: ALiBi or T5 in both stacks; NoPE leaves the decoder without positions and
  // gives the encoder ALiBi (it needs some, and ALiBi's extrapolate).
  nn::TransformerConfig encoder_config = tc, decoder_config = tc;
  if (c.positions == "alibi" || c.positions == "nope") encoder_config.position_bias = nn::PositionBiasKind::ALiBi;
  if (c.positions == "alibi") decoder_config.position_bias = nn::PositionBiasKind::ALiBi;
  if (c.positions == "t5") encoder_config.position_bias = decoder_config.position_bias = nn::PositionBiasKind::T5;
  tgt_embedding_ = register_module("tgt_embedding", std::make_shared<nn::Embedding>(c.tgt_vocab, c.d_model, Vocabulary::kPad));
  // tie_embeddings "all": one table for the source, the target and the output (a shared vocabulary)
  src_embedding_ = c.tie_embeddings == "all"
                       ? tgt_embedding_
                       : register_module("src_embedding", std::make_shared<nn::Embedding>(c.src_vocab, c.d_model, Vocabulary::kPad));
  for (auto* table : {&src_embedding_, &tgt_embedding_}) {
    if (table == &src_embedding_ && src_embedding_ == tgt_embedding_) continue;  // scaled once
    Tensor w = (*table)->weight;
    NoGradGuard no_grad;
    w.copy_(w * (1.0 / std::sqrt(static_cast<double>(c.d_model))));  // N(0, d^-1/2), the pad row stays 0
  }
  if (c.positions == "sinusoidal" || c.positions == "both")
    positions_ = register_module("positions", std::make_shared<nn::PositionalEncoding>(c.d_model, c.max_positions));
  if (c.positions == "learned") {
    // One table per side (Vaswani et al. 2017, Table 3 row E), N(0, 1/2) entries: the sinusoids'
    // variance. Rows past the longest training sentence are never updated: they keep their
    // random start, which is what such a model reads on a longer sentence.
    src_positions_ = register_module("src_positions", std::make_shared<nn::Embedding>(c.max_positions, c.d_model));
    tgt_positions_ = register_module("tgt_positions", std::make_shared<nn::Embedding>(c.max_positions, c.d_model));
    NoGradGuard no_grad;
    for (auto* table : {&src_positions_, &tgt_positions_}) (*table)->weight.copy_((*table)->weight * std::sqrt(0.5));
  }
  dropout_ = register_module("dropout", std::make_shared<nn::Dropout>(c.dropout));
  encoder_ = register_module("encoder", std::make_shared<nn::TransformerEncoder>(encoder_config, c.encoder_layers));
  decoder_ = register_module("decoder", std::make_shared<nn::TransformerDecoder>(decoder_config, c.decoder_layers));
  if (c.tie_embeddings == "none") {
    output_ = register_module("output", std::make_shared<nn::Linear>(c.d_model, c.tgt_vocab));
  } else {
    // Press & Wolf 2017: the output projection is the target embedding table (V, D); its own bias.
    output_bias_ = register_parameter("output_bias", zeros({c.tgt_vocab}));
  }
}

Tensor TransformerSeq2Seq::logits(const Tensor& hidden) {
  return output_ ? output_->forward(hidden) : linear(hidden, tgt_embedding_->weight, output_bias_);
}

Tensor TransformerSeq2Seq::loss(const Batch& b, double label_smoothing) {
  return output_loss(decode_reference(b).output, b, label_smoothing);
}

Tensor TransformerSeq2Seq::guided_loss(const Batch& b, double label_smoothing, double weight) {
  const nn::DecoderOutput out = decode_reference(b);
  const Tensor& cross = out.cross_weights.back();  // (B, H, T, S)
  if (!cross.defined()) throw Error("guided alignment: the cross-attention formed no weights (memory-efficient attention)");
  return output_loss(out.output, b, label_smoothing) + guided_alignment_cost(select(cross, 1, 0), b) * weight;
}

Tensor TransformerSeq2Seq::output_loss(const Tensor& h, const Batch& b, double label_smoothing) {
  if (output_) return linear_cross_entropy(h, output_->weight, output_->bias, b.tgt_out, Vocabulary::kPad, label_smoothing);
  return linear_cross_entropy(h, tgt_embedding_->weight, output_bias_, b.tgt_out, Vocabulary::kPad, label_smoothing);
}

Tensor TransformerSeq2Seq::embed(bool source, const std::vector<int64_t>& ids, int64_t rows, int64_t cols,
                                 int64_t offset) {
  nn::Embedding& table = source ? *src_embedding_ : *tgt_embedding_;
  Tensor e = table.forward(ids, {rows, cols}) * std::sqrt(static_cast<double>(config_.d_model));  // (rows, cols, D)
  if (positions_) {
    e = positions_->forward(e, offset);
  } else if (src_positions_) {
    std::vector<int64_t> at(static_cast<std::size_t>(cols));
    for (int64_t t = 0; t < cols; ++t) at[static_cast<std::size_t>(t)] = offset + t;
    if (offset + cols > config_.max_positions)
      throw Error(fmt::format("learned positions: a sequence of {} positions, the table has {} (max_positions)",
                              offset + cols, config_.max_positions));
    e = e + (source ? *src_positions_ : *tgt_positions_).forward(at, {cols});  // (cols, D) broadcast over rows
  }
  return dropout_->forward(e);
}

nn::DecoderOutput TransformerSeq2Seq::decode_reference(const Batch& b) {
  const Tensor src_mask = b.src_padding_mask();
  const Tensor memory = encoder_->forward(embed(true, b.src, b.size, b.src_len), src_mask);
  const Tensor y = embed(false, b.tgt_in, b.size, b.tgt_len);
  return decoder_->forward(y, memory, Tensor(), src_mask, Tensor(), true);
}

Tensor TransformerSeq2Seq::forward(const Batch& b) { return logits(decode_reference(b).output); }

std::vector<std::pair<std::string, Tensor>> TransformerSeq2Seq::source_attention(const Batch& b) {
  const nn::DecoderOutput out = decode_reference(b);
  std::vector<std::pair<std::string, Tensor>> maps;
  for (std::size_t l = 0; l < out.cross_weights.size(); ++l) {
    const Tensor& w = out.cross_weights[l];  // (B, H, T, S)
    for (int64_t h = 0; h < w.shape()[1]; ++h) maps.emplace_back(fmt::format("layer{}.head{}", l, h), select(w, 1, h));
    maps.emplace_back(fmt::format("layer{}.mean", l), mean(w, {1}));
  }
  return maps;
}

namespace {
// Incremental decoding: each layer caches the keys and values of the positions decoded so far and
// of the encoder memory, so a step costs one position, not the whole prefix.
struct TransformerState : DecoderState {
  Tensor src_mask;                              // (N, S)
  std::vector<nn::DecoderLayerCache> caches;    // per decoder layer
  int64_t position = 0;
  void select(const std::vector<int64_t>& rows) override {
    src_mask = pick_rows(src_mask, rows);
    for (auto& c : caches) c.select(rows);
  }
};
}  // namespace

std::unique_ptr<DecoderState> TransformerSeq2Seq::start(const Batch& b) {
  auto s = std::make_unique<TransformerState>();
  s->src_mask = b.src_padding_mask();
  s->caches = decoder_->start(encoder_->forward(embed(true, b.src, b.size, b.src_len), s->src_mask));
  return s;
}

Tensor TransformerSeq2Seq::step(DecoderState& state, const std::vector<int64_t>& previous) {
  auto& s = static_cast<TransformerState&>(state);
  const int64_t n = static_cast<int64_t>(previous.size());
  const Tensor x = embed(false, previous, n, 1, s.position);  // (N, 1, D)
  ++s.position;
  const nn::DecoderOutput out = decoder_->step(x, s.caches, s.src_mask);
  // Cross-attention of the last layer's first head: (N, S)
  s.last_attention = select(select(out.cross_weights.back(), 2, 0), 1, 0);
  return log_softmax(logits(select(out.output, 1, 0)), -1);
}

}  // namespace xg::translation

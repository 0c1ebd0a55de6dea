#pragma once
// The three translation models behind one interface: teacher-forced logits for training, and
// a step function (encode once, then one token at a time) shared by greedy and beam search.
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "config.hpp"
#include <xgrad/data/batch.hpp>
#include <xgrad/nn/nn.hpp>

namespace xg::translation {

// Per-sentence decoder state; rows can be reordered or repeated (beam search).
struct DecoderState {
  virtual ~DecoderState() = default;
  virtual void select(const std::vector<int64_t>& rows) = 0;
  Tensor last_attention;  // (N, S): attention over the source at the last step (for heat maps)
};

class Seq2Seq : public nn::Module {
 public:
  explicit Seq2Seq(std::string name) : Module(std::move(name)) {}
  // Logits (B, T, V) for the batch's decoder inputs (teacher forcing).
  virtual Tensor forward(const data::Batch& batch) = 0;
  // Encodes the batch's sources.
  virtual std::unique_ptr<DecoderState> start(const data::Batch& batch) = 0;
  // Log-probabilities (N, V) of the next token for every row, given each row's previous token.
  virtual Tensor step(DecoderState& state, const std::vector<int64_t>& previous) = 0;
  // The attention over the source while reading the batch's reference targets (teacher forcing),
  // as named (B, T, S) maps: row t is the attention when predicting target token t. Models
  // without attention return none.
  virtual std::vector<std::pair<std::string, Tensor>> source_attention(const data::Batch& batch);
  // The longest source, and the longest <bos> + output, the model can read.
  virtual int64_t longest_sequence() const { return std::numeric_limits<int64_t>::max(); }
  // The training loss of the batch: mean cross-entropy of its labels (padding ignored). Models
  // may fuse it with their output layer (the transformer does: no (B, T, V) logits are kept).
  virtual Tensor loss(const data::Batch& batch, double label_smoothing);
  // Guided alignment (Marian's --guided-alignment, cost "ce"): loss() plus `weight` times
  // guided_alignment_cost of the attention the model lets be guided (Bahdanau's; the transformer's
  // last decoder layer, head 0, as Marian; the decoder-only model's last layer, head 0, target
  // rows over the source). The batch must carry gold alignments. Models without one throw.
  virtual Tensor guided_loss(const data::Batch& batch, double label_smoothing, double weight);
};

// The guided-alignment cost: -sum over aligned labels (b, t) of log attention[b, t, gold + offset_b],
// divided by the batch's target tokens (so that parts of a batch add up as their losses do).
// attention (B, T, K); column_offset: per row, where source position 0 sits among the K columns
// (empty: 0).
Tensor guided_alignment_cost(const Tensor& attention, const data::Batch& batch,
                             const std::vector<int64_t>& column_offset = {});

std::shared_ptr<Seq2Seq> make_model(const ModelConfig& config);

// GRU encoder-decoder without attention (Cho et al. 2014): the decoder sees the source only
// through the encoder's final state c, which initialises it and is fed with every input.
class RnnSeq2Seq : public Seq2Seq {
 public:
  explicit RnnSeq2Seq(const ModelConfig& c);
  Tensor forward(const data::Batch& batch) override;
  Tensor loss(const data::Batch& batch, double label_smoothing) override;  // linear_cross_entropy
  std::unique_ptr<DecoderState> start(const data::Batch& batch) override;
  Tensor step(DecoderState& state, const std::vector<int64_t>& previous) override;

 private:
  Tensor encode(const data::Batch& batch);  // (B, H)
  Tensor decoder_states(const data::Batch& batch);  // teacher-forced, (B, T, H)
  ModelConfig config_;
  std::shared_ptr<nn::Embedding> src_embedding_, tgt_embedding_;
  std::shared_ptr<nn::GRU> encoder_;
  std::shared_ptr<nn::GRUCell> decoder_;  // input [embedding; c]
  std::shared_ptr<nn::Linear> output_;
};

// Bahdanau et al. 2014: bidirectional GRU encoder; a GRU decoder whose input each step is the
// previous target embedding and the additive-attention context; a deep output layer over the
// decoder state, the context and the embedding.
class BahdanauSeq2Seq : public Seq2Seq {
 public:
  explicit BahdanauSeq2Seq(const ModelConfig& c);
  Tensor forward(const data::Batch& batch) override;
  Tensor loss(const data::Batch& batch, double label_smoothing) override;  // linear_cross_entropy
  Tensor guided_loss(const data::Batch& batch, double label_smoothing, double weight) override;
  std::unique_ptr<DecoderState> start(const data::Batch& batch) override;
  Tensor step(DecoderState& state, const std::vector<int64_t>& previous) override;
  std::vector<std::pair<std::string, Tensor>> source_attention(const data::Batch& batch) override;

 private:
  struct Encoded {
    Tensor annotations, projected_keys, padding_mask, initial_state;
  };
  Encoded encode(const data::Batch& batch);
  // Teacher-forced logits; `weights` (if given) collects each step's attention (B, S).
  Tensor decode_reference(const data::Batch& batch, std::vector<Tensor>* weights);
  // The deep output tanh(W [s_t; c_t; e_t]) of every teacher-forced step, (B, T, H).
  Tensor deep_output_features(const data::Batch& batch, std::vector<Tensor>* weights);
  ModelConfig config_;
  std::shared_ptr<nn::Embedding> src_embedding_, tgt_embedding_;
  std::shared_ptr<nn::GRU> encoder_;
  std::shared_ptr<nn::Linear> init_;
  std::shared_ptr<nn::SourceAttention> attention_;  // additive (Bahdanau) or local-p (Luong)
  std::shared_ptr<nn::GRUCell> decoder_;  // input [embedding; context]
  std::shared_ptr<nn::Linear> deep_output_, output_;
};

// Vaswani et al. 2017 encoder-decoder; decoding caches keys and values per layer. Embeddings start N(0, d^-1/2) and are scaled by sqrt(d),
// so they enter at unit scale, comparable with the sinusoidal positions (an N(0, 1) start times
// sqrt(d) drowned the positions in PyTorch reference runs and stalled training).
class TransformerSeq2Seq : public Seq2Seq {
 public:
  explicit TransformerSeq2Seq(const ModelConfig& c);
  Tensor forward(const data::Batch& batch) override;
  std::unique_ptr<DecoderState> start(const data::Batch& batch) override;
  Tensor step(DecoderState& state, const std::vector<int64_t>& previous) override;
  // Every cross-attention head of every decoder layer ("layer1.head0") and each layer's head
  // average ("layer1.mean").
  std::vector<std::pair<std::string, Tensor>> source_attention(const data::Batch& batch) override;
  int64_t longest_sequence() const override { return config_.longest_sequence(); }
  // linear_cross_entropy over the decoder's output: the same value as cross_entropy(forward()).
  Tensor loss(const data::Batch& batch, double label_smoothing) override;
  Tensor guided_loss(const data::Batch& batch, double label_smoothing, double weight) override;

 private:
  nn::DecoderOutput decode_reference(const data::Batch& batch);  // teacher forcing: (B, T, D) and the cross-attention
  Tensor output_loss(const Tensor& hidden, const data::Batch& batch, double label_smoothing);
  Tensor logits(const Tensor& hidden);              // (..., D) -> (..., V)
  // Embeddings (rows, cols, D) scaled by sqrt(d), plus absolute positions from `offset` on when the
  // configuration adds them (sinusoidal, both, learned), then dropout.
  Tensor embed(bool source, const std::vector<int64_t>& ids, int64_t rows, int64_t cols, int64_t offset = 0);
  ModelConfig config_;
  std::shared_ptr<nn::Embedding> src_embedding_, tgt_embedding_;
  std::shared_ptr<nn::PositionalEncoding> positions_;                // sinusoidal, both
  std::shared_ptr<nn::Embedding> src_positions_, tgt_positions_;     // learned
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::TransformerEncoder> encoder_;
  std::shared_ptr<nn::TransformerDecoder> decoder_;
  std::shared_ptr<nn::Linear> output_;  // null when tied: then the target embedding and output_bias_
  Tensor output_bias_;
};

// A decoder-only (GPT-style) transformer: the source, <bos> as the separator and the target read
// as one sequence under a causal mask, the loss on the target part only. Sources are padded on
// the left, so every row's separator sits in the same column and the target positions line up
// for the fused loss and for incremental decoding; the padding is masked as keys. Its positions
// are therefore relative ones (alibi, rotary, t5) or none (nope): absolute positions would shift
// with each row's padding. The two languages keep their own embedding tables.
class DecoderOnlySeq2Seq : public Seq2Seq {
 public:
  explicit DecoderOnlySeq2Seq(const ModelConfig& c);
  Tensor forward(const data::Batch& batch) override;
  Tensor loss(const data::Batch& batch, double label_smoothing) override;  // linear_cross_entropy
  Tensor guided_loss(const data::Batch& batch, double label_smoothing, double weight) override;
  std::unique_ptr<DecoderState> start(const data::Batch& batch) override;
  Tensor step(DecoderState& state, const std::vector<int64_t>& previous) override;
  // The last layer's heads ("layer{L-1}.head0"...) and their mean, target queries over the source
  // keys, (B, T, S) each with source token j in column j.
  std::vector<std::pair<std::string, Tensor>> source_attention(const data::Batch& batch) override;

 private:
  // The left-padded source embedded (B, S, D) and its padding mask (B, S).
  std::pair<Tensor, Tensor> embed_source(const data::Batch& batch);
  Tensor embed_target(const std::vector<int64_t>& ids, int64_t rows, int64_t cols);  // (rows, cols, D)
  // The stack over [source; <bos> + target]; the target rows (B, T, D). last_weights: as
  // CausalTransformer::step.
  Tensor target_hidden(const data::Batch& batch, Tensor* last_weights = nullptr);
  Tensor logits(const Tensor& hidden);  // (..., D) -> (..., V)
  Tensor output_loss(const Tensor& hidden, const data::Batch& batch, double label_smoothing);
  ModelConfig config_;
  std::shared_ptr<nn::Embedding> src_embedding_, tgt_embedding_;
  std::shared_ptr<nn::Dropout> dropout_;
  std::shared_ptr<nn::CausalTransformer> stack_;
  std::shared_ptr<nn::Linear> output_;  // null when tied: then the target embedding and output_bias_
  Tensor output_bias_;
};

}  // namespace xg::translation

#pragma once
// Model and training settings: one struct per concern, defaults chosen per model so each trains
// well in minutes on 2 cores; every field can be overridden from the command line.
#include <cstdint>
#include <string>

#include <vector>

namespace xg::translation {

// The names the command line and config.json accept, in one place each: models (with the
// attention-family variants), attention kinds, position encodings.
const std::vector<std::string>& model_names();
const std::vector<std::string>& attention_kind_names();
const std::vector<std::string>& position_names();

struct ModelConfig {
  std::string model = "transformer";  // rnn | bahdanau | transformer | decoder-only
  int64_t src_vocab = 0, tgt_vocab = 0;
  int64_t embedding = 128;
  // rnn: encoder and decoder GRU size. bahdanau: decoder GRU size (encoder: hidden/2 per direction).
  int64_t hidden = 256;
  int64_t attention = 256;  // bahdanau: additive attention size
  int64_t d_model = 128, heads = 4, encoder_layers = 2, decoder_layers = 2, ff = 512;  // decoder-only: decoder_layers
  bool pre_ln = true;       // transformer: pre-LN (true) or the paper's post-LN
  double dropout = 0.1;
  int64_t max_positions = 512;
  // Which attention: "standard"; "local" (bahdanau: Luong local-p in place of additive attention);
  // "window", "linear" (transformer self-attention kernels); "gqa" (transformer: kv_heads
  // key/value heads shared by groups of query heads; 1 is multi-query).
  std::string attention_kind = "standard";
  // transformer: "sinusoidal" (added to the embeddings), "rotary" (inside self-attention only),
  // "both" (cross-attention then still sees absolute positions), "learned" (a trained table per
  // side, added), "alibi" or "t5" (a relative bias in every self-attention, nothing added), or
  // "nope" (no positions in the decoder; the encoder uses ALiBi). decoder-only: alibi (its default),
  // rotary, t5 or nope (no positions at all).
  std::string positions = "sinusoidal";
  int64_t kv_heads = 0;                  // gqa: key/value heads (0: heads / 2)
  int64_t window = 8;                    // local: D; window: band half-width
  int64_t global_tokens = 0;             // window: leading positions attended by and attending to all
  // How text becomes tokens: "word" (whitespace; the toy task) or "spm" (SentencePiece subwords,
  // learnt by train; the models are spm.model, or src.spm.model and tgt.spm.model when not shared).
  std::string tokenizer = "word";
  bool shared_subwords = true;           // spm: one model (and vocabulary) for both sides
  // transformer (Press & Wolf 2017): "none"; "decoder" (the output projection is the target
  // embedding); "all" (the source embedding too: needs one shared vocabulary, --tokenizer spm).
  std::string tie_embeddings = "none";

  // Defaults for `model`, vocab sizes left as given. `model` may name a variant of the attention
  // family: bahdanau-local, transformer-window, transformer-linear, transformer-gqa,
  // transformer-mqa, transformer-rotary, transformer-rotary+sinusoidal, transformer-learned,
  // transformer-alibi, transformer-t5, transformer-nope.
  static ModelConfig defaults(const std::string& model);
  // The longest source, and the longest <bos> + target, the model can read: a transformer's
  // max_positions; the recurrent models have no such limit.
  int64_t longest_sequence() const;
  // transformer or decoder-only: the models with a warm-up schedule and transformer sizes.
  bool is_transformer() const;
  // Rejects combinations a model cannot build (e.g. rotary positions in an RNN), naming both.
  void validate() const;
  std::string to_json() const;
  // Every field must be present with the right type; errors name the file and the field.
  static ModelConfig from_json(const std::string& text, const std::string& source);
};

struct TrainConfig {
  double lr = 1e-3;        // Adam's rate (rnn, bahdanau) or the schedule's peak (transformer)
  int64_t warmup = 400;    // transformer: warm-up steps of the inverse-square-root schedule
  double clip = 1.0;
  double label_smoothing = 0.0;
  int64_t max_tokens = 2400, max_batch = 64;
  int64_t steps = 0;          // 0: until the time budget
  double time_budget = 300;   // seconds; 0: until `steps`
  int64_t valid_every = 250;  // steps between validations
  int64_t log_every = 50;     // steps between log.csv rows (validations add their own)
  int64_t valid_sentences = 300;
  int64_t save_every = 500;   // steps between full training-state saves
  uint64_t seed = 1;
  int threads = 0;            // 0: leave OpenMP's default
  // Exponential moving average of the weights (Marian's --exponential-smoothing): after every
  // step ema = decay * ema + (1 - decay) * weights; validation and model.safetensors use it.
  double ema_decay = 0;       // 0: off
  int64_t keep_last = 0;      // also keep the last N saves' weights as checkpoint.STEP.safetensors (average)
  int64_t patience = 0;       // stop after N validations without a better BLEU (0: never)
  // Reduce on plateau: after plateau_patience validations without a better BLEU, the learning
  // rate is multiplied by plateau_factor (0: off).
  double plateau_factor = 0;
  int64_t plateau_patience = 2;
  // Guided alignment (Marian's --guided-alignment-weight): the weight of the cost pulling the
  // model's alignment attention toward the training pairs' gold word alignment (0: off).
  double guided_alignment = 0;
  // SentencePiece (model tokenizer "spm"): pieces per model and the algorithm.
  int64_t spm_vocab_size = 8000;
  std::string spm_model_type = "unigram";  // unigram | bpe

  // Rejects what would hang, wrap or train on nonsense (NaN rates and budgets, a budget that never
  // ends, batch limits whose products overflow), naming the option.
  void validate() const;
};

}  // namespace xg::translation

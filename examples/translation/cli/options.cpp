#include "options.hpp"

#include <cmath>
#include <fmt/format.h>

#include <xgrad/distributed/distributed.hpp>

namespace xg::translation::cli {

namespace {
CLI::Validator finite_number(bool positive) {
  return CLI::Validator(
      [positive](std::string& text) -> std::string {
        double v = 0;
        std::size_t used = 0;
        try {
          v = std::stod(text, &used);
        } catch (const std::exception&) {
          return fmt::format("'{}' is not a number", text);
        }
        if (used != text.size()) return fmt::format("'{}' is not a number", text);
        if (!std::isfinite(v)) return fmt::format("must be a finite number, got {}", text);
        if (positive ? v <= 0 : v < 0) return fmt::format("must be {}, got {}", positive ? "positive" : "non-negative", text);
        return "";
      },
      positive ? "POSITIVE" : "NONNEGATIVE");
}

// Calls f(config.json name, command-line option, help, the option's value, the config's field)
// for every model field: the one list behind add_model_options, apply and fields_set.
template <class Options, class Config, class F>
void for_each_model_field(Options& o, Config& c, F&& f) {
  f("embedding", "--embedding", "embedding size (rnn, bahdanau)", o.embedding, c.embedding);
  f("hidden", "--hidden", "GRU size (rnn; bahdanau decoder, encoder hidden/2 per direction)", o.hidden, c.hidden);
  f("attention", "--attention-size", "additive attention size (bahdanau); local-p: its predictor size", o.attention,
    c.attention);
  f("attention_kind", "--attention", "standard; local (bahdanau: Luong local-p); window, linear, gqa (transformer)",
    o.attention_kind, c.attention_kind);
  f("positions", "--positions", "transformer positions: sinusoidal (added), rotary (in self-attention), both, learned (added), "
    "alibi or t5 (relative biases in self-attention), nope (none in the decoder, ALiBi in the encoder)",
    o.positions, c.positions);
  f("kv_heads", "--kv-heads", "gqa: key/value heads (default heads/2; 1 = multi-query)", o.kv_heads, c.kv_heads);
  f("window", "--window", "local: window D; window: band half-width", o.window, c.window);
  f("global_tokens", "--global-tokens", "window: leading positions that attend to and are attended by all",
    o.global_tokens, c.global_tokens);
  f("d_model", "--d-model", "transformer width", o.d_model, c.d_model);
  f("heads", "--heads", "attention heads", o.heads, c.heads);
  f("encoder_layers", "--encoder-layers", "transformer encoder layers", o.encoder_layers, c.encoder_layers);
  f("decoder_layers", "--decoder-layers", "transformer decoder layers", o.decoder_layers, c.decoder_layers);
  f("ff", "--ff", "transformer feed-forward size", o.ff, c.ff);
  f("dropout", "--dropout", "dropout", o.dropout, c.dropout);
  f("pre_ln", "--pre-ln", "transformer: pre-LN (1) or post-LN (0)", o.pre_ln, c.pre_ln);
  f("tokenizer", "--tokenizer", "word (whitespace; the toy task) or spm (SentencePiece subwords learnt from the training "
    "corpus: real text)", o.tokenizer, c.tokenizer);
  f("shared_subwords", "--shared-subwords", "spm: one model and vocabulary for both languages (1) or one per side (0)",
    o.shared_subwords, c.shared_subwords);
  f("tie_embeddings", "--tie-embeddings", "transformer: none, decoder (output projection = target embedding) or all "
    "(the source embedding too; --tokenizer spm with shared subwords)", o.tie_embeddings, c.tie_embeddings);
}
}  // namespace

const CLI::Validator kFinitePositive = finite_number(true), kFiniteNonNegative = finite_number(false);

void add_train_options(CLI::App* cmd, TrainConfig& tc, data::ToyConfig& toy) {
  cmd->add_option("--seed", tc.seed, "random seed (model, data order, dropout; the toy corpus too)");
  cmd->add_option("--threads", tc.threads, "threads (OpenMP; 0: its default); OpenBLAS itself runs single-threaded")->check(CLI::Range(0, 256));
  cmd->add_option("--lr", tc.lr, "Adam learning rate (transformer: the schedule's peak)")->check(kFinitePositive);
  cmd->add_option("--warmup", tc.warmup, "transformer warm-up steps")->check(CLI::PositiveNumber);
  cmd->add_option("--clip", tc.clip, "gradient norm clipping")->check(kFinitePositive);
  cmd->add_option("--label-smoothing", tc.label_smoothing, "label smoothing")->check(CLI::Range(0.0, 0.99));
  cmd->add_option("--guided-alignment-weight", tc.guided_alignment, "guided alignment: weight of the cost pulling the "
                  "attention (bahdanau; transformer: last layer, head 0) toward the gold word alignment (0: off; Marian "
                  "uses 0.1)")->check(kFiniteNonNegative);
  cmd->add_option("--max-tokens", tc.max_tokens, "tokens per batch (B x longest)")->check(CLI::PositiveNumber);
  cmd->add_option("--max-batch", tc.max_batch, "sentences per batch")->check(CLI::PositiveNumber);
  cmd->add_option("--valid-every", tc.valid_every, "steps between validations")->check(CLI::PositiveNumber);
  cmd->add_option("--log-every", tc.log_every, "steps between log.csv rows")->check(CLI::PositiveNumber);
  cmd->add_option("--valid-sentences", tc.valid_sentences, "validation sentences decoded for BLEU")->check(CLI::PositiveNumber);
  cmd->add_option("--save-every", tc.save_every, "steps between full training-state saves")->check(CLI::PositiveNumber);
  cmd->add_option("--ema", tc.ema_decay, "exponential moving average of the weights with this decay (e.g. 0.999), "
                  "used for validation and model.safetensors (0: off)")->check(kFiniteNonNegative);
  cmd->add_option("--keep-last", tc.keep_last, "keep the weights of the last N saves as checkpoint.STEP.safetensors "
                  "(for `average`)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--patience", tc.patience, "stop after N validations without a better BLEU (0: never)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--plateau-factor", tc.plateau_factor, "multiply the learning rate by this after --plateau-patience "
                  "validations without a better BLEU (0: off)")->check(kFiniteNonNegative);
  cmd->add_option("--plateau-patience", tc.plateau_patience, "validations without improvement before the rate drops")->check(CLI::PositiveNumber);
  cmd->add_option("--vocab-size", tc.spm_vocab_size, "--tokenizer spm: pieces per SentencePiece model, including 256 "
                  "byte pieces")->check(CLI::Range(int64_t{260}, int64_t{1} << 20));
  cmd->add_option("--spm-model-type", tc.spm_model_type, "--tokenizer spm: unigram or bpe")
      ->check(CLI::IsMember({"unigram", "bpe"}));
  cmd->add_option("--train-size", toy.train_size, "built-in toy corpus: training pairs")->check(CLI::PositiveNumber);
  cmd->add_option("--order", toy.order, "built-in toy corpus: target word order, svo (near word for word) or sov "
                  "(verb-final clauses, postpositions, plural markers: attention must reorder)")->check(CLI::IsMember({"svo", "sov"}));
  cmd->add_option("--min-len", toy.min_len, "built-in toy corpus: shortest source")->check(CLI::PositiveNumber);
  cmd->add_option("--max-len", toy.max_len, "built-in toy corpus: longest source; a --train/--valid file: pairs with "
                  "more tokens on a side are left out (counted)")->check(CLI::PositiveNumber);
  cmd->add_option("--train-max-len", toy.train_max_len, "train short, test long: training and validation keep sources "
                  "of at most N tokens (the built-in corpus and --train/--valid files; the test set keeps all)")
      ->check(CLI::NonNegativeNumber);
}

void add_model_options(CLI::App* cmd, ModelOptions& options) {
  ModelConfig unused;
  for_each_model_field(options, unused, [cmd](const char* field, const char* option, const char* help, auto& value, auto&) {
    using T = typename std::decay_t<decltype(value)>::value_type;
    CLI::Option* o = cmd->add_option_function<T>(option, [&value](const T& v) { value = v; }, help);
    if (std::string(field) == "attention_kind") o->check(CLI::IsMember(attention_kind_names()));
    if (std::string(field) == "positions") o->check(CLI::IsMember(position_names()));
    if (std::string(field) == "tokenizer") o->check(CLI::IsMember({"word", "spm"}));
    if (std::string(field) == "tie_embeddings") o->check(CLI::IsMember({"none", "decoder", "all"}));
  });
}

ModelConfig ModelOptions::apply(const std::string& model) const {
  ModelConfig c = ModelConfig::defaults(model);
  for_each_model_field(*this, c, [](const char*, const char*, const char*, const auto& value, auto& field) {
    if (value) field = *value;
  });
  c.validate();
  return c;
}

std::vector<std::string> ModelOptions::fields_set() const {
  std::vector<std::string> names;
  ModelConfig unused;
  for_each_model_field(*this, unused, [&](const char* field, const char*, const char*, const auto& value, auto&) {
    if (value) names.emplace_back(field);
  });
  return names;
}

void add_search_options(CLI::App* cmd, SearchOptions& search) {
  cmd->add_option("--beam", search.beam, "beam size (1: greedy)")->check(CLI::Range(1, 1000));
  cmd->add_option("--lenpen", search.length_penalty, "beam search ranks by log-probability / length^ALPHA, the length "
                  "counting <eos> (0: no normalisation)")->check(kFiniteNonNegative);
  cmd->add_option("--max-input-tokens", search.max_source_tokens, "longer sources are not translated (an empty "
                  "output and a warning)")->check(CLI::PositiveNumber);
}

void print_world(int threads) {
  fmt::print("world: {} rank{} x {} thread{} each{}\n", distributed::world_size(), distributed::world_size() == 1 ? "" : "s",
             threads > 0 ? std::to_string(threads) : "default", threads == 1 ? "" : "s",
             distributed::compiled_with_mpi() ? "" : " (built without MPI)");
}

}  // namespace xg::translation::cli

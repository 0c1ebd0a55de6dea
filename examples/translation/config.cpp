#include "config.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <fmt/format.h>
#include <utility>
#include <nlohmann/json.hpp>

#include <xgrad/core/errors.hpp>

namespace xg::translation {

const std::vector<std::string>& model_names() {
  static const std::vector<std::string> names = {
      "rnn", "bahdanau", "transformer", "bahdanau-local", "transformer-window", "transformer-linear", "transformer-gqa",
      "transformer-mqa", "transformer-rotary", "transformer-rotary+sinusoidal", "transformer-learned",
      "transformer-alibi", "transformer-t5", "transformer-nope", "decoder-only", "decoder-only-rotary",
      "decoder-only-t5", "decoder-only-nope"};
  return names;
}
const std::vector<std::string>& attention_kind_names() {
  static const std::vector<std::string> names = {"standard", "local", "window", "linear", "gqa"};
  return names;
}
const std::vector<std::string>& position_names() {
  static const std::vector<std::string> names = {"sinusoidal", "rotary", "both", "learned", "alibi", "t5", "nope"};
  return names;
}

namespace {
// "transformer-window" -> {"transformer", "window"}; a plain model name has no variant.
std::pair<std::string, std::string> split_variant(const std::string& name) {
  if (name.rfind("decoder-only", 0) == 0) return {"decoder-only", name.size() > 13 ? name.substr(13) : ""};
  const auto dash = name.find('-');
  if (dash == std::string::npos) return {name, ""};
  return {name.substr(0, dash), name.substr(dash + 1)};
}
}  // namespace

ModelConfig ModelConfig::defaults(const std::string& name) {
  const auto [model, variant] = split_variant(name);
  ModelConfig c;
  c.model = model;
  if (!variant.empty()) {
    if (model == "bahdanau" && variant == "local") c.attention_kind = "local";
    else if (model == "transformer" && (variant == "window" || variant == "linear" || variant == "gqa")) c.attention_kind = variant;
    else if (model == "transformer" && variant == "mqa") c.attention_kind = "gqa", c.kv_heads = 1;
    else if (model == "transformer" && variant == "rotary") c.positions = "rotary";
    else if (model == "transformer" && variant == "rotary+sinusoidal") c.positions = "both";
    else if (model == "transformer" && (variant == "learned" || variant == "alibi" || variant == "t5" || variant == "nope"))
      c.positions = variant;
    else if (model == "decoder-only" && (variant == "rotary" || variant == "t5" || variant == "nope")) c.positions = variant;
    else throw Error(fmt::format("unknown model variant '{}' (bahdanau-local, transformer-window, transformer-linear, "
                                 "transformer-gqa, transformer-mqa, transformer-rotary, transformer-rotary+sinusoidal, "
                                 "transformer-learned, transformer-alibi, transformer-t5, transformer-nope, decoder-only-rotary, "
                                 "decoder-only-t5, decoder-only-nope)", name));
  }
  if (model == "rnn") {
    c.embedding = 128, c.hidden = 256, c.dropout = 0.0;
  } else if (model == "bahdanau") {
    c.embedding = 128, c.hidden = 256, c.attention = 256, c.dropout = 0.0;
  } else if (model == "transformer") {
    c.d_model = 128, c.heads = 4, c.encoder_layers = 2, c.decoder_layers = 2, c.ff = 512, c.dropout = 0.1;
  } else if (model == "decoder-only") {
    // Four self-attention layers: 0.79M parameters in the stack against the encoder-decoder's 0.92M.
    c.d_model = 128, c.heads = 4, c.decoder_layers = 4, c.ff = 512, c.dropout = 0.1;
    if (variant.empty()) c.positions = "alibi";
  } else {
    throw Error(fmt::format("unknown model '{}' (rnn, bahdanau, transformer or decoder-only)", model));
  }
  return c;
}

bool ModelConfig::is_transformer() const { return model == "transformer" || model == "decoder-only"; }

void ModelConfig::validate() const {
  const bool transformer = is_transformer();
  // Every field, whether or not this model reads it: a checkpoint written with a value its own
  // reader rejects could never be evaluated or resumed. The bounds are far past any model that
  // fits in memory; inside them a too-large model fails at allocation with its shape named.
  constexpr int64_t kMaxWidth = int64_t{1} << 20, kMaxLayers = 256, kMaxVocab = int64_t{1} << 24;
  const auto in_range = [](const char* name, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) throw Error(fmt::format("{} must be in [{}, {}], got {}", name, lo, hi, v));
  };
  in_range("src_vocab", src_vocab, 0, kMaxVocab);
  in_range("tgt_vocab", tgt_vocab, 0, kMaxVocab);
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"embedding", embedding}, {"hidden", hidden},
                                    {"attention", attention}, {"d_model", d_model}, {"heads", heads}, {"ff", ff},
                                    {"max_positions", max_positions}})
    in_range(name, value, 1, kMaxWidth);
  in_range("encoder_layers", encoder_layers, 1, kMaxLayers);
  in_range("decoder_layers", decoder_layers, 1, kMaxLayers);
  in_range("kv_heads", kv_heads, 0, heads);
  in_range("window", window, 0, kMaxWidth);
  in_range("global_tokens", global_tokens, 0, kMaxWidth);
  if (!(dropout >= 0 && dropout < 1)) throw Error(fmt::format("dropout must be in [0, 1), got {}", dropout));
  if (tokenizer != "word" && tokenizer != "spm")
    throw Error(fmt::format("tokenizer must be word or spm, got '{}'", tokenizer));
  if (tie_embeddings != "none" && tie_embeddings != "decoder" && tie_embeddings != "all")
    throw Error(fmt::format("tie_embeddings must be none, decoder or all, got '{}'", tie_embeddings));
  if (tie_embeddings != "none" && !transformer)
    throw Error(fmt::format("tie_embeddings {} applies to the transformer, not the {} model", tie_embeddings, model));
  if (tie_embeddings == "all" && !(tokenizer == "spm" && shared_subwords))
    throw Error("tie_embeddings all needs one vocabulary for both languages: --tokenizer spm with shared subwords");
  if (transformer && d_model % heads != 0)
    throw Error(fmt::format("transformer: d_model {} is not a multiple of heads {}", d_model, heads));
  const bool rotary = positions == "rotary" || positions == "both";
  if (transformer && rotary && (d_model / heads) % 2 != 0)
    throw Error(fmt::format("rotary positions need an even head width, got d_model {} / heads {} = {}", d_model, heads, d_model / heads));
  if (model == "bahdanau" && hidden % 2 != 0)
    throw Error(fmt::format("bahdanau: hidden {} must be even (two encoder directions)", hidden));
  if (attention_kind == "local" ? model != "bahdanau"
      : attention_kind == "window" || attention_kind == "linear" ? model != "transformer"
      : attention_kind == "gqa" ? !transformer
      : attention_kind != "standard")
    throw Error(fmt::format("attention '{}' does not apply to the {} model (local: bahdanau; window, linear: transformer; "
                            "gqa: transformer, decoder-only)", attention_kind, model));
  if (std::find(position_names().begin(), position_names().end(), positions) == position_names().end())
    throw Error(fmt::format("unknown positions '{}' (sinusoidal, rotary, both, learned, alibi, t5, nope)", positions));
  if (positions != "sinusoidal" && !transformer)
    throw Error(fmt::format("positions '{}' do not apply to the {} model (transformer only)", positions, model));
  if (model == "decoder-only" && positions != "alibi" && positions != "rotary" && positions != "t5" && positions != "nope")
    throw Error(fmt::format("decoder-only: positions '{}' are absolute, and its left-padded sources shift them per row "
                            "(alibi, rotary, t5 or nope)", positions));
  const bool bias = positions == "alibi" || positions == "t5" || positions == "nope";
  if (bias && (attention_kind == "window" || attention_kind == "linear"))
    throw Error(fmt::format("positions '{}' add a bias to the attention scores, which '{}' attention does not form",
                            positions, attention_kind));
  if (attention_kind == "gqa" && (heads % (kv_heads ? kv_heads : std::max<int64_t>(1, heads / 2)) != 0))
    throw Error(fmt::format("gqa: {} key/value heads do not divide {} heads", kv_heads, heads));
  if ((attention_kind == "local" || attention_kind == "window") && window < 1)
    throw Error(fmt::format("attention '{}' needs a window of at least 1, got {}", attention_kind, window));
}

int64_t ModelConfig::longest_sequence() const {
  return model == "transformer" ? max_positions : std::numeric_limits<int64_t>::max();
}

void TrainConfig::validate() const {
  const auto finite = [](const char* option, double v, double lo, double hi) {
    if (!std::isfinite(v) || v < lo || v > hi)
      throw Error(fmt::format("{} must be a finite number in [{:g}, {:g}], got {}", option, lo, hi, v));
  };
  const auto integer = [](const char* option, int64_t v, int64_t lo, int64_t hi) {
    if (v < lo || v > hi) throw Error(fmt::format("{} must be in [{}, {}], got {}", option, lo, hi, v));
  };
  constexpr double kHuge = std::numeric_limits<double>::max();
  finite("--lr", lr, 0, kHuge);  // huge rates stay allowed: the divergence tests use 1e38
  if (lr <= 0) throw Error(fmt::format("--lr must be positive, got {}", lr));
  finite("--clip", clip, 0, kHuge);
  if (clip <= 0) throw Error(fmt::format("--clip must be positive, got {}", clip));
  finite("--label-smoothing", label_smoothing, 0, 0.99);
  // A year of seconds and a trillion steps: beyond them a value is a typo, not a plan.
  finite("--time-budget", time_budget, 0, 365.0 * 86400);
  integer("--steps", steps, 0, int64_t{1} << 40);
  if (steps == 0 && time_budget == 0) throw Error("give --steps or --time-budget (both are 0)");
  integer("--warmup", warmup, 1, int64_t{1} << 40);
  integer("--max-tokens", max_tokens, 1, int64_t{1} << 32);
  integer("--max-batch", max_batch, 1, int64_t{1} << 24);
  for (const auto& [option, v] : {std::pair<const char*, int64_t>{"--valid-every", valid_every}, {"--log-every", log_every},
                                  {"--valid-sentences", valid_sentences}, {"--save-every", save_every}})
    integer(option, v, 1, int64_t{1} << 40);
  integer("--threads", threads, 0, 256);
  finite("--ema", ema_decay, 0, 0.999999);
  finite("--guided-alignment-weight", guided_alignment, 0, 1e6);
  integer("--keep-last", keep_last, 0, 1000);
  integer("--patience", patience, 0, int64_t{1} << 40);
  finite("--plateau-factor", plateau_factor, 0, 0.999999);
  integer("--plateau-patience", plateau_patience, 1, int64_t{1} << 40);
  integer("--vocab-size", spm_vocab_size, 260, int64_t{1} << 20);  // 256 byte pieces + <unk> + a few
  if (spm_model_type != "unigram" && spm_model_type != "bpe")
    throw Error(fmt::format("--spm-model-type must be unigram or bpe, got '{}'", spm_model_type));
}

std::string ModelConfig::to_json() const {
  nlohmann::json j = {{"model", model},       {"src_vocab", src_vocab}, {"tgt_vocab", tgt_vocab},
                      {"embedding", embedding}, {"hidden", hidden},     {"attention", attention},
                      {"d_model", d_model},     {"heads", heads},       {"encoder_layers", encoder_layers},
                      {"decoder_layers", decoder_layers}, {"ff", ff},   {"pre_ln", pre_ln},
                      {"dropout", dropout},     {"max_positions", max_positions},
                      {"attention_kind", attention_kind}, {"positions", positions}, {"kv_heads", kv_heads},
                      {"window", window},       {"global_tokens", global_tokens},
                      {"tokenizer", tokenizer}, {"shared_subwords", shared_subwords},
                      {"tie_embeddings", tie_embeddings}};
  return j.dump(2) + "\n";
}

ModelConfig ModelConfig::from_json(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    throw FormatError(fmt::format("{}: not valid JSON: {}", source, e.what()));
  }
  if (!j.is_object()) throw FormatError(fmt::format("{}: expected a JSON object", source));
  auto need = [&](const char* key) -> const nlohmann::json& {
    if (!j.contains(key)) throw FormatError(fmt::format("{}: missing field '{}'", source, key));
    return j.at(key);
  };
  auto integer = [&](const char* key, int64_t& out) {
    const auto& v = need(key);
    if (!v.is_number_integer() || v.get<int64_t>() < 0)
      throw FormatError(fmt::format("{}: field '{}' must be a non-negative integer, got {}", source, key, v.dump()));
    out = v.get<int64_t>();
  };
  ModelConfig c;
  const auto& m = need("model");
  if (!m.is_string()) throw FormatError(fmt::format("{}: field 'model' must be a string, got {}", source, m.dump()));
  c = defaults(m.get<std::string>());
  integer("src_vocab", c.src_vocab);
  integer("tgt_vocab", c.tgt_vocab);
  integer("embedding", c.embedding);
  integer("hidden", c.hidden);
  integer("attention", c.attention);
  integer("d_model", c.d_model);
  integer("heads", c.heads);
  integer("encoder_layers", c.encoder_layers);
  integer("decoder_layers", c.decoder_layers);
  integer("ff", c.ff);
  integer("max_positions", c.max_positions);
  const auto& pre = need("pre_ln");
  if (!pre.is_boolean()) throw FormatError(fmt::format("{}: field 'pre_ln' must be true or false, got {}", source, pre.dump()));
  c.pre_ln = pre.get<bool>();
  const auto& d = need("dropout");
  if (!d.is_number() || d.get<double>() < 0 || d.get<double>() >= 1)
    throw FormatError(fmt::format("{}: field 'dropout' must be a number in [0, 1), got {}", source, d.dump()));
  c.dropout = d.get<double>();
  // The attention-family fields came later: a config without them is a standard-attention model.
  auto text_field = [&](const char* key, std::string& out) {
    if (!j.contains(key)) return;
    if (!j.at(key).is_string()) throw FormatError(fmt::format("{}: field '{}' must be a string, got {}", source, key, j.at(key).dump()));
    out = j.at(key).get<std::string>();
  };
  text_field("attention_kind", c.attention_kind);
  text_field("positions", c.positions);
  text_field("tokenizer", c.tokenizer);  // later still: without it, words
  text_field("tie_embeddings", c.tie_embeddings);
  if (j.contains("shared_subwords")) {
    if (!j.at("shared_subwords").is_boolean())
      throw FormatError(fmt::format("{}: field 'shared_subwords' must be true or false, got {}", source, j.at("shared_subwords").dump()));
    c.shared_subwords = j.at("shared_subwords").get<bool>();
  }
  for (const char* key : {"kv_heads", "window", "global_tokens"})
    if (j.contains(key)) integer(key, key == std::string("kv_heads") ? c.kv_heads : key == std::string("window") ? c.window : c.global_tokens);
  try {
    c.validate();
  } catch (const Error& e) {
    throw FormatError(fmt::format("{}: {}", source, e.what()));
  }
  return c;
}

}  // namespace xg::translation

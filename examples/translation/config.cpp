#include "config.hpp"

#include <algorithm>
#include <fmt/format.h>
#include <utility>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"

namespace xg::translation {

namespace {
// "transformer-window" -> {"transformer", "window"}; a plain model name has no variant.
std::pair<std::string, std::string> split_variant(const std::string& name) {
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
    else throw Error(fmt::format("unknown model variant '{}' (bahdanau-local, transformer-window, transformer-linear, "
                                 "transformer-gqa, transformer-mqa, transformer-rotary, transformer-rotary+sinusoidal)", name));
  }
  if (model == "rnn") {
    c.embedding = 128, c.hidden = 256, c.dropout = 0.0;
  } else if (model == "bahdanau") {
    c.embedding = 128, c.hidden = 256, c.attention = 256, c.dropout = 0.0;
  } else if (model == "transformer") {
    c.d_model = 128, c.heads = 4, c.encoder_layers = 2, c.decoder_layers = 2, c.ff = 512, c.dropout = 0.1;
  } else {
    throw Error(fmt::format("unknown model '{}' (rnn, bahdanau or transformer)", model));
  }
  return c;
}

void ModelConfig::validate() const {
  const bool transformer = model == "transformer";
  if (attention_kind == "local" ? model != "bahdanau"
      : attention_kind == "window" || attention_kind == "linear" || attention_kind == "gqa" ? !transformer
      : attention_kind != "standard")
    throw Error(fmt::format("attention '{}' does not apply to the {} model (local: bahdanau; window, linear, gqa: transformer)",
                            attention_kind, model));
  if (positions != "sinusoidal" && ((positions != "rotary" && positions != "both") || !transformer))
    throw Error(fmt::format("positions '{}' do not apply to the {} model (rotary, both: transformer)", positions, model));
  if (attention_kind == "gqa" && (heads % (kv_heads ? kv_heads : std::max<int64_t>(1, heads / 2)) != 0))
    throw Error(fmt::format("gqa: {} key/value heads do not divide {} heads", kv_heads, heads));
  if ((attention_kind == "local" || attention_kind == "window") && window < 1)
    throw Error(fmt::format("attention '{}' needs a window of at least 1, got {}", attention_kind, window));
}

std::string ModelConfig::to_json() const {
  nlohmann::json j = {{"model", model},       {"src_vocab", src_vocab}, {"tgt_vocab", tgt_vocab},
                      {"embedding", embedding}, {"hidden", hidden},     {"attention", attention},
                      {"d_model", d_model},     {"heads", heads},       {"encoder_layers", encoder_layers},
                      {"decoder_layers", decoder_layers}, {"ff", ff},   {"pre_ln", pre_ln},
                      {"dropout", dropout},     {"max_positions", max_positions},
                      {"attention_kind", attention_kind}, {"positions", positions}, {"kv_heads", kv_heads},
                      {"window", window},       {"global_tokens", global_tokens}};
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

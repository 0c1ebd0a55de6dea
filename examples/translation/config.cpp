#include "config.hpp"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/errors.hpp"

namespace xg::translation {

ModelConfig ModelConfig::defaults(const std::string& model) {
  ModelConfig c;
  c.model = model;
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

std::string ModelConfig::to_json() const {
  nlohmann::json j = {{"model", model},       {"src_vocab", src_vocab}, {"tgt_vocab", tgt_vocab},
                      {"embedding", embedding}, {"hidden", hidden},     {"attention", attention},
                      {"d_model", d_model},     {"heads", heads},       {"encoder_layers", encoder_layers},
                      {"decoder_layers", decoder_layers}, {"ff", ff},   {"pre_ln", pre_ln},
                      {"dropout", dropout},     {"max_positions", max_positions}};
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
  return c;
}

}  // namespace xg::translation
